// Migration of one workspace between regions as a small pure state machine
// (DESIGN.md "Migrate"). The caller persists `Migration`, feeds each input it
// observes, performs the returned actions in one transaction together with
// the new state, and commits. Each step is idempotent: repeating an input that
// was already applied returns no actions.
//
//   start ──► kAwaitRunning ──(to_region reports running, gen >= generation)──► kFlipDns
//   kFlipDns ──(DnsFlipped)──► kAwaitDeleted ──(from_region reports deleted)──► kDone
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.hpp"

namespace fc::scheduler {

// What an agent reports for one workspace (POST /v1/agent/status).
enum class AgentPhase { kProvisioning, kRunning, kFailed, kDeleted };
std::string_view agent_phase_name(AgentPhase p);  // "provisioning" | "running" | ...
std::optional<AgentPhase> parse_agent_phase(std::string_view s);

enum class MigrationStep {
  kAwaitRunning,  // `apply` is in to_region's log; waiting for `running` at `generation`
  kFlipDns,       // to_region serves it; DNS must now point at to_region
  kAwaitDeleted,  // DNS points at to_region; `delete` is in from_region's log
  kDone,
};
std::string_view migration_step_name(MigrationStep s);

struct Migration {
  std::string workspace_id;
  std::string from_region;
  std::string to_region;
  std::int64_t generation = 0;  // the generation to_region must report running
  MigrationStep step = MigrationStep::kAwaitRunning;
  std::string last_failure;  // newest `failed` message from to_region, "" if none
  friend bool operator==(const Migration&, const Migration&) = default;
};

enum class MigrationAction {
  kReserveInNew,   // reserve the workspace's resources in to_region
  kApplyInNew,     // append `apply` (generation, certificates) to to_region's log
  kFlipDns,        // publish the workspace's records with to_region's ingress
  kDeleteInOld,    // append `delete` to from_region's log
  kReleaseOld,     // free the resources in from_region
  kFinish,         // workspace: region = to_region, state `scheduled`
  kRecordFailure,  // store `last_failure` on the workspace (observed.message)
};

struct AgentReport {
  std::string region;  // the reporting agent's region
  std::int64_t generation = 0;
  AgentPhase phase = AgentPhase::kProvisioning;
  std::string message;
};
struct DnsFlipped {};  // the caller committed (and published) the DNS flip
struct GenerationBumped {
  std::int64_t generation = 0;  // spec/resources changed while migrating
};
using MigrationInput = std::variant<AgentReport, DnsFlipped, GenerationBumped>;

struct MigrationTransition {
  Migration next;
  std::vector<MigrationAction> actions;  // in the order to perform them
};

// kInvalidArgument when a region is empty or from == to, or generation < 1.
Result<MigrationTransition> start_migration(std::string workspace_id, std::string from_region,
                                            std::string to_region, std::int64_t generation);

// One input; inputs that do not apply in the current step (stale generations,
// reports from other regions, repeats) leave the state unchanged with no actions.
MigrationTransition advance_migration(const Migration& current, const MigrationInput& input);

}  // namespace fc::scheduler

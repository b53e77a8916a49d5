#include "scheduler/detail/migration.hpp"

#include <cstdlib>
#include <utility>

namespace fc::scheduler {

std::string_view agent_phase_name(AgentPhase p) {
  switch (p) {
    case AgentPhase::kProvisioning: return "provisioning";
    case AgentPhase::kRunning: return "running";
    case AgentPhase::kFailed: return "failed";
    case AgentPhase::kDeleted: return "deleted";
  }
  std::abort();  // out-of-range enum value: a bug, crash (STYLE.md)
}

std::optional<AgentPhase> parse_agent_phase(std::string_view s) {
  if (s == "provisioning") return AgentPhase::kProvisioning;
  if (s == "running") return AgentPhase::kRunning;
  if (s == "failed") return AgentPhase::kFailed;
  if (s == "deleted") return AgentPhase::kDeleted;
  return std::nullopt;
}

std::string_view migration_step_name(MigrationStep s) {
  switch (s) {
    case MigrationStep::kAwaitRunning: return "await_running";
    case MigrationStep::kFlipDns: return "flip_dns";
    case MigrationStep::kAwaitDeleted: return "await_deleted";
    case MigrationStep::kDone: return "done";
  }
  std::abort();  // out-of-range enum value: a bug, crash (STYLE.md)
}

Result<MigrationTransition> start_migration(std::string workspace_id, std::string from_region,
                                            std::string to_region, std::int64_t generation) {
  if (workspace_id.empty() || from_region.empty() || to_region.empty()) {
    return make_error(Code::kInvalidArgument, "migration needs a workspace and two regions");
  }
  if (from_region == to_region) {
    return make_error(Code::kInvalidArgument, "workspace is already in region " + to_region);
  }
  if (generation < 1) return make_error(Code::kInvalidArgument, "generation must be >= 1");
  Migration m{std::move(workspace_id),      std::move(from_region),
              std::move(to_region),         generation,
              MigrationStep::kAwaitRunning, ""};
  return MigrationTransition{std::move(m),
                             {MigrationAction::kReserveInNew, MigrationAction::kApplyInNew}};
}

namespace {

MigrationTransition on_report(const Migration& m, const AgentReport& r) {
  MigrationTransition t{m, {}};
  if (m.step == MigrationStep::kAwaitRunning && r.region == m.to_region &&
      r.generation >= m.generation) {
    if (r.phase == AgentPhase::kRunning) {
      t.next.step = MigrationStep::kFlipDns;
      t.next.last_failure.clear();
      t.actions = {MigrationAction::kFlipDns};
    } else if (r.phase == AgentPhase::kFailed && r.message != m.last_failure) {
      t.next.last_failure = r.message;
      t.actions = {MigrationAction::kRecordFailure};
    }
    return t;
  }
  if (m.step == MigrationStep::kAwaitDeleted && r.region == m.from_region &&
      r.phase == AgentPhase::kDeleted) {
    t.next.step = MigrationStep::kDone;
    t.actions = {MigrationAction::kReleaseOld, MigrationAction::kFinish};
  }
  return t;
}

}  // namespace

MigrationTransition advance_migration(const Migration& current, const MigrationInput& input) {
  if (const auto* r = std::get_if<AgentReport>(&input)) return on_report(current, *r);
  MigrationTransition t{current, {}};
  if (std::holds_alternative<DnsFlipped>(input)) {
    if (current.step != MigrationStep::kFlipDns) return t;
    t.next.step = MigrationStep::kAwaitDeleted;
    t.actions = {MigrationAction::kDeleteInOld};
    return t;
  }
  const auto& g = std::get<GenerationBumped>(input);
  if (current.step == MigrationStep::kDone || g.generation <= current.generation) return t;
  t.next.generation = g.generation;
  // Before the flip, the new generation must run in to_region before DNS moves.
  if (current.step == MigrationStep::kAwaitRunning) t.actions = {MigrationAction::kApplyInNew};
  return t;
}

}  // namespace fc::scheduler

// The pure core of releases and rollouts (docs/releases.md): wave planning,
// the per-member observation, the wave gate and the release → spec mapping.
// No I/O, no clock (time is a parameter in unix ms), no SQLite, Asio or
// spdlog: the service derives each step from the stored state and these
// functions (the shape of Argo Rollouts' canary.go / pause.go).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fc::releases {

using Env = std::map<std::string, std::string>;

struct Release {
  std::string name;
  std::int64_t seq = 0;  // creation order = version order
  std::string image;
  std::string digest;  // "" or "sha256:<64 hex>"
  Env env;
  std::optional<std::string> min_from;
  std::optional<std::string> max_from;
  std::int64_t created_at = 0;
};

// spec.image of a workspace running `r`: image, or image@digest.
std::string image_ref(const Release& r);

// The workspace spec that carries `to`, from the spec it has now. Keys of
// spec.env whose value is the previous release's default are defaults and
// follow the new release; any other key is the workspace's own override and
// is kept. Other spec fields are kept as they are.
struct Spec {
  std::string image;
  Env env;
};
Spec upgrade_spec(const Spec& current, const Env& previous_defaults, const Release& to);

struct FieldError {
  std::string field;
  std::string message;
};
using FieldErrors = std::vector<FieldError>;

// Release and channel names: lower-case DNS-label-like, 1..63 of [a-z0-9.-],
// starting with a letter or digit (e.g. "6.5.0", "stable").
bool valid_name(std::string_view s);
// POST /v1/releases body checks (name, image, digest, env sizes).
void validate_release(const Release& r, FieldErrors& out);

// Whether a workspace on `from` may go to `to` (nullopt from = unknown, any
// path allowed): the upgrade path of `to` ([min_from, max_from] by seq) and
// no downgrade. Fills `why` when not.
struct Path {
  std::optional<std::int64_t> min_seq, max_seq;  // resolved min_from / max_from
};
bool path_allows(std::int64_t from_seq, std::int64_t to_seq, const Path& p, std::string& why);

// ---- Rollouts -------------------------------------------------------------

enum class MemberState {
  kPending,
  kInFlight,
  kDone,
  kFailed,
  kSkippedRegionDown,
  kSkippedBusy,
  kRolledBack,
};
std::string_view member_state_name(MemberState s);
std::optional<MemberState> parse_member_state(std::string_view s);
bool terminal(MemberState s);

enum class OnFailure { kPause, kRollback };

struct Gate {
  double min_running_fraction = 1.0;  // of the wave's members not skipped, 0..1
  std::int64_t deadline_s = 600;      // per member, from its upgrade to `running`
  std::int64_t max_failed = 0;        // failed members of the wave tolerated
};

struct RolloutSpec {
  std::vector<std::string> region_order;  // regions first in this order, the rest by id
  std::vector<std::int64_t> percentages;  // strictly increasing, 1..100, last 100
  bool per_region = false;                // percentages inside each region in turn
  std::int64_t max_unavailable = 1;       // in flight per region at once
  std::int64_t bake_s = 0;                // after a wave passes its gate
  Gate gate;
  OnFailure on_failure = OnFailure::kPause;
};
void validate_rollout_spec(const RolloutSpec& s, FieldErrors& out);

// A member as planned: which wave it belongs to.
struct Candidate {
  std::string workspace_id;
  std::string region;
};
// Assigns each candidate a wave. Candidates are ordered by (rank of region
// in region_order — unlisted regions after, by id —, workspace id). Global
// mode: wave k holds the members up to ceil(p_k · N / 100) of that order.
// per_region: for each region in order, one wave per percentage of that
// region's members. Waves that would be empty are dropped, so every wave
// has at least one member. Returns the wave per candidate (input order) and
// the number of waves through `waves`.
std::vector<int> plan_waves(const std::vector<Candidate>& c, const RolloutSpec& s, int& waves);

// What the agent last said about a member's workspace.
struct Observed {
  bool exists = true;
  std::string state = "scheduled";  // scheduled | migrating | deleting
  std::int64_t observed_generation = 0;
  std::string phase;  // pending | running | failed | …
  std::string message;
};
struct Member {
  std::string workspace_id;
  std::string region;
  int wave = 0;
  MemberState state = MemberState::kPending;
  std::int64_t generation = 0;  // carrying the new release (in flight and later)
  std::string message;
  std::int64_t started_at = 0;
};
struct Transition {
  MemberState state;
  std::string message;
};
// An in-flight member, given what its agent reported: done once `running`
// for its generation (or later), failed on a `failed` report for it or when
// deadline_s passed, skipped when its region is down or the workspace is gone.
std::optional<Transition> observe(const Member& m, const Observed& o, bool region_up,
                                  std::int64_t deadline_s, std::int64_t now_ms);

struct Tally {
  std::int64_t pending = 0, in_flight = 0, done = 0, failed = 0, skipped = 0;
  std::int64_t total() const { return pending + in_flight + done + failed + skipped; }
};
Tally tally(const std::vector<Member>& wave_members);

enum class GateVerdict { kOpen, kPassed, kFailed };
// kFailed as soon as more than max_failed members failed; once every member
// is terminal, kPassed when done / (total − skipped) ≥ min_running_fraction
// (a wave of only skipped members passes), else kFailed; kOpen before.
GateVerdict gate_verdict(const Tally& t, const Gate& g, std::string& why);

// The one step a running rollout takes in a pass, derived from its stored
// state (Argo's canary.go): start members, wait, start baking, advance to the
// next wave, complete, or fail the gate.
enum class StepKind { kStartMembers, kWait, kStartBake, kAdvance, kComplete, kGateFailed };
struct WaveState {
  int wave = 0;
  int waves = 1;
  Tally tally;
  std::optional<std::int64_t> bake_started_at;
  bool promoted = false;  // promote skipped this wave's bake
  bool acked = false;     // resume accepted this wave's failed gate
};
struct Step {
  StepKind kind = StepKind::kWait;
  std::string why;                      // kGateFailed: the gate's reason
  std::optional<std::int64_t> wake_at;  // kWait on a bake: when it ends
};
Step next_step(const WaveState& w, const RolloutSpec& s, std::int64_t now_ms);

// Which pending members of the current wave start now: per region, as many
// as max_unavailable minus those in flight; members of a down region are
// skipped instead. `in_flight` counts in-flight members per region.
struct Starts {
  std::vector<std::size_t> start;  // indexes into `pending`
  std::vector<std::size_t> skip;   // region down
};
Starts pick_starts(const std::vector<Member>& pending,
                   std::map<std::string, std::int64_t> in_flight,
                   const std::map<std::string, bool>& region_up, std::int64_t max_unavailable);

}  // namespace fc::releases

// Plain value types of the scheduler (docs/scheduler.md). No I/O, no clock, no
// SQLite/Asio/spdlog: the API and storage map their records to and from these.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fc::scheduler {

using Labels = std::map<std::string, std::string>;  // sorted: reasons are deterministic

// What one workspace asks for. Every workspace also takes one workspace slot
// (see Quantities::of).
struct Resources {
  std::int64_t memory_mib = 0;
  std::int64_t cpu_millis = 0;
  friend bool operator==(const Resources&, const Resources&) = default;
};

// A region's capacity or allocation, the API's {"memory_mib","cpu_millis","workspaces"}.
struct Quantities {
  std::int64_t memory_mib = 0;
  std::int64_t cpu_millis = 0;
  std::int64_t workspaces = 0;
  static Quantities of(const Resources& r) { return {r.memory_mib, r.cpu_millis, 1}; }
  friend bool operator==(const Quantities&, const Quantities&) = default;
};

enum class RegionState { kActive, kCordoned, kDraining };
enum class Health { kUnknown, kHealthy, kUnhealthy };
enum class Policy { kSpread, kBinpack };

// Region health as evaluated at one instant (evaluate_health in placement.hpp).
struct HealthStatus {
  Health health = Health::kUnknown;
  // Whole seconds since the newest heartbeat; empty when there was none.
  std::optional<std::int64_t> seconds_since_heartbeat;
  friend bool operator==(const HealthStatus&, const HealthStatus&) = default;
};

// What placement sees of one region: everything the filters and scorers read.
struct RegionView {
  std::string id;
  RegionState state = RegionState::kActive;
  HealthStatus health;
  Labels labels;
  Quantities capacity;
  Quantities allocated;  // may exceed capacity after a capacity cut
};

// Where a workspace may go: `regions` empty means any region.
struct PlacementConstraints {
  std::vector<std::string> regions;
  Labels labels;
  std::vector<std::string> prefer;
  friend bool operator==(const PlacementConstraints&, const PlacementConstraints&) = default;
};

struct WorkspaceRequest {
  Resources resources;
  PlacementConstraints placement;
};

// Why a region was rejected; kNone means it fits. Machine-readable twin of
// Fit::reason (the human text the API puts in its 503 "regions" array).
enum class Reject {
  kNone,
  kCordoned,
  kDraining,
  kUnhealthy,
  kHealthUnknown,
  kNotAllowed,
  kLabel,
  kMemory,
  kCpu,
  kWorkspaces,
  kExcluded,
};

// "Does not fit" is a normal value with a reason, never an Error.
struct Fit {
  Reject reject = Reject::kNone;
  std::string reason;  // empty when it fits
  bool fits() const { return reject == Reject::kNone; }
  static Fit yes() { return {}; }
  static Fit no(Reject r, std::string why) { return Fit{r, std::move(why)}; }
};

// One region's line in a placement decision.
struct RegionOutcome {
  std::string region_id;
  Fit fit;
  std::optional<int> score;  // [0, 100]; empty when a filter rejected the region
};

struct PlacementResult {
  std::optional<std::string> chosen;   // empty: no region fits (API: 503 /no-capacity)
  bool by_preference = false;          // chosen because it came first in `prefer`
  std::vector<RegionOutcome> regions;  // every region given, in the input order
};

std::string_view region_state_name(RegionState s);  // "active" | "cordoned" | "draining"
std::optional<RegionState> parse_region_state(std::string_view s);
std::string_view health_name(Health h);  // "unknown" | "healthy" | "unhealthy"
std::string_view policy_name(Policy p);  // "spread" | "binpack"
std::optional<Policy> parse_policy(std::string_view s);

}  // namespace fc::scheduler

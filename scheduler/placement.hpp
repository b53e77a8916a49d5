// fc::scheduler — the pure placement core (docs/scheduler.md).
//
//   WorkspaceRequest + RegionView[] --filters--> Fit per region
//                                   --score----> [0,100] per fitting region
//                                   --pick-----> first fitting `prefer`, else best score, ties by
//                                   id
//
// Nothing here does I/O, reads a clock or draws randomness: time is a parameter.
// The caller (api/storage) keeps a CapacityIndex in memory, rebuilt from the
// database at start and updated only after each commit, and places from its views().
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "scheduler/detail/capacity_index.hpp"
#include "scheduler/detail/drain.hpp"
#include "scheduler/detail/errc.hpp"
#include "scheduler/detail/migration.hpp"
#include "scheduler/detail/types.hpp"
#include "scheduler/detail/validate.hpp"

namespace fc::scheduler {

// Region health from its newest heartbeat (any agent of the region):
//   no heartbeat ever              -> kUnknown, seconds empty
//   now - last <= timeout_s        -> kHealthy (a heartbeat "in the future" counts as 0 s)
//   now - last >  timeout_s        -> kUnhealthy
// seconds_since_heartbeat is floor((now - last) / 1 s), at least 0.
HealthStatus evaluate_health(std::optional<SysTime> last_heartbeat, SysTime now,
                             std::int64_t heartbeat_timeout_s);

// Runs every filter on one region (first rejection wins). Use it to check an
// explicit target, e.g. POST /v1/workspaces/{id}/migrate.
Fit evaluate(const WorkspaceRequest& req, const RegionView& region);

// Resources only, for PATCH /v1/workspaces/{id} (409 when it fails): does
// `wanted` fit in the workspace's own region once its `current` resources are
// given back? A resource that does not grow always passes; the region's state
// and health do not matter for a workspace already there.
Fit evaluate_resize(const RegionView& region, const Resources& current, const Resources& wanted);

// Filters, scores and picks. `regions` may be in any order; the result lists
// one outcome per region in that order. A region whose id equals
// `exclude_region` is rejected with Reject::kExcluded ("source region of the
// move"): the drain planner uses it for the region being drained.
PlacementResult place(const WorkspaceRequest& req, std::span<const RegionView> regions,
                      Policy policy, std::string_view exclude_region = {});

// The decision of place() alone: the index into `regions` of the region it
// would choose, without building an outcome per region (no allocation unless
// a filter rejects). The create path calls this and falls back to place()
// only to explain a 503, so a placement over 1,000 regions stays cheap.
// (struct Pick is in detail/pick_index.hpp: CapacityIndex::pick returns it too.)
std::optional<Pick> pick(const WorkspaceRequest& req, std::span<const RegionView> regions,
                         Policy policy, std::string_view exclude_region = {});

// The API's 503 body: {"regions":[{"id","reason"}]} for every rejected region.
struct RegionReason {
  std::string id;
  std::string reason;
  friend bool operator==(const RegionReason&, const RegionReason&) = default;
};
std::vector<RegionReason> rejection_reasons(const PlacementResult& result);

}  // namespace fc::scheduler

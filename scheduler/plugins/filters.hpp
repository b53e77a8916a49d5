// Placement filters: pure predicates over one region (STYLE.md "Pure cores").
// Each returns Fit::yes() or a Fit with the human reason listed in
// docs/scheduler.md ("Reasons"). They run in kFilters order and the first
// rejection is the region's reason.
#pragma once
#include <array>

#include "scheduler/detail/types.hpp"

namespace fc::scheduler {

Fit filter_state(const WorkspaceRequest& req, const RegionView& region);      // active only
Fit filter_health(const WorkspaceRequest& req, const RegionView& region);     // healthy only
Fit filter_allowed(const WorkspaceRequest& req, const RegionView& region);    // placement.regions
Fit filter_labels(const WorkspaceRequest& req, const RegionView& region);     // placement.labels
Fit filter_resources(const WorkspaceRequest& req, const RegionView& region);  // memory, cpu, slots

using FilterFn = Fit (*)(const WorkspaceRequest&, const RegionView&);
inline constexpr std::array<FilterFn, 5> kFilters = {filter_state, filter_health, filter_allowed,
                                                     filter_labels, filter_resources};

// Runs every filter in order; the first rejection wins.
Fit run_filters(const WorkspaceRequest& req, const RegionView& region);

// run_filters(req, region).fits() without building a Fit or a reason: the
// per-region test of pick(), which runs it for every region on every create.
// Same conditions as the filters above (a randomized test keeps them equal).
bool passes_filters(const WorkspaceRequest& req, const RegionView& region);

// The resource check behind filter_resources: memory_mib, then cpu_millis,
// then workspaces; each needs want <= free_amount(capacity, allocated).
Fit fit_quantities(const Quantities& capacity, const Quantities& allocated, const Quantities& want);

// Free amount of one resource, never negative (allocated may exceed capacity
// after a capacity cut; that region simply has 0 free).
std::int64_t free_amount(std::int64_t capacity, std::int64_t allocated);

}  // namespace fc::scheduler

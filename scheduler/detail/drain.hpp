// Drain planner (pure): which workspace of a draining region moves next, and
// where. One move at a time, in stable workspace-id order, with the same
// filters and scorers as placement; the draining region itself is excluded.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/detail/types.hpp"

namespace fc::scheduler {

// A workspace still placed in the draining region and not already migrating.
struct DrainCandidate {
  std::string workspace_id;
  WorkspaceRequest request;  // its resources and placement constraints
};

struct DrainAttempt {
  std::string workspace_id;
  PlacementResult placement;  // per-region reasons and scores
};

enum class DrainStatus {
  kDone,     // no workspace left in the region
  kMove,     // migrate `move->workspace_id` to `move->placement.chosen`
  kBlocked,  // none can move now; `blocked` says why for each
};

struct DrainPlan {
  DrainStatus status = DrainStatus::kDone;
  std::optional<DrainAttempt> move;
  // Workspaces tried and found unmovable: all of them when kBlocked, the ones
  // with a smaller id than the chosen one when kMove.
  std::vector<DrainAttempt> blocked;
};

// `regions` may include the draining region (it is excluded by id). The caller
// starts the returned migration, and asks again once it finished (or when
// capacity or region states change while blocked).
DrainPlan plan_drain(std::string_view draining_region, std::span<const DrainCandidate> workspaces,
                     std::span<const RegionView> regions, Policy policy);

}  // namespace fc::scheduler

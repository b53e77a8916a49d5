#include "scheduler/detail/drain.hpp"

#include <algorithm>

#include "scheduler/placement.hpp"

namespace fc::scheduler {

DrainPlan plan_drain(std::string_view draining_region, std::span<const DrainCandidate> workspaces,
                     std::span<const RegionView> regions, Policy policy) {
  DrainPlan plan;
  if (workspaces.empty()) return plan;
  // Stable order by id, whatever order the caller read them in.
  std::vector<const DrainCandidate*> order;
  order.reserve(workspaces.size());
  for (const DrainCandidate& c : workspaces) order.push_back(&c);
  std::sort(order.begin(), order.end(), [](const DrainCandidate* a, const DrainCandidate* b) {
    return a->workspace_id < b->workspace_id;
  });
  for (const DrainCandidate* c : order) {
    PlacementResult r = place(c->request, regions, policy, draining_region);
    if (r.chosen) {
      plan.status = DrainStatus::kMove;
      plan.move = DrainAttempt{c->workspace_id, std::move(r)};
      return plan;
    }
    plan.blocked.push_back(DrainAttempt{c->workspace_id, std::move(r)});
  }
  plan.status = DrainStatus::kBlocked;
  return plan;
}

}  // namespace fc::scheduler

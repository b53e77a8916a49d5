// Placement scorers: pure functions in [0, kMaxScore] (docs/scheduler.md
// "Scores"). Modelled on Kubernetes' noderesources leastRequestedScore /
// mostRequestedScore: integer arithmetic, floor division, a capacity of 0 (or
// a request that does not fit) scores 0. Arithmetic is exact for every int64
// input (128-bit intermediate), so no input can overflow.
#pragma once
#include <cstdint>

#include "scheduler/detail/types.hpp"

namespace fc::scheduler {

inline constexpr int kMaxScore = 100;

// floor((free - requested) * 100 / capacity), free = max(capacity - allocated, 0):
// the fraction of the resource still free after placing. 100 = empty region.
int least_allocated_score(std::int64_t capacity, std::int64_t allocated, std::int64_t requested);

// floor((allocated + requested) * 100 / capacity): the fraction in use after
// placing. 100 = this placement fills the region exactly.
int most_allocated_score(std::int64_t capacity, std::int64_t allocated, std::int64_t requested);

// Policy `spread`: floor of the mean of least_allocated_score over memory_mib,
// cpu_millis and workspaces (equal weights). Range [0, 100].
int score_spread(const WorkspaceRequest& req, const RegionView& region);

// Policy `binpack`: floor of the mean of most_allocated_score over the same
// three resources. Range [0, 100].
int score_binpack(const WorkspaceRequest& req, const RegionView& region);

int score(Policy policy, const WorkspaceRequest& req, const RegionView& region);

}  // namespace fc::scheduler

#include "scheduler/plugins/scores.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "scheduler/plugins/filters.hpp"

namespace fc::scheduler {

namespace {

__extension__ using Int128 = __int128;  // GCC/Clang; exact a*100 for any int64 a

// floor(part * 100 / whole) for 0 <= part <= whole, whole > 0.
int percent(std::int64_t part, std::int64_t whole) {
  // 64-bit when part * 100 cannot overflow (every real capacity): the 128-bit
  // division was a tenth of a placement's CPU with 1,000 regions.
  if (part <= std::numeric_limits<std::int64_t>::max() / kMaxScore) {
    return static_cast<int>(part * kMaxScore / whole);
  }
  return static_cast<int>(static_cast<Int128>(part) * kMaxScore / whole);
}

}  // namespace

int least_allocated_score(std::int64_t capacity, std::int64_t allocated, std::int64_t requested) {
  if (capacity <= 0) return 0;
  const std::int64_t want = std::max<std::int64_t>(requested, 0);
  const std::int64_t free = free_amount(capacity, allocated);
  if (want > free) return 0;
  return percent(free - want, capacity);
}

int most_allocated_score(std::int64_t capacity, std::int64_t allocated, std::int64_t requested) {
  if (capacity <= 0) return 0;
  const std::int64_t want = std::max<std::int64_t>(requested, 0);
  const std::int64_t free = free_amount(capacity, allocated);
  if (want > free) return 0;
  // used after placing = capacity - (free - want): never above capacity, no overflow.
  return percent(capacity - (free - want), capacity);
}

namespace {

using ScoreFn = int (*)(std::int64_t, std::int64_t, std::int64_t);

int mean_of(ScoreFn fn, const WorkspaceRequest& req, const RegionView& region) {
  const Quantities want = Quantities::of(req.resources);
  const Quantities& cap = region.capacity;
  const Quantities& used = region.allocated;
  const int sum = fn(cap.memory_mib, used.memory_mib, want.memory_mib) +
                  fn(cap.cpu_millis, used.cpu_millis, want.cpu_millis) +
                  fn(cap.workspaces, used.workspaces, want.workspaces);
  return sum / 3;
}

}  // namespace

int score_spread(const WorkspaceRequest& req, const RegionView& region) {
  return mean_of(least_allocated_score, req, region);
}

int score_binpack(const WorkspaceRequest& req, const RegionView& region) {
  return mean_of(most_allocated_score, req, region);
}

int score(Policy policy, const WorkspaceRequest& req, const RegionView& region) {
  switch (policy) {
    case Policy::kSpread: return score_spread(req, region);
    case Policy::kBinpack: return score_binpack(req, region);
  }
  std::abort();  // out-of-range enum value: a bug, crash (STYLE.md)
}

}  // namespace fc::scheduler

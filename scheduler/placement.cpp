#include "scheduler/placement.hpp"

#include <algorithm>
#include <chrono>

#include "scheduler/plugins/filters.hpp"
#include "scheduler/plugins/scores.hpp"

namespace fc::scheduler {

HealthStatus evaluate_health(std::optional<SysTime> last_heartbeat, SysTime now,
                             std::int64_t heartbeat_timeout_s) {
  if (!last_heartbeat) return HealthStatus{Health::kUnknown, std::nullopt};
  using std::chrono::milliseconds;
  const std::int64_t elapsed_ms = std::max<std::int64_t>(
      std::chrono::duration_cast<milliseconds>(now - *last_heartbeat).count(), 0);
  const std::int64_t seconds = elapsed_ms / 1000;
  // Compare in milliseconds without multiplying the timeout (overflow-safe):
  // elapsed > timeout_s * 1000  <=>  seconds > timeout_s || (seconds == timeout_s && ms > 0).
  const bool late =
      seconds > heartbeat_timeout_s || (seconds == heartbeat_timeout_s && elapsed_ms % 1000 > 0);
  return HealthStatus{late ? Health::kUnhealthy : Health::kHealthy, seconds};
}

Fit evaluate(const WorkspaceRequest& req, const RegionView& region) {
  return run_filters(req, region);
}

Fit evaluate_resize(const RegionView& region, const Resources& current, const Resources& wanted) {
  // Only what grows needs room: give the current amount back (never below 0,
  // so an index out of step cannot make room out of nothing) and ask for the
  // wanted amount; a resource that stays or shrinks always passes, even in a
  // region whose capacity was cut below its allocation. The slot is unchanged.
  const auto grow = [](std::int64_t now, std::int64_t want) { return want > now ? want : 0; };
  const Quantities& a = region.allocated;
  const Quantities after{free_amount(a.memory_mib, std::max<std::int64_t>(current.memory_mib, 0)),
                         free_amount(a.cpu_millis, std::max<std::int64_t>(current.cpu_millis, 0)),
                         a.workspaces};
  const Quantities want{grow(current.memory_mib, wanted.memory_mib),
                        grow(current.cpu_millis, wanted.cpu_millis), 0};
  return fit_quantities(region.capacity, after, want);
}

namespace {

// Index of the first region of `prefer` that passed every filter, if any.
std::optional<std::size_t> preferred_fit(const WorkspaceRequest& req,
                                         const std::vector<RegionOutcome>& outcomes) {
  for (const std::string& want : req.placement.prefer) {
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      if (outcomes[i].region_id == want && outcomes[i].fit.fits()) return i;
    }
  }
  return std::nullopt;
}

// Index of the best score, ties broken by the smaller region id.
std::optional<std::size_t> best_score(const std::vector<RegionOutcome>& outcomes) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const RegionOutcome& o = outcomes[i];
    if (!o.score) continue;
    if (!best) {
      best = i;
      continue;
    }
    const RegionOutcome& b = outcomes[*best];
    if (*o.score > *b.score || (*o.score == *b.score && o.region_id < b.region_id)) best = i;
  }
  return best;
}

}  // namespace

PlacementResult place(const WorkspaceRequest& req, std::span<const RegionView> regions,
                      Policy policy, std::string_view exclude_region) {
  PlacementResult result;
  result.regions.reserve(regions.size());
  for (const RegionView& region : regions) {
    RegionOutcome out{region.id, Fit::yes(), std::nullopt};
    if (!exclude_region.empty() && region.id == exclude_region) {
      out.fit = Fit::no(Reject::kExcluded, "source region of the move");
    } else {
      out.fit = run_filters(req, region);
    }
    if (out.fit.fits()) out.score = score(policy, req, region);
    result.regions.push_back(std::move(out));
  }
  std::optional<std::size_t> pick = preferred_fit(req, result.regions);
  result.by_preference = pick.has_value();
  if (!pick) pick = best_score(result.regions);
  if (pick) result.chosen = result.regions[*pick].region_id;
  return result;
}

std::vector<RegionReason> rejection_reasons(const PlacementResult& result) {
  std::vector<RegionReason> out;
  for (const RegionOutcome& o : result.regions) {
    if (!o.fit.fits()) out.push_back({o.region_id, o.fit.reason});
  }
  return out;
}

}  // namespace fc::scheduler

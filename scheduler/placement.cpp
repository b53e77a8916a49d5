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

bool excluded(const RegionView& region, std::string_view exclude_region) {
  return !exclude_region.empty() && region.id == exclude_region;
}

// Position of `id` in `prefer` (first occurrence), or prefer.size().
std::size_t preference_rank(const std::vector<std::string>& prefer, const std::string& id) {
  return static_cast<std::size_t>(std::find(prefer.begin(), prefer.end(), id) - prefer.begin());
}

}  // namespace

std::optional<Pick> pick(const WorkspaceRequest& req, std::span<const RegionView> regions,
                         Policy policy, std::string_view exclude_region) {
  const auto& prefer = req.placement.prefer;
  std::optional<std::size_t> best, preferred;
  int best_score = -1;
  std::size_t best_rank = prefer.size();
  for (std::size_t i = 0; i < regions.size(); ++i) {
    const RegionView& region = regions[i];
    if (excluded(region, exclude_region) || !passes_filters(req, region)) continue;
    // The first region of `prefer` that passes every filter wins outright.
    if (const std::size_t rank = preference_rank(prefer, region.id); rank < best_rank) {
      best_rank = rank;
      preferred = i;
    }
    // Otherwise the best score, ties broken by the smaller region id.
    const int s = score(policy, req, region);
    if (!best || s > best_score || (s == best_score && region.id < regions[*best].id)) {
      best = i;
      best_score = s;
    }
  }
  if (preferred) return Pick{*preferred, true};
  if (best) return Pick{*best, false};
  return std::nullopt;
}

PlacementResult place(const WorkspaceRequest& req, std::span<const RegionView> regions,
                      Policy policy, std::string_view exclude_region) {
  PlacementResult result;
  result.regions.reserve(regions.size());
  for (const RegionView& region : regions) {
    RegionOutcome out{region.id, Fit::yes(), std::nullopt};
    if (excluded(region, exclude_region)) {
      out.fit = Fit::no(Reject::kExcluded, "source region of the move");
    } else {
      out.fit = run_filters(req, region);
    }
    if (out.fit.fits()) out.score = score(policy, req, region);
    result.regions.push_back(std::move(out));
  }
  if (const std::optional<Pick> p = pick(req, regions, policy, exclude_region)) {
    result.chosen = regions[p->index].id;
    result.by_preference = p->by_preference;
  }
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

#include "scheduler/plugins/filters.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace fc::scheduler {

Fit filter_state(const WorkspaceRequest& /*req*/, const RegionView& region) {
  switch (region.state) {
    case RegionState::kActive: return Fit::yes();
    case RegionState::kCordoned: return Fit::no(Reject::kCordoned, "cordoned");
    case RegionState::kDraining: return Fit::no(Reject::kDraining, "draining");
  }
  std::abort();  // out-of-range enum value: a bug, crash (STYLE.md)
}

Fit filter_health(const WorkspaceRequest& /*req*/, const RegionView& region) {
  switch (region.health.health) {
    case Health::kHealthy: return Fit::yes();
    case Health::kUnhealthy: {
      const std::int64_t s = region.health.seconds_since_heartbeat.value_or(0);
      return Fit::no(Reject::kUnhealthy, "unhealthy: no heartbeat for " + std::to_string(s) + " s");
    }
    case Health::kUnknown: break;
  }
  return Fit::no(Reject::kHealthUnknown, "health unknown: no agent has sent a heartbeat");
}

Fit filter_allowed(const WorkspaceRequest& req, const RegionView& region) {
  const auto& allowed = req.placement.regions;
  if (allowed.empty()) return Fit::yes();
  if (std::find(allowed.begin(), allowed.end(), region.id) != allowed.end()) return Fit::yes();
  return Fit::no(Reject::kNotAllowed, "not in placement.regions");
}

Fit filter_labels(const WorkspaceRequest& req, const RegionView& region) {
  for (const auto& [key, want] : req.placement.labels) {
    const auto it = region.labels.find(key);
    if (it != region.labels.end() && it->second == want) continue;
    std::string why = "label " + key + "=" + want + " not matched (region has ";
    why += it == region.labels.end() ? "no " + key : key + "=" + it->second;
    why += ")";
    return Fit::no(Reject::kLabel, std::move(why));
  }
  return Fit::yes();
}

std::int64_t free_amount(std::int64_t capacity, std::int64_t allocated) {
  // Both are clamped to >= 0 first, so the subtraction cannot overflow.
  const std::int64_t cap = std::max<std::int64_t>(capacity, 0);
  const std::int64_t used = std::max<std::int64_t>(allocated, 0);
  return cap > used ? cap - used : 0;
}

namespace {

Fit check_one(Reject r, const char* name, std::int64_t capacity, std::int64_t allocated,
              std::int64_t requested) {
  const std::int64_t free = free_amount(capacity, allocated);
  if (requested <= free) return Fit::yes();
  return Fit::no(r, std::string(name) + ": " + std::to_string(free) + " free < " +
                        std::to_string(requested) + " requested");
}

}  // namespace

Fit fit_quantities(const Quantities& capacity, const Quantities& allocated,
                   const Quantities& want) {
  Fit f = check_one(Reject::kMemory, "memory_mib", capacity.memory_mib, allocated.memory_mib,
                    want.memory_mib);
  if (!f.fits()) return f;
  f = check_one(Reject::kCpu, "cpu_millis", capacity.cpu_millis, allocated.cpu_millis,
                want.cpu_millis);
  if (!f.fits()) return f;
  return check_one(Reject::kWorkspaces, "workspaces", capacity.workspaces, allocated.workspaces,
                   want.workspaces);
}

Fit filter_resources(const WorkspaceRequest& req, const RegionView& region) {
  return fit_quantities(region.capacity, region.allocated, Quantities::of(req.resources));
}

bool passes_filters(const WorkspaceRequest& req, const RegionView& region) {
  if (region.state != RegionState::kActive || region.health.health != Health::kHealthy)
    return false;
  const auto& allowed = req.placement.regions;
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), region.id) == allowed.end())
    return false;
  for (const auto& [key, want] : req.placement.labels) {
    const auto it = region.labels.find(key);
    if (it == region.labels.end() || it->second != want) return false;
  }
  const Quantities want = Quantities::of(req.resources);
  const Quantities& cap = region.capacity;
  const Quantities& used = region.allocated;
  return want.memory_mib <= free_amount(cap.memory_mib, used.memory_mib) &&
         want.cpu_millis <= free_amount(cap.cpu_millis, used.cpu_millis) &&
         want.workspaces <= free_amount(cap.workspaces, used.workspaces);
}

Fit run_filters(const WorkspaceRequest& req, const RegionView& region) {
  for (const FilterFn f : kFilters) {
    Fit fit = f(req, region);
    if (!fit.fits()) return fit;
  }
  return Fit::yes();
}

}  // namespace fc::scheduler

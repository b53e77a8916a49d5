#include "scheduler/detail/pick_index.hpp"

#include <algorithm>
#include <cmath>

#include "scheduler/placement.hpp"
#include "scheduler/plugins/filters.hpp"
#include "scheduler/plugins/scores.hpp"

namespace fc::scheduler {

namespace {

// Slack for the bounds' floating point (relative error ~1e-16 of values ≤ 300):
// a bound may be too high (one more class looked at), never too low.
constexpr double kSlack = 1e-6;

std::array<std::int64_t, 3> as_array(const Quantities& q) {
  return {q.memory_mib, q.cpu_millis, q.workspaces};
}

// Σ over the three resources of free/capacity × 100 (capacity ≤ 0 adds 0):
// least_allocated_score's term before the request and the floor, so the
// spread score of any request is at most floor((this − Σ want/capacity × 100) / 3).
double free_key(const Quantities& cap, const Quantities& used) {
  const auto c = as_array(cap), u = as_array(used);
  double k = 0;
  for (std::size_t r = 0; r < 3; ++r)
    if (c[r] > 0)
      k += static_cast<double>(free_amount(c[r], u[r])) * 100.0 / static_cast<double>(c[r]);
  return k;
}

// Σ (capacity − free)/capacity × 100: most_allocated_score's term before the
// request; the binpack score is at most floor((this + Σ want/capacity × 100) / 3).
double used_key(const Quantities& cap, const Quantities& used) {
  const auto c = as_array(cap), u = as_array(used);
  double k = 0;
  for (std::size_t r = 0; r < 3; ++r)
    if (c[r] > 0)
      k += static_cast<double>(c[r] - free_amount(c[r], u[r])) * 100.0 / static_cast<double>(c[r]);
  return k;
}

bool healthy(std::span<const std::optional<SysTime>> hb, std::size_t i, SysTime now,
             std::int64_t timeout) {
  return evaluate_health(hb[i], now, timeout).health == Health::kHealthy;
}

std::optional<std::size_t> position(std::span<const RegionView> views, std::string_view id) {
  const auto it =
      std::lower_bound(views.begin(), views.end(), id,
                       [](const RegionView& v, std::string_view k) { return v.id < k; });
  if (it == views.end() || it->id != id) return std::nullopt;
  return static_cast<std::size_t>(it - views.begin());
}

}  // namespace

void PickIndex::rebuild(std::span<const RegionView> views) {
  classes_.clear();
  by_free_.clear();
  by_used_.clear();
  for (auto& caps : positive_caps_) caps.clear();
  for (std::size_t i = 0; i < views.size(); ++i) join(i, views[i]);
}

void PickIndex::join(std::size_t i, const RegionView& v) {
  Key key{v.state, v.labels, v.capacity, v.allocated};
  auto [it, fresh] = classes_.try_emplace(std::move(key));
  it->second.members.insert(i);
  if (fresh) {
    it->second.free_key = free_key(v.capacity, v.allocated);
    it->second.used_key = used_key(v.capacity, v.allocated);
    by_free_.emplace(it->second.free_key, &*it);
    by_used_.emplace(it->second.used_key, &*it);
  }
  const auto c = as_array(v.capacity);
  for (std::size_t r = 0; r < 3; ++r)
    if (c[r] > 0) ++positive_caps_[r][c[r]];
}

void PickIndex::leave(std::size_t i, const RegionView& v) {
  const auto c = as_array(v.capacity);
  for (std::size_t r = 0; r < 3; ++r)
    if (c[r] > 0) {
      auto it = positive_caps_[r].find(c[r]);
      if (it == positive_caps_[r].end()) std::abort();  // the index lost a region: a bug
      if (--it->second == 0) positive_caps_[r].erase(it);
    }
  auto it = classes_.find(Key{v.state, v.labels, v.capacity, v.allocated});
  if (it == classes_.end()) std::abort();  // the index lost a region: a bug
  it->second.members.erase(i);
  if (!it->second.members.empty()) return;
  by_free_.erase({it->second.free_key, &*it});
  by_used_.erase({it->second.used_key, &*it});
  classes_.erase(it);
}

// Every class whose bound can still reach the best score, best bound first.
void PickIndex::scan(const WorkspaceRequest& req, Policy policy, std::span<const RegionView> views,
                     std::span<const std::optional<SysTime>> hb, SysTime now, std::int64_t timeout,
                     std::string_view exclude, Best& best) const {
  const bool spread = policy == Policy::kSpread;
  // The request's least possible effect on a term: want over the largest
  // capacity (spread subtracts it), or its largest: over the smallest (binpack adds it).
  const auto want = as_array(Quantities::of(req.resources));
  double w = 0;
  for (std::size_t r = 0; r < 3; ++r) {
    if (want[r] <= 0 || positive_caps_[r].empty()) continue;
    const auto cap = spread ? positive_caps_[r].rbegin()->first : positive_caps_[r].begin()->first;
    w += static_cast<double>(want[r]) * 100.0 / static_cast<double>(cap);
  }
  RegionView proto;
  proto.health = HealthStatus{Health::kHealthy, 0};
  for (const auto& [key_value, node] : spread ? by_free_ : by_used_) {
    const Key* key = &node->first;
    const double b = spread ? key_value - w : key_value + w;
    const int bound = static_cast<int>(std::floor(b / 3.0 + kSlack));
    if (bound < best.score) break;
    proto.state = key->state;
    proto.labels = key->labels;
    proto.capacity = key->capacity;
    proto.allocated = key->allocated;
    if (!passes_filters(req, proto)) continue;
    const int s = score(policy, req, proto);
    if (s < best.score) continue;
    for (const std::size_t i : node->second.members) {
      if (s == best.score && best.index && i > *best.index) break;  // a tie keeps the smaller id
      if ((!exclude.empty() && views[i].id == exclude) || !healthy(hb, i, now, timeout)) continue;
      best = Best{s, i};
      break;
    }
  }
}

std::optional<Pick> PickIndex::pick(const WorkspaceRequest& req, Policy policy,
                                    std::span<const RegionView> views,
                                    std::span<const std::optional<SysTime>> hb, SysTime now,
                                    std::int64_t timeout, std::string_view exclude) const {
  // One region, with its health now, through the ordinary filters.
  const auto fits = [&](std::size_t i, RegionView& v) {
    v = views[i];
    v.health = evaluate_health(hb[i], now, timeout);
    return !(!exclude.empty() && v.id == exclude) && passes_filters(req, v);
  };
  RegionView v;
  // The first region of `prefer` that passes every filter wins outright.
  for (const auto& id : req.placement.prefer) {
    const auto i = position(views, id);
    if (i && fits(*i, v)) return Pick{*i, true};
  }
  Best best;
  if (!req.placement.regions.empty()) {  // only these can pass: look them up
    for (const auto& id : req.placement.regions) {
      const auto i = position(views, id);
      if (!i || !fits(*i, v)) continue;
      const int s = score(policy, req, v);
      if (s > best.score || (s == best.score && *i < *best.index)) best = Best{s, *i};
    }
  } else {
    scan(req, policy, views, hb, now, timeout, exclude, best);
  }
  if (!best.index) return std::nullopt;
  return Pick{*best.index, false};
}

}  // namespace fc::scheduler

#include "scheduler/detail/capacity_index.hpp"

#include <algorithm>
#include <numeric>

#include "scheduler/placement.hpp"

namespace fc::scheduler {

namespace {

bool non_negative(const Quantities& q) {
  return q.memory_mib >= 0 && q.cpu_millis >= 0 && q.workspaces >= 0;
}

Status check_record(const RegionRecord& r) {
  if (r.id.empty()) return make_error(Code::kInvalidArgument, "region id is empty");
  if (!non_negative(r.capacity) || !non_negative(r.allocated)) {
    return make_error(Code::kInvalidArgument, "region " + r.id + ": negative quantity");
  }
  return ok();
}

RegionView to_view(RegionRecord& r) {
  return RegionView{std::move(r.id),     r.state,    HealthStatus{},
                    std::move(r.labels), r.capacity, r.allocated};
}

Error not_found(std::string_view id) {
  return make_error(Code::kNotFound, "region " + std::string(id) + " not in capacity index");
}

}  // namespace

Status CapacityIndex::load(std::vector<RegionRecord> records) {
  for (const RegionRecord& r : records) {
    BOOST_OUTCOME_TRYV(check_record(r));
  }
  std::sort(records.begin(), records.end(),
            [](const RegionRecord& a, const RegionRecord& b) { return a.id < b.id; });
  const auto dup = std::adjacent_find(records.begin(), records.end(),
                                      [](const auto& a, const auto& b) { return a.id == b.id; });
  if (dup != records.end()) {
    return make_error(Code::kInvalidArgument, "duplicate region id " + dup->id);
  }
  std::vector<RegionView> views;
  std::vector<std::optional<SysTime>> heartbeats;
  views.reserve(records.size());
  heartbeats.reserve(records.size());
  for (RegionRecord& r : records) {
    heartbeats.push_back(r.last_heartbeat);
    views.push_back(to_view(r));
  }
  views_ = std::move(views);
  heartbeats_ = std::move(heartbeats);
  pick_.rebuild(views_);
  return ok();
}

std::optional<std::size_t> CapacityIndex::index_of(std::string_view id) const {
  const auto it =
      std::lower_bound(views_.begin(), views_.end(), id,
                       [](const RegionView& v, std::string_view k) { return v.id < k; });
  if (it == views_.end() || it->id != id) return std::nullopt;
  return static_cast<std::size_t>(it - views_.begin());
}

Status CapacityIndex::add_region(RegionRecord record) {
  BOOST_OUTCOME_TRYV(check_record(record));
  if (index_of(record.id))
    return make_error(Errc::kRegionExists, "region " + record.id + " exists");
  const auto it =
      std::lower_bound(views_.begin(), views_.end(), record.id,
                       [](const RegionView& v, const std::string& k) { return v.id < k; });
  const auto pos = it - views_.begin();
  heartbeats_.insert(heartbeats_.begin() + pos, record.last_heartbeat);
  views_.insert(it, to_view(record));
  pick_.rebuild(views_);  // positions after it moved
  return ok();
}

Status CapacityIndex::remove_region(std::string_view id) {
  const auto i = index_of(id);
  if (!i) return not_found(id);
  views_.erase(views_.begin() + static_cast<std::ptrdiff_t>(*i));
  heartbeats_.erase(heartbeats_.begin() + static_cast<std::ptrdiff_t>(*i));
  pick_.rebuild(views_);
  return ok();
}

Status CapacityIndex::set_state(std::string_view id, RegionState state) {
  const auto i = index_of(id);
  if (!i) return not_found(id);
  pick_.leave(*i, views_[*i]);
  views_[*i].state = state;
  pick_.join(*i, views_[*i]);
  return ok();
}

Status CapacityIndex::set_labels(std::string_view id, Labels labels) {
  const auto i = index_of(id);
  if (!i) return not_found(id);
  pick_.leave(*i, views_[*i]);
  views_[*i].labels = std::move(labels);
  pick_.join(*i, views_[*i]);
  return ok();
}

Status CapacityIndex::set_capacity(std::string_view id, Quantities capacity) {
  const auto i = index_of(id);
  if (!i) return not_found(id);
  if (!non_negative(capacity)) return make_error(Code::kInvalidArgument, "negative capacity");
  pick_.leave(*i, views_[*i]);
  views_[*i].capacity = capacity;
  pick_.join(*i, views_[*i]);
  return ok();
}

Status CapacityIndex::record_heartbeat(std::string_view id, SysTime at) {
  const auto i = index_of(id);
  if (!i) return not_found(id);
  auto& hb = heartbeats_[*i];
  if (!hb || at > *hb) hb = at;
  return ok();
}

Status CapacityIndex::reserve(std::string_view id, const Resources& r) {
  const auto i = index_of(id);
  if (!i) return not_found(id);
  const Quantities add = Quantities::of(r);
  if (!non_negative(add)) return make_error(Code::kInvalidArgument, "negative resources");
  Quantities next = views_[*i].allocated;
  if (__builtin_add_overflow(next.memory_mib, add.memory_mib, &next.memory_mib) ||
      __builtin_add_overflow(next.cpu_millis, add.cpu_millis, &next.cpu_millis) ||
      __builtin_add_overflow(next.workspaces, add.workspaces, &next.workspaces)) {
    return make_error(Code::kInvalidArgument,
                      "allocation of region " + std::string(id) + " would overflow");
  }
  pick_.leave(*i, views_[*i]);
  views_[*i].allocated = next;
  pick_.join(*i, views_[*i]);
  return ok();
}

Status CapacityIndex::release(std::string_view id, const Resources& r) {
  const auto i = index_of(id);
  if (!i) return not_found(id);
  const Quantities sub = Quantities::of(r);
  if (!non_negative(sub)) return make_error(Code::kInvalidArgument, "negative resources");
  const Quantities cur = views_[*i].allocated;
  if (sub.memory_mib > cur.memory_mib || sub.cpu_millis > cur.cpu_millis ||
      sub.workspaces > cur.workspaces) {
    return make_error(Code::kInternal,
                      "release below zero in region " + std::string(id) + ": index out of sync");
  }
  pick_.leave(*i, views_[*i]);
  views_[*i].allocated =
      Quantities{cur.memory_mib - sub.memory_mib, cur.cpu_millis - sub.cpu_millis,
                 cur.workspaces - sub.workspaces};
  pick_.join(*i, views_[*i]);
  return ok();
}

std::span<const RegionView> CapacityIndex::views(SysTime now, std::int64_t heartbeat_timeout_s) {
  for (std::size_t i = 0; i < views_.size(); ++i) {
    views_[i].health = evaluate_health(heartbeats_[i], now, heartbeat_timeout_s);
  }
  return views_;
}

const RegionView* CapacityIndex::find(std::string_view id) const {
  const auto i = index_of(id);
  return i ? &views_[*i] : nullptr;
}

std::optional<SysTime> CapacityIndex::last_heartbeat(std::string_view id) const {
  const auto i = index_of(id);
  return i ? heartbeats_[*i] : std::nullopt;
}

}  // namespace fc::scheduler

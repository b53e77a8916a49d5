// The workspace view (Service::workspace_view) and the lifecycle events of
// workspaces and regions (docs/events.md), appended inside the transaction of
// the change: workspace.created/.placed/.running/.migrated/.deleted,
// region.healthy/.unhealthy.
#include "events/events.hpp"
#include "scheduler/detail/impl.hpp"
#include "scheduler/detail/log.hpp"

namespace fc::scheduler {

using nlohmann::json;

json Service::base_view(const Workspace& w) const {
  json j = {
      {"id", w.id},
      {"name", w.name},
      {"hostname", hostname_of(w)},
      {"region", w.region},
      {"state", w.state},
      {"generation", w.generation},
      {"observed",
       {{"generation", w.observed_generation},
        {"phase", w.observed_phase},
        {"message", w.observed_message},
        {"since", w.observed_since > 0 ? json(format_rfc3339(w.observed_since)) : json(nullptr)}}},
      {"resources",
       {{"memory_mib", w.resources.memory_mib}, {"cpu_millis", w.resources.cpu_millis}}},
      {"placement", placement_json(w.placement)},
      {"spec", w.spec},
      {"dns",
       {{"published", w.dns_region.has_value()},
        {"region", w.dns_region ? json(*w.dns_region) : json(nullptr)}}},
      {"suspended", w.suspended},
      {"tenant", nullptr},
      {"plan", nullptr},
      {"created_at", format_rfc3339(w.created_at)},
      {"updated_at", format_rfc3339(w.updated_at)}};
  if (w.target_region) j["target_region"] = *w.target_region;
  return j;
}

Result<json> Service::workspace_view(storage::Conn& c, const Workspace& w) const {
  json j = base_view(w);
  for (const auto& [name, d] : view_decorators_) {
    BOOST_OUTCOME_TRY(d(c, w, j));
  }
  return j;
}

Status Service::Impl::emit(storage::Conn& c, const std::string& type, const Workspace& w,
                           const json& extra) {
  BOOST_OUTCOME_TRY(view, svc.workspace_view(c, w));
  for (const auto& [k, v] : extra.items()) view[k] = v;
  return emit_view(c, type, w, view.dump(-1, ' ', false, json::error_handler_t::replace));
}

Status Service::Impl::emit_view(storage::Conn& c, const std::string& type, const Workspace& w,
                                const std::string& view_json) {
  return events::append(c, {type, w.id, w.id, view_json}, now());
}

// Health is evaluated at read time (docs/scheduler.md); this turns its
// transitions into events. The state last announced per region is the newest
// region.* event about it, read once per region, so a restart announces
// nothing twice. A region that never heartbeated is "unknown": its first
// healthy heartbeat is announced as region.healthy.
awaitable<void> Service::Impl::emit_health_transitions() {
  std::vector<std::pair<std::string, Health>> changed;
  for (const auto& v : views()) {
    if (v.health.health == Health::kUnknown) continue;
    auto seen = health_announced.find(v.id);
    if (seen == health_announced.end()) {
      auto last = events::last_about(db.read(), v.id, "region.*");
      if (!last) continue;
      Health h = !last.value()                            ? Health::kUnknown
                 : last.value()->type == "region.healthy" ? Health::kHealthy
                                                          : Health::kUnhealthy;
      seen = health_announced.emplace(v.id, h).first;
    }
    if (seen->second != v.health.health) changed.emplace_back(v.id, v.health.health);
  }
  if (changed.empty()) co_return;
  const std::int64_t at = now();
  // Built here, on the I/O thread: the write fn runs on the writer thread,
  // which must not read the in-memory index.
  std::vector<events::NewEvent> evs;
  for (const auto& [id, h] : changed) {
    bool healthy = h == Health::kHealthy;
    json data = {{"id", id}, {"health", healthy ? "healthy" : "unhealthy"}};
    auto hb = index.last_heartbeat(id);
    data["last_heartbeat"] = hb ? json(format_rfc3339(*hb)) : json(nullptr);
    evs.push_back({healthy ? "region.healthy" : "region.unhealthy", "", id, data.dump()});
  }
  auto st = co_await db.write([&](storage::Conn& c) -> Status {
    for (const auto& e : evs) {
      BOOST_OUTCOME_TRY(events::append(c, e, at));
    }
    return ok();
  });
  if (!st) {
    detail::logger()->warn("region health events failed regions={} reason={}", changed.size(),
                           st.error().detail);
    co_return;
  }
  for (const auto& [id, h] : changed) {
    health_announced[id] = h;
    detail::logger()->info("region {} id={}", h == Health::kHealthy ? "healthy" : "unhealthy", id);
  }
}

}  // namespace fc::scheduler

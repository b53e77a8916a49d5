// The events of tenants/ (tenants/detail/events.hpp), appended through the
// outbox (events::append, docs/events.md) inside the caller's transaction.
#include "tenants/detail/events.hpp"

#include <map>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "events/events.hpp"
#include "tenants/detail/store.hpp"
#include "tenants/service.hpp"

namespace fc::tenants {

using nlohmann::json;

namespace {

// The workspace as the events carry it: what billing needs of the API's view.
json workspace_view(const scheduler::Workspace& w, const Tenancy& t) {
  return {{"id", w.id},
          {"name", w.name},
          {"region", w.region},
          {"state", w.state},
          {"generation", w.generation},
          {"suspended", w.suspended},
          {"resources",
           {{"memory_mib", w.resources.memory_mib}, {"cpu_millis", w.resources.cpu_millis}}},
          {"tenant", t.tenant_id.empty() ? json(nullptr) : json(t.tenant_id)},
          {"plan", t.plan.empty() ? json(nullptr) : json(t.plan)},
          {"updated_at", format_rfc3339(w.updated_at)}};
}

}  // namespace

Status append_event(storage::Conn& c, const std::string& type, const scheduler::Workspace& w,
                    const Tenancy& t, std::int64_t now_ms) {
  return events::append(c, {type, w.id, w.id, workspace_view(w, t).dump()}, now_ms);
}

// One usage.hourly per tenant with usage in the hour (workspaces without a
// tenant under subject ""), each listing that hour's rows; once per hour.
Status append_hourly(storage::Conn& c, std::int64_t hour_start_s, std::int64_t now_ms) {
  BOOST_OUTCOME_TRY(fresh, store::mark_hour_reported(c, hour_start_s));
  if (!fresh) return ok();
  BOOST_OUTCOME_TRY(ivs, store::intervals(c, "", hour_start_s, hour_start_s + kHour));
  std::map<std::string, json> by_tenant;
  for (const auto& r : aggregate(ivs, hour_start_s, hour_start_s + kHour, kHour)) {
    json& items = by_tenant[r.key.tenant_id];
    if (items.is_null()) items = json::array();
    items.push_back(
        {{"workspace_id", r.key.workspace_id},
         {"plan", r.key.plan.empty() ? json(nullptr) : json(r.key.plan)},
         {"state", r.key.state},
         {"resources", {{"memory_mib", r.key.memory_mib}, {"cpu_millis", r.key.cpu_millis}}},
         {"seconds", r.seconds}});
  }
  const std::string hour = format_rfc3339(hour_start_s * 1000);
  for (auto& [tenant, items] : by_tenant) {
    json data = {{"tenant", tenant.empty() ? json(nullptr) : json(tenant)},
                 {"hour", hour},
                 {"items", std::move(items)}};
    BOOST_OUTCOME_TRY(events::append(c, {"usage.hourly", "", tenant, data.dump()}, now_ms));
  }
  return ok();
}

}  // namespace fc::tenants

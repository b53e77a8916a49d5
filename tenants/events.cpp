// The events of tenants/ (tenants/detail/events.hpp), appended through the
// outbox (events::append, docs/events.md) inside the caller's transaction.
#include "tenants/detail/events.hpp"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "events/events.hpp"
#include "tenants/detail/store.hpp"
#include "tenants/service.hpp"

namespace fc::tenants {

using nlohmann::json;

namespace {

void view_tenancy(const store::TenancyRow* t, json& view) {
  view["tenant"] = t && !t->tenant_id.empty() ? json(t->tenant_id) : json(nullptr);
  view["plan"] = t && !t->plan.empty() ? json(t->plan) : json(nullptr);
  if (t && t->trial_ends_at > 0) view["trial_ends_at"] = format_rfc3339(t->trial_ends_at);
}

}  // namespace

Status decorate_view(storage::Conn& c, std::span<const scheduler::Workspace> ws,
                     std::span<json> views) {
  if (ws.size() == 1) {  // an event's view, or GET of one workspace: by primary key
    BOOST_OUTCOME_TRY(t, store::find_tenancy(c, ws[0].id));
    view_tenancy(t ? &*t : nullptr, views[0]);
    return ok();
  }
  BOOST_OUTCOME_TRY(rows, store::find_tenancies(c, scheduler::Service::ids_of(ws)));
  const auto of = scheduler::Service::rows_of(ws, rows);
  for (std::size_t i = 0; i < ws.size(); ++i) view_tenancy(of[i], views[i]);
  return ok();
}

void Service::created_view(const Tenancy& t, scheduler::CreatedView& view) {
  // What the decorator reads back after on_created: a row only with a
  // tenant or a plan, the same fields either way.
  const store::TenancyRow row{"", t.tenant_id, t.plan, t.trial_ends_at};
  view_tenancy(&row, view.fields);
  view.covered.emplace_back(kViewDecorator);
}

Status append_event(storage::Conn& c, const scheduler::Service& sched, const std::string& type,
                    const scheduler::Workspace& w, std::int64_t now_ms) {
  BOOST_OUTCOME_TRY(view, sched.workspace_view(c, w));
  return events::append(c, {type, w.id, w.id, view.dump()}, now_ms);
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

Status append_hourly_until(storage::Conn& c, std::int64_t hour_s, std::int64_t now_ms) {
  BOOST_OUTCOME_TRY(last, store::last_reported_hour(c));
  std::int64_t from = hour_s - kHour;
  if (last && *last < from) from = std::max(*last + kHour, hour_s - kHourlyCatchUp * kHour);
  for (std::int64_t h = from; h < hour_s; h += kHour) {
    BOOST_OUTCOME_TRY(append_hourly(c, h, now_ms));
  }
  return ok();
}

}  // namespace fc::tenants

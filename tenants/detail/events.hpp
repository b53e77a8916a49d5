// Where the lifecycle events of this component are appended (issue #12 §3):
// workspace.plan_changed, .suspended, .resumed and usage.hourly, each inside
// the transaction of the change, through the outbox (events::append).
#pragma once
#include <cstdint>
#include <string>

#include "scheduler/service.hpp"
#include "storage/db.hpp"

namespace fc::tenants {

struct Tenancy;

// One workspace event (type: workspace.plan_changed | .suspended | .resumed |
// .trial_ended) carrying the workspace's view (scheduler::Service::workspace_view,
// read from `c`: the tenancy as this transaction leaves it).
Status append_event(storage::Conn& c, const scheduler::Service& sched, const std::string& type,
                    const scheduler::Workspace& w, std::int64_t now_ms);
// The name the decorator below is registered under (Service's constructor,
// Service::created_view).
inline constexpr const char* kViewDecorator = "tenants";
// The tenancy fields of a workspace's view (the decorator tenants/ registers):
// tenant, plan (null when none) and trial_ends_at (only with a trial).
Status decorate_view(storage::Conn& c, std::span<const scheduler::Workspace> ws,
                     std::span<nlohmann::json> views);
// usage.hourly for the hour that starts at hour_start_s (just closed): one
// event per tenant, once per hour (usage_hours_reported).
Status append_hourly(storage::Conn& c, std::int64_t hour_start_s, std::int64_t now_ms);
// usage.hourly for every hour not reported yet that ended by `hour_s` (the
// start of the current hour): the hour just closed, and after a daemon was
// down, each hour it missed, oldest first (at most kHourlyCatchUp of them;
// before the first report, only the hour just closed).
inline constexpr std::int64_t kHourlyCatchUp = 7 * 24;
Status append_hourly_until(storage::Conn& c, std::int64_t hour_s, std::int64_t now_ms);

}  // namespace fc::tenants

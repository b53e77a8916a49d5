// Tenants, plan changes and suspend/resume (tenants/service.hpp).
#include "tenants/service.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "tenants/detail/events.hpp"
#include "tenants/detail/store.hpp"

namespace fc::tenants {

namespace sch = fc::scheduler;

Service::Service(storage::Database& db, const Clock& clock, sch::Service& sched, Plans plans)
    : db_(db), clock_(clock), sched_(sched), plans_(std::move(plans)) {
  sched_.set_view_decorator(kViewDecorator, decorate_view);
}

Service::~Service() = default;

namespace {

Tenant to_tenant(const store::TenantRow& r) { return {r.id, r.name, r.created_at}; }

Tenancy to_tenancy(const std::optional<store::TenancyRow>& r) {
  if (!r) return {};
  return {r->tenant_id, r->plan, r->trial_ends_at};
}

bool valid_tenant_name(const std::string& n) {
  if (n.empty() || n.size() > 63) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace

awaitable<Result<Tenant>> Service::create_tenant(std::string name) {
  if (!valid_tenant_name(name))
    co_return make_error(Code::kInvalidArgument, "name must be 1-63 of a-z, 0-9 and -");
  store::TenantRow row{ids_.next("ten_", clock_.now_ms()), name, clock_.now_ms()};
  auto st = co_await db_.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(existing, store::find_tenant(c, row.name));
    if (existing) return make_error(Errc::kTenantExists, "a tenant named " + name + " exists");
    return store::insert_tenant(c, row);
  });
  if (!st) co_return st.error();
  spdlog::info("tenant created id={} name={}", row.id, row.name);
  co_return to_tenant(row);
}

Result<std::optional<Tenant>> find_tenant(storage::Conn& c, const std::string& id_or_name) {
  BOOST_OUTCOME_TRY(row, store::find_tenant(c, id_or_name));
  if (!row) return std::optional<Tenant>();
  return std::optional<Tenant>(Tenant{row->id, row->name, row->created_at});
}

Result<std::map<std::string, Tenancy>> all_tenancies(storage::Conn& c) {
  BOOST_OUTCOME_TRY(rows, store::all_tenancy(c));
  std::map<std::string, Tenancy> out;
  for (const auto& r : rows) out.emplace(r.workspace_id, to_tenancy(r));
  return out;
}

Result<Tenant> Service::get_tenant(const std::string& id_or_name) {
  BOOST_OUTCOME_TRY(row, store::find_tenant(db_.read(), id_or_name));
  if (!row) return make_error(Code::kNotFound, "no tenant " + id_or_name);
  return to_tenant(*row);
}

Result<std::vector<Tenant>> Service::list_tenants(int limit, const std::string& after) {
  BOOST_OUTCOME_TRY(rows, store::list_tenants(db_.read(), limit, after));
  std::vector<Tenant> out;
  for (const auto& r : rows) out.push_back(to_tenant(r));
  return out;
}

Result<std::vector<std::string>> Service::workspaces_of(const std::string& tenant_id) {
  return store::tenant_workspaces(db_.read(), tenant_id);
}

Result<std::optional<Tenancy>> Service::tenancy(const std::string& workspace_id) {
  BOOST_OUTCOME_TRY(row, store::find_tenancy(db_.read(), workspace_id));
  if (!row) return std::optional<Tenancy>();
  return std::optional<Tenancy>(to_tenancy(row));
}

// The plan sets the resources; its allowed regions narrow the request's own
// list (placement's "allowed list" filter does the rest).
Status Service::apply_plan(const std::string& plan, sch::WorkspaceRequest& req) const {
  auto it = plans_.find(plan);
  if (it == plans_.end()) return make_error(Errc::kUnknownPlan, "no plan " + plan);
  const Plan& p = it->second;
  req.resources = p.resources;
  if (p.allowed_regions.empty()) return ok();
  auto& regions = req.placement.regions;
  if (regions.empty()) {
    regions = p.allowed_regions;
    return ok();
  }
  std::vector<std::string> both;
  for (const auto& r : regions)
    if (std::find(p.allowed_regions.begin(), p.allowed_regions.end(), r) != p.allowed_regions.end())
      both.push_back(r);
  if (both.empty())
    return make_error(Errc::kRegionNotAllowed,
                      "allowed_regions of plan " + plan + " include none of these regions");
  regions = std::move(both);
  return ok();
}

Status Service::on_created(storage::Conn& c, const sch::Workspace& w, const std::string& tenant_id,
                           const std::string& plan, Tenancy* out) {
  Tenancy t{tenant_id, plan, 0};
  const Plan* p = nullptr;
  if (!plan.empty()) {
    auto it = plans_.find(plan);
    if (it == plans_.end()) return make_error(Errc::kUnknownPlan, "no plan " + plan);
    p = &it->second;
    if (p->trial_days) t.trial_ends_at = w.created_at + *p->trial_days * kDay * 1000;
  }
  if (!tenant_id.empty()) {
    BOOST_OUTCOME_TRY(found, store::find_tenant(c, tenant_id));
    if (!found) return make_error(Errc::kUnknownTenant, "no tenant " + tenant_id);
    t.tenant_id = found->id;
    BOOST_OUTCOME_TRY(n, store::count_workspaces(c, t.tenant_id));
    if (p && p->max_workspaces && n >= *p->max_workspaces)
      return make_error(Errc::kWorkspaceQuota,
                        "max_workspaces " + std::to_string(*p->max_workspaces) + " of plan " +
                            plan + " reached: tenant has " + std::to_string(n) + " workspaces");
  }
  if (!t.tenant_id.empty() || !t.plan.empty()) {
    BOOST_OUTCOME_TRY(store::put_tenancy(c, {w.id, t.tenant_id, t.plan, t.trial_ends_at}));
  }
  if (out) *out = t;
  // meter() without its read: a workspace created in this transaction has no
  // open interval yet (ids are never reused).
  return store::put_open(c, store::OpenRow{usage_key(w, t), now_s()});
}

Status Service::check_plan_quotas(storage::Conn& c, const sch::Workspace& w, const Plan& p,
                                  const std::string& tenant_id) const {
  if (p.max_custom_domains && domains_in_use_) {
    BOOST_OUTCOME_TRY(n, domains_in_use_(c, w.id));
    if (n > *p.max_custom_domains)
      return make_error(Errc::kPlanQuota, "max_custom_domains " +
                                              std::to_string(*p.max_custom_domains) + " < " +
                                              std::to_string(n) + " domains in use");
  }
  if (p.max_workspaces && !tenant_id.empty()) {
    BOOST_OUTCOME_TRY(n, store::count_workspaces(c, tenant_id));
    if (n > *p.max_workspaces)
      return make_error(Errc::kPlanQuota, "max_workspaces " + std::to_string(*p.max_workspaces) +
                                              " < " + std::to_string(n) +
                                              " workspaces of the tenant");
  }
  if (!p.allowed_regions.empty() && std::find(p.allowed_regions.begin(), p.allowed_regions.end(),
                                              w.region) == p.allowed_regions.end())
    return make_error(Errc::kPlanQuota,
                      "allowed_regions do not include the workspace's region " + w.region);
  return ok();
}

awaitable<Result<sch::Workspace>> Service::patch(std::string id,
                                                 std::optional<sch::Resources> resources,
                                                 std::optional<nlohmann::json> spec,
                                                 std::optional<std::string> plan,
                                                 sch::PatchHook extra) {
  const Plan* p = nullptr;
  if (plan) {
    auto it = plans_.find(*plan);
    if (it == plans_.end()) co_return make_error(Errc::kUnknownPlan, "no plan " + *plan);
    p = &it->second;
    resources = p->resources;  // a plan change takes the plan's resources
  }
  std::string old_plan;
  auto hook = [&](storage::Conn& c, const sch::Workspace& w) -> Status {
    BOOST_OUTCOME_TRY(row, store::find_tenancy(c, w.id));
    Tenancy t = to_tenancy(row);
    old_plan = t.plan;
    if (p) {
      BOOST_OUTCOME_TRY(check_plan_quotas(c, w, *p, t.tenant_id));
      t.plan = p->name;
      BOOST_OUTCOME_TRY(store::put_tenancy(c, {w.id, t.tenant_id, t.plan, t.trial_ends_at}));
      if (old_plan != t.plan) {
        BOOST_OUTCOME_TRY(append_event(c, sched_, "workspace.plan_changed", w, clock_.now_ms()));
      }
    }
    BOOST_OUTCOME_TRY(meter(c, w.id, usage_key(w, t), now_s()));
    return extra ? extra(c, w) : ok();
  };
  auto w = co_await sched_.patch_workspace(std::move(id), resources, std::move(spec), hook);
  if (w && plan && old_plan != *plan)
    spdlog::info("workspace plan changed id={} from={} to={}", w.value().id, old_plan, *plan);
  co_return w;
}

awaitable<Result<sch::Workspace>> Service::set_suspended(std::string id, bool suspended) {
  auto hook = [&](storage::Conn& c, const sch::Workspace& w) -> Status {
    BOOST_OUTCOME_TRY(row, store::find_tenancy(c, w.id));
    const Tenancy t = to_tenancy(row);
    BOOST_OUTCOME_TRY(append_event(
        c, sched_, suspended ? "workspace.suspended" : "workspace.resumed", w, clock_.now_ms()));
    return meter(c, w.id, usage_key(w, t), now_s());
  };
  auto w = co_await sched_.set_suspended(std::move(id), suspended, hook);
  if (w)
    spdlog::info("workspace {} id={} generation={}", suspended ? "suspended" : "resumed",
                 w.value().id, w.value().generation);
  co_return w;
}

Result<std::optional<std::int64_t>> Service::domain_limit(storage::Conn& c,
                                                          const std::string& ws) const {
  BOOST_OUTCOME_TRY(row, store::find_tenancy(c, ws));
  if (!row || row->plan.empty()) return std::optional<std::int64_t>();
  auto it = plans_.find(row->plan);
  if (it == plans_.end()) return std::optional<std::int64_t>();
  return it->second.max_custom_domains;
}

Result<std::vector<UsageRow>> Service::usage_report(const std::string& tenant_id,
                                                    std::int64_t from_s, std::int64_t to_s,
                                                    std::int64_t granularity_s) {
  return usage(db_.read(), tenant_id, from_s, to_s, granularity_s, now_s());
}

awaitable<void> Service::tick() {
  const std::int64_t now = now_s();
  const std::int64_t h = hour_floor(now);
  co_await end_trials();
  if (h <= rolled_hour_) co_return;  // also a clock that went back: nothing to close
  std::int64_t written = 0;
  auto st = co_await db_.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(n, roll_hours(c, now));
    written = n;
    return append_hourly_until(c, h, clock_.now_ms());
  });
  if (!st) {
    spdlog::warn("usage hour close failed reason={}", st.error().detail);
    co_return;
  }
  rolled_hour_ = h;
  if (written > 0) spdlog::info("usage hour closed hour={} intervals={}", h, written);
}

awaitable<std::int64_t> Service::end_trials() {
  constexpr int kBatch = 100;
  auto due = store::trials_due(db_.read(), clock_.now_ms(), kBatch);
  if (!due) {
    spdlog::warn("trial end check failed reason={}", due.error().detail);
    co_return 0;
  }
  std::int64_t ended = 0;
  for (const auto& id : due.value()) {
    auto row = store::find_tenancy(db_.read(), id);
    if (!row || !row.value()) continue;
    const auto plan = plans_.find(row.value()->plan);
    const bool suspend = plan != plans_.end() && plan->second.suspend_after_trial;
    bool fresh = false;
    // The mark and the event, in the transaction of the suspension when there is one.
    auto end = [&](storage::Conn& c, const sch::Workspace& w) -> Status {
      BOOST_OUTCOME_TRY(first, store::mark_trial_ended(c, w.id));
      fresh = first;
      if (!first) return ok();
      return append_event(c, sched_, "workspace.trial_ended", w, clock_.now_ms());
    };
    auto w = sched_.get_workspace(id);
    if (!w) continue;
    if (suspend && !w.value().suspended) {
      auto hook = [&](storage::Conn& c, const sch::Workspace& nw) -> Status {
        BOOST_OUTCOME_TRY(end(c, nw));
        if (!fresh) return make_error(Code::kConflict, "trial already ended");  // roll back
        BOOST_OUTCOME_TRY(append_event(c, sched_, "workspace.suspended", nw, clock_.now_ms()));
        BOOST_OUTCOME_TRY(t, store::find_tenancy(c, nw.id));
        return meter(c, nw.id, usage_key(nw, to_tenancy(t)), now_s());
      };
      auto s = co_await sched_.set_suspended(id, true, hook);
      if (s) {
        ++ended;
        spdlog::info("workspace trial ended id={} plan={} suspended=true", id, row.value()->plan);
        continue;
      }
      // Not suspendable now (busy, being deleted…): the trial still ends.
      spdlog::warn("trial end could not suspend id={} reason={}", id, s.error().detail);
    }
    auto st = co_await db_.write([&](storage::Conn& c) { return end(c, w.value()); });
    if (!st) {
      spdlog::warn("trial end failed id={} reason={}", id, st.error().detail);
      continue;
    }
    if (fresh) {
      ++ended;
      spdlog::info("workspace trial ended id={} plan={} suspended={}", id, row.value()->plan,
                   w.value().suspended);
    }
  }
  co_return ended;
}

namespace {

class MeterListener final : public sch::ScopeListener {
 public:
  explicit MeterListener(const Clock& clock) : clock_(clock) {}
  Status removing(storage::Conn& c, const std::string& /*region*/,
                  const std::string& workspace_id) override {
    if (workspace_id.empty()) return ok();
    BOOST_OUTCOME_TRY(meter(c, workspace_id, std::nullopt, clock_.now_ms() / 1000));
    return store::delete_tenancy(c, workspace_id);
  }
  void removed(const std::string&, const std::string&) override {}

 private:
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<sch::ScopeListener> Service::scope_listener() {
  return std::make_unique<MeterListener>(clock_);
}

}  // namespace fc::tenants

// Tenants, plans and quotas, suspend/resume and usage metering
// (docs/tenants.md). Knows scheduler and storage; api serves it, app wires it.
//
//   create ─ apply_plan (resources, allowed regions) ─ scheduler ─ on_created (in the tx:
//            tenant exists, max_workspaces, tenancy row, usage opens)
//   PATCH plan / suspend / resume ─ scheduler (new generation) ─ hook in the tx: quotas,
//            tenancy, usage interval closed and the next one opened
//   tick ─ every hour boundary closes every open interval (usage.hpp)
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/asio.hpp"
#include "common/clock.hpp"
#include "common/ids.hpp"
#include "common/result.hpp"
#include "scheduler/service.hpp"
#include "storage/db.hpp"
#include "tenants/detail/errc.hpp"
#include "tenants/usage.hpp"

namespace fc::tenants {

// One entry of the `plans` configuration (docs/configuration.md).
struct Plan {
  std::string name;
  scheduler::Resources resources;
  std::optional<std::int64_t> max_workspaces;  // per tenant; empty = no limit
  std::optional<std::int64_t>
      max_custom_domains;                    // per workspace; empty = domains.max_per_workspace
  std::vector<std::string> allowed_regions;  // empty = any region
  std::optional<std::int64_t> trial_days;
  bool suspend_after_trial = false;  // at the trial's end, besides workspace.trial_ended
};
using Plans = std::map<std::string, Plan>;

// From the validated configuration value (config checks its shape).
Plans parse_plans(const nlohmann::json& j);
nlohmann::json plan_json(const Plan& p);

struct Tenant {
  std::string id;
  std::string name;
  std::int64_t created_at = 0;
};

// Who owns a workspace and on which plan.
struct Tenancy {
  std::string tenant_id;           // "" = none
  std::string plan;                // "" = none
  std::int64_t trial_ends_at = 0;  // unix ms; 0 = no trial
};

// Rollout selectors (releases/, docs/releases.md): the tenant named by id or
// name, and the tenancy of every workspace that has a row (workspace id →
// tenancy), read on the caller's connection.
Result<std::optional<Tenant>> find_tenant(storage::Conn& c, const std::string& id_or_name);
Result<std::map<std::string, Tenancy>> all_tenancies(storage::Conn& c);

// The usage key of a workspace as it is now.
UsageKey usage_key(const scheduler::Workspace& w, const Tenancy& t);

// The meter, on the caller's transaction (usage.hpp has the rules):
// closes the workspace's open interval at close_at(now_s, since), cut at hour
// boundaries, and opens `next` there (none: the workspace is gone).
Status meter(storage::Conn& c, const std::string& workspace_id, const std::optional<UsageKey>& next,
             std::int64_t now_s);
// Closes every open interval that started before the hour of `now_s` at that
// hour's start (restart catch-up included). Returns the intervals written.
Result<std::int64_t> roll_hours(storage::Conn& c, std::int64_t now_s);
// GET /v1/usage: closed intervals plus the open ones up to now_s.
Result<std::vector<UsageRow>> usage(storage::Conn& c, const std::string& tenant_id,
                                    std::int64_t from_s, std::int64_t to_s,
                                    std::int64_t granularity_s, std::int64_t now_s);

class Service {
 public:
  Service(storage::Database& db, const Clock& clock, scheduler::Service& sched, Plans plans);
  ~Service();

  const Plans& plans() const { return plans_; }
  // The custom domains a workspace holds (domains::Service::in_use; app wires it).
  void set_domains_in_use(
      std::function<Result<std::int64_t>(storage::Conn&, const std::string&)> f) {
    domains_in_use_ = std::move(f);
  }

  awaitable<Result<Tenant>> create_tenant(std::string name);
  Result<Tenant> get_tenant(const std::string& id_or_name);
  Result<std::vector<Tenant>> list_tenants(int limit, const std::string& after);
  // Every workspace id of a tenant.
  Result<std::vector<std::string>> workspaces_of(const std::string& tenant_id);
  // On the read connection; empty when the workspace has no tenancy row.
  Result<std::optional<Tenancy>> tenancy(const std::string& workspace_id);

  // Create: the plan's resources and allowed regions replace/narrow the
  // request (kUnknownPlan, kRegionNotAllowed).
  Status apply_plan(const std::string& plan, scheduler::WorkspaceRequest& req) const;
  // Inside the create transaction: the tenant exists, its max_workspaces
  // holds (counted in the transaction, so concurrent creates cannot pass it
  // together), the tenancy row, the first usage interval.
  // `out` gets the tenancy as recorded (the tenant's id, also when it was
  // named). Runs on the writer thread: only `c`, never the read connection.
  Status on_created(storage::Conn& c, const scheduler::Workspace& w, const std::string& tenant_id,
                    const std::string& plan, Tenancy* out = nullptr);
  // The view's tenancy fields from what on_created recorded (`out`), byte
  // for byte what the view decorator would read back: the create's view
  // needs no read (scheduler::CreatedView).
  static void created_view(const Tenancy& t, scheduler::CreatedView& view);
  // PATCH /v1/workspaces/{id}: resources/spec as before, `plan` re-checks
  // capacity (scheduler: kDoesNotFit → 409) and quotas (kPlanQuota → 422).
  awaitable<Result<scheduler::Workspace>> patch(std::string id,
                                                std::optional<scheduler::Resources> resources,
                                                std::optional<nlohmann::json> spec,
                                                std::optional<std::string> plan,
                                                scheduler::PatchHook extra = {});
  awaitable<Result<scheduler::Workspace>> set_suspended(std::string id, bool suspended);
  // The plan limit domains checks when a domain is claimed (in its transaction).
  Result<std::optional<std::int64_t>> domain_limit(storage::Conn& c, const std::string& ws) const;

  Result<std::vector<UsageRow>> usage_report(const std::string& tenant_id, std::int64_t from_s,
                                             std::int64_t to_s, std::int64_t granularity_s);
  // Closes the intervals at each hour boundary (once per hour; the first call
  // catches up after a restart), then ends the trials that are due.
  awaitable<void> tick();
  // Every workspace whose trial_ends_at has passed: workspace.trial_ended
  // once (migration 0019's trial_ended), and suspended in the same
  // transaction when its plan has suspend_after_trial. Returns how many ended.
  awaitable<std::int64_t> end_trials();
  // Tells the meter and drops the tenancy when the scheduler deletes a workspace.
  std::unique_ptr<scheduler::ScopeListener> scope_listener();

 private:
  Status check_plan_quotas(storage::Conn& c, const scheduler::Workspace& w, const Plan& p,
                           const std::string& tenant_id) const;
  std::int64_t now_s() const { return clock_.now_ms() / 1000; }

  storage::Database& db_;
  const Clock& clock_;
  scheduler::Service& sched_;
  Plans plans_;
  IdGenerator ids_;
  std::function<Result<std::int64_t>(storage::Conn&, const std::string&)> domains_in_use_;
  std::int64_t rolled_hour_ = -1;  // hour_floor of the last roll_hours
};

}  // namespace fc::tenants

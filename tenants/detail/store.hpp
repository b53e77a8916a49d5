// SQL of the tenants component (migrations/0016_tenants.sql): tenants,
// workspace tenancy and the usage meter's rows. Plain records, no policy.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "storage/db.hpp"
#include "tenants/usage.hpp"

namespace fc::tenants::store {

struct TenantRow {
  std::string id;
  std::string name;
  std::int64_t created_at = 0;
};

struct TenancyRow {
  std::string workspace_id;
  std::string tenant_id;
  std::string plan;
  std::int64_t trial_ends_at = 0;
};

struct OpenRow {
  UsageKey key;
  std::int64_t since_s = 0;
};

Status insert_tenant(storage::Conn& c, const TenantRow& t);
Result<std::optional<TenantRow>> find_tenant(storage::Conn& c, const std::string& id_or_name);
Result<std::vector<TenantRow>> list_tenants(storage::Conn& c, int limit, const std::string& after);

Status put_tenancy(storage::Conn& c, const TenancyRow& t);
Result<std::optional<TenancyRow>> find_tenancy(storage::Conn& c, const std::string& workspace_id);
// The tenancy rows of these workspaces (any order; none for a workspace
// without one): one statement for a page of views.
Result<std::vector<TenancyRow>> find_tenancies(storage::Conn& c,
                                               const std::vector<std::string>& workspace_ids);
Status delete_tenancy(storage::Conn& c, const std::string& workspace_id);
// Workspaces whose trial ended at or before now_ms and was not handled yet,
// the earliest first.
Result<std::vector<std::string>> trials_due(storage::Conn& c, std::int64_t now_ms, int limit);
// Records that the trial's end was handled; false when it already was.
Result<bool> mark_trial_ended(storage::Conn& c, const std::string& workspace_id);
Result<std::int64_t> count_workspaces(storage::Conn& c, const std::string& tenant_id);
Result<std::vector<std::string>> tenant_workspaces(storage::Conn& c, const std::string& tenant_id);
Result<std::vector<TenancyRow>> all_tenancy(storage::Conn& c);

Result<std::optional<OpenRow>> find_open(storage::Conn& c, const std::string& workspace_id);
Status put_open(storage::Conn& c, const OpenRow& o);
Status delete_open(storage::Conn& c, const std::string& workspace_id);
// Open rows whose interval started before `before_s`.
Result<std::vector<OpenRow>> open_before(storage::Conn& c, std::int64_t before_s);
// Open rows of a tenant ("" = every tenant).
Result<std::vector<OpenRow>> open_of(storage::Conn& c, const std::string& tenant_id);
Status insert_interval(storage::Conn& c, const Interval& iv);
// Intervals that overlap [from_s, to_s) of a tenant ("" = every tenant).
Result<std::vector<Interval>> intervals(storage::Conn& c, const std::string& tenant_id,
                                        std::int64_t from_s, std::int64_t to_s);

// Records that the usage.hourly events of the hour were appended; false when
// they already were.
Result<bool> mark_hour_reported(storage::Conn& c, std::int64_t hour_s);
// The latest hour whose usage.hourly events were appended; nullopt before the first.
Result<std::optional<std::int64_t>> last_reported_hour(storage::Conn& c);

}  // namespace fc::tenants::store

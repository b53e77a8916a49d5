#include "tenants/detail/store.hpp"

#include <nlohmann/json.hpp>

#include "storage/deferred.hpp"
#include "storage/json_rows.hpp"

namespace fc::tenants::store {

namespace {

TenantRow tenant_row(storage::Stmt& s) { return {s.col_text(0), s.col_text(1), s.col_int(2)}; }

constexpr const char* kKeyCols = "workspace_id, tenant_id, plan, state, memory_mib, cpu_millis";

UsageKey key_row(storage::Stmt& s) {
  return {s.col_text(0), s.col_text(1), s.col_text(2), s.col_text(3), s.col_int(4), s.col_int(5)};
}

TenancyRow tenancy_row(storage::Stmt& s) {
  return {s.col_text(0), s.col_text(1), s.col_text(2), s.col_int(3)};
}

OpenRow open_row(storage::Stmt& s) { return {key_row(s), s.col_int(6)}; }
Interval interval_row(storage::Stmt& s) { return {key_row(s), s.col_int(6), s.col_int(7)}; }

}  // namespace

Status insert_tenant(storage::Conn& c, const TenantRow& t) {
  BOOST_OUTCOME_TRY(s, c.prepare("INSERT INTO tenants(id, name, created_at) VALUES(?,?,?)"));
  return s.bind_all(t.id, t.name, t.created_at).run();
}

Result<std::optional<TenantRow>> find_tenant(storage::Conn& c, const std::string& id_or_name) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("SELECT id, name, created_at FROM tenants WHERE id = ?1 OR name = ?1"));
  s.bind(1, id_or_name);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<TenantRow>();
  return std::optional<TenantRow>(tenant_row(s));
}

Result<std::vector<TenantRow>> list_tenants(storage::Conn& c, int limit, const std::string& after) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT id, name, created_at FROM tenants WHERE id > ?1"
                                 " ORDER BY id LIMIT ?2"));
  s.bind_all(after, limit);
  return s.collect(tenant_row);
}

Status put_tenancy(storage::Conn& c, const TenancyRow& t) {
  BOOST_OUTCOME_TRY(s, c.prepare("INSERT INTO workspace_tenancy(workspace_id, tenant_id, plan,"
                                 " trial_ends_at) VALUES(?1,?2,?3,?4) ON CONFLICT(workspace_id)"
                                 " DO UPDATE SET tenant_id = excluded.tenant_id,"
                                 " plan = excluded.plan, trial_ends_at = excluded.trial_ends_at"));
  return s.bind_all(t.workspace_id, t.tenant_id, t.plan, t.trial_ends_at).run();
}

Result<std::optional<TenancyRow>> find_tenancy(storage::Conn& c, const std::string& ws) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT workspace_id, tenant_id, plan, trial_ends_at"
                                 " FROM workspace_tenancy WHERE workspace_id = ?"));
  s.bind(1, ws);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<TenancyRow>();
  return std::optional<TenancyRow>(tenancy_row(s));
}

Result<std::vector<TenancyRow>> find_tenancies(storage::Conn& c,
                                               const std::vector<std::string>& ws) {
  // The ids travel as one JSON array parameter (docs/storage.md "Two backends").
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT workspace_id, tenant_id, plan, trial_ends_at"
                                 " FROM workspace_tenancy WHERE workspace_id IN"
                                 " (SELECT value FROM " +
                                 storage::json_rows(c) + "(?1))"));
  s.bind(1, nlohmann::json(ws).dump());
  return s.collect(tenancy_row);
}

Result<std::vector<std::string>> trials_due(storage::Conn& c, std::int64_t now_ms, int limit) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT workspace_id FROM workspace_tenancy WHERE trial_ended = 0"
                                 " AND trial_ends_at > 0 AND trial_ends_at <= ?1"
                                 " ORDER BY trial_ends_at, workspace_id LIMIT ?2"));
  s.bind_all(now_ms, static_cast<std::int64_t>(limit));
  return s.collect([](storage::Stmt& s) { return s.col_text(0); });
}

Result<bool> mark_trial_ended(storage::Conn& c, const std::string& ws) {
  BOOST_OUTCOME_TRY(s, c.prepare("UPDATE workspace_tenancy SET trial_ended = 1"
                                 " WHERE workspace_id = ?1 AND trial_ended = 0"));
  BOOST_OUTCOME_TRY(s.bind(1, ws).run());
  return c.changes() == 1;
}

Status delete_tenancy(storage::Conn& c, const std::string& ws) {
  BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM workspace_tenancy WHERE workspace_id = ?"));
  return s.bind(1, ws).run();
}

Result<std::int64_t> count_workspaces(storage::Conn& c, const std::string& tenant_id) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT count(*) FROM workspace_tenancy WHERE tenant_id = ?"));
  s.bind(1, tenant_id);
  BOOST_OUTCOME_TRY(row, s.step());
  return row ? s.col_int(0) : 0;
}

Result<std::vector<std::string>> tenant_workspaces(storage::Conn& c, const std::string& tenant) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT workspace_id FROM workspace_tenancy WHERE tenant_id = ?"
                                 " ORDER BY workspace_id"));
  s.bind(1, tenant);
  return s.collect([](storage::Stmt& st) { return st.col_text(0); });
}

Result<std::vector<TenancyRow>> all_tenancy(storage::Conn& c) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT workspace_id, tenant_id, plan, trial_ends_at"
                                 " FROM workspace_tenancy ORDER BY workspace_id"));
  return s.collect(tenancy_row);
}

Result<std::optional<OpenRow>> find_open(storage::Conn& c, const std::string& ws) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kKeyCols +
                                 ", since_s FROM usage_open WHERE workspace_id = ?"));
  s.bind(1, ws);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<OpenRow>();
  return std::optional<OpenRow>(open_row(s));
}

namespace {
// A new workspace's open interval is not read back in its create's
// transaction: a set-based create defers it (storage/deferred.hpp).
constexpr storage::SetInsert kOpenRow{
    "usage_open",
    "INSERT INTO usage_open(workspace_id, tenant_id, plan, state, memory_mib, cpu_millis,"
    " since_s)",
    7,
    " ON CONFLICT(workspace_id) DO UPDATE SET tenant_id = excluded.tenant_id,"
    " plan = excluded.plan, state = excluded.state, memory_mib = excluded.memory_mib,"
    " cpu_millis = excluded.cpu_millis, since_s = excluded.since_s",
    "e->>0, e->>1, e->>2, e->>3, (e->>4)::bigint, (e->>5)::bigint, (e->>6)::bigint"};
}  // namespace

Status put_open(storage::Conn& c, const OpenRow& o) {
  const auto& k = o.key;
  return storage::insert_row(c, kOpenRow, k.workspace_id, k.tenant_id, k.plan, k.state,
                             k.memory_mib, k.cpu_millis, o.since_s);
}

Status delete_open(storage::Conn& c, const std::string& ws) {
  BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM usage_open WHERE workspace_id = ?"));
  return s.bind(1, ws).run();
}

Result<std::vector<OpenRow>> open_before(storage::Conn& c, std::int64_t before_s) {
  BOOST_OUTCOME_TRY(s,
                    c.prepare(std::string("SELECT ") + kKeyCols +
                              ", since_s FROM usage_open WHERE since_s < ? ORDER BY workspace_id"));
  s.bind(1, before_s);
  return s.collect(open_row);
}

Result<std::vector<OpenRow>> open_of(storage::Conn& c, const std::string& tenant_id) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kKeyCols +
                                 ", since_s FROM usage_open WHERE tenant_id = ?1 OR ?1 = ''"
                                 " ORDER BY workspace_id"));
  s.bind(1, tenant_id);
  return s.collect(open_row);
}

Status insert_interval(storage::Conn& c, const Interval& iv) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("INSERT INTO usage_intervals(") + kKeyCols +
                                 ", start_s, end_s) VALUES(?,?,?,?,?,?,?,?)"));
  const auto& k = iv.key;
  return s
      .bind_all(k.workspace_id, k.tenant_id, k.plan, k.state, k.memory_mib, k.cpu_millis,
                iv.start_s, iv.end_s)
      .run();
}

Result<std::vector<Interval>> intervals(storage::Conn& c, const std::string& tenant_id,
                                        std::int64_t from_s, std::int64_t to_s) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kKeyCols +
                                 ", start_s, end_s FROM usage_intervals"
                                 " WHERE (tenant_id = ?1 OR ?1 = '') AND start_s < ?3"
                                 " AND end_s > ?2 ORDER BY id"));
  s.bind_all(tenant_id, from_s, to_s);
  return s.collect(interval_row);
}

Result<bool> mark_hour_reported(storage::Conn& c, std::int64_t hour_s) {
  BOOST_OUTCOME_TRY(s, c.prepare("INSERT INTO usage_hours_reported(hour_s) VALUES(?)"
                                 " ON CONFLICT(hour_s) DO NOTHING"));
  BOOST_OUTCOME_TRY(s.bind(1, hour_s).run());
  return c.changes() > 0;
}

Result<std::optional<std::int64_t>> last_reported_hour(storage::Conn& c) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT MAX(hour_s) FROM usage_hours_reported"));
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<std::int64_t>();
  return s.col_opt_int(0);
}

}  // namespace fc::tenants::store

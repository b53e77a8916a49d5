#include "domains/detail/store.hpp"

namespace fc::domains::store {
namespace {

constexpr const char* kCols =
    "id, hostname, workspace_id, status, token, verified_at, routing_type, routing_ok, "
    "routing_found,"
    " challenge, certificate_id, cert_generation, routed, last_error, attempts, last_checked_at, "
    "moved_at,"
    " deleted_at, reserved_until, created_at, updated_at";

Domain row(const storage::Stmt& s) {
  Domain d;
  d.id = s.col_text(0);
  d.hostname = s.col_text(1);
  d.workspace_id = s.col_text(2);
  d.state = parse_state(s.col_text(3)).value_or(State::kFailed);
  d.token = s.col_text(4);
  d.verified_at = s.col_opt_int(5);
  d.routing_type = s.col_text(6);
  d.routing_ok = s.col_int(7) != 0;
  d.routing_found = s.col_text(8);
  d.challenge = s.col_opt_text(9);
  d.certificate_id = s.col_opt_text(10);
  d.cert_generation = s.col_opt_int(11);
  d.routed = s.col_int(12) != 0;
  d.last_error = s.col_opt_text(13);
  d.attempts = s.col_int(14);
  d.last_checked_at = s.col_opt_int(15);
  d.moved_at = s.col_opt_int(16);
  d.deleted_at = s.col_opt_int(17);
  d.reserved_until = s.col_opt_int(18);
  d.created_at = s.col_int(19);
  d.updated_at = s.col_int(20);
  return d;
}

Result<std::vector<Domain>> rows(storage::Stmt& s) { return s.collect(row); }

Result<std::vector<Domain>> query(storage::Conn& c, const std::string& where,
                                  const std::string& arg) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kCols + " FROM domains " + where));
  if (!arg.empty()) s.bind(1, arg);
  return rows(s);
}

template <class Bind>
Status write(storage::Conn& c, const char* sql, const Domain& d, Bind extra) {
  BOOST_OUTCOME_TRY(s, c.prepare(sql));
  s.bind_all(d.id, d.hostname, d.workspace_id, std::string(state_name(d.state)), d.token,
             d.verified_at, d.routing_type, d.routing_ok ? 1 : 0, d.routing_found, d.challenge,
             d.certificate_id, d.cert_generation, d.routed ? 1 : 0, d.last_error, d.attempts,
             d.last_checked_at, d.moved_at, d.deleted_at, d.reserved_until, d.created_at,
             d.updated_at);
  extra(s);
  return s.run();
}

}  // namespace

Status insert(storage::Conn& c, const Domain& d) {
  return write(
      c,
      "INSERT INTO domains(id, hostname, workspace_id, status, token, verified_at, routing_type,"
      " routing_ok, routing_found, challenge, certificate_id, cert_generation, routed, last_error,"
      " attempts, last_checked_at, moved_at, deleted_at, reserved_until, created_at, updated_at)"
      " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21)",
      d, [](storage::Stmt&) {});
}

Status update(storage::Conn& c, const Domain& d) {
  return write(
      c,
      "UPDATE domains SET hostname=?2, workspace_id=?3, status=?4, token=?5, verified_at=?6,"
      " routing_type=?7, routing_ok=?8, routing_found=?9, challenge=?10, certificate_id=?11,"
      " cert_generation=?12, routed=?13, last_error=?14, attempts=?15, last_checked_at=?16,"
      " moved_at=?17, deleted_at=?18, reserved_until=?19, created_at=?20, updated_at=?21 WHERE "
      "id=?1",
      d, [](storage::Stmt&) {});
}

Result<std::optional<Domain>> find_by_id(storage::Conn& c, const std::string& id) {
  BOOST_OUTCOME_TRY(v, query(c, "WHERE id = ?1", id));
  if (v.empty()) return std::optional<Domain>{};
  return std::optional<Domain>(std::move(v.front()));
}

Result<std::vector<Domain>> live_for_host(storage::Conn& c, const std::string& hostname) {
  return query(c, "WHERE hostname = ?1 AND deleted_at IS NULL ORDER BY created_at, id", hostname);
}

Result<std::vector<Domain>> live_for_workspace(storage::Conn& c, const std::string& workspace_id) {
  return query(c, "WHERE workspace_id = ?1 AND deleted_at IS NULL ORDER BY created_at, id",
               workspace_id);
}

Result<std::vector<Domain>> page(storage::Conn& c, const std::string& status,
                                 const std::string& prefix, int limit, const std::string& after) {
  // Only the filters given are in the SQL (PostgreSQL cannot type a parameter
  // that is only compared with another parameter or a literal).
  std::string sql = std::string("SELECT ") + kCols + " FROM domains WHERE deleted_at IS NULL";
  int n = 0;
  const int after_at = ++n;
  sql += " AND id > ?" + std::to_string(after_at);
  const int status_at = status.empty() ? 0 : ++n;
  if (status_at) sql += " AND status = ?" + std::to_string(status_at);
  const int prefix_at = prefix.empty() ? 0 : ++n;
  if (prefix_at)
    sql += " AND substr(hostname, 1, " + std::to_string(prefix.size()) + ") = ?" +
           std::to_string(prefix_at);
  const int limit_at = ++n;
  sql += " ORDER BY id LIMIT ?" + std::to_string(limit_at);
  BOOST_OUTCOME_TRY(s, c.prepare(sql));
  s.bind(after_at, after);
  if (status_at) s.bind(status_at, status);
  if (prefix_at) s.bind(prefix_at, prefix);
  s.bind(limit_at, limit);
  return rows(s);
}

Result<std::vector<Route>> routes_for_workspace(storage::Conn& c, const std::string& workspace_id) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT hostname, routed, certificate_id FROM domains"
                                 " WHERE workspace_id = ?1 AND deleted_at IS NULL"
                                 " ORDER BY created_at, id"));
  s.bind(1, workspace_id);
  return s.collect([](storage::Stmt& s) {
    return Route{s.col_text(0), s.col_int(1) != 0, s.col_opt_text(2)};
  });
}

Result<std::vector<Domain>> reservations(storage::Conn& c, const std::string& hostname,
                                         std::int64_t now) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kCols +
                                 " FROM domains WHERE hostname = ?1 AND deleted_at IS NOT NULL"
                                 " AND reserved_until > ?2 ORDER BY created_at, id"));
  s.bind_all(hostname, now);
  return rows(s);
}

Result<std::vector<Domain>> issuing_with_generation(storage::Conn& c) {
  return query(c,
               "WHERE status = 'issuing' AND deleted_at IS NULL AND cert_generation IS NOT NULL"
               " ORDER BY created_at, id",
               "");
}

Result<std::vector<std::string>> live_workspace_ids(storage::Conn& c) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT DISTINCT workspace_id FROM domains"
                                 " WHERE deleted_at IS NULL ORDER BY workspace_id"));
  return s.collect([](storage::Stmt& s) { return s.col_text(0); });
}

Result<std::vector<std::string>> live_workspace_ids(storage::Conn& c, const std::string& after,
                                                    int limit) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT DISTINCT workspace_id FROM domains"
                                 " WHERE deleted_at IS NULL AND workspace_id > ?1"
                                 " ORDER BY workspace_id LIMIT ?2"));
  s.bind(1, after).bind(2, limit);
  return s.collect([](storage::Stmt& s) { return s.col_text(0); });
}

Result<std::vector<std::pair<std::string, std::string>>> active_hostnames(storage::Conn& c) {
  BOOST_OUTCOME_TRY(s,
                    c.prepare("SELECT hostname, workspace_id FROM domains"
                              " WHERE status = 'active' AND deleted_at IS NULL ORDER BY hostname"));
  std::vector<std::pair<std::string, std::string>> out;
  for (;;) {
    BOOST_OUTCOME_TRY(more, s.step());
    if (!more) return out;
    out.emplace_back(s.col_text(0), s.col_text(1));
  }
}

Result<std::vector<Domain>> with_certificate(storage::Conn& c, const std::string& cert_id) {
  return query(c, "WHERE certificate_id = ?1 AND deleted_at IS NULL", cert_id);
}

Status purge_reservations(storage::Conn& c, std::int64_t now) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("DELETE FROM domains WHERE deleted_at IS NOT NULL AND reserved_until <= ?1"));
  return s.bind(1, now).run();
}

Status check_at(storage::Conn& c, const std::string& id, std::int64_t at) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("UPDATE domains SET next_check_at = ?2 WHERE id = ?1 AND deleted_at IS NULL"));
  return s.bind_all(id, at).run();
}

Status check_by(storage::Conn& c, const std::string& id, std::int64_t at) {
  BOOST_OUTCOME_TRY(
      s,
      c.prepare("UPDATE domains SET next_check_at = CASE WHEN next_check_at < ?2 THEN next_check_at"
                " ELSE ?2 END"
                " WHERE id = ?1 AND deleted_at IS NULL"));
  return s.bind_all(id, at).run();
}

Result<std::vector<std::pair<std::string, std::int64_t>>> earliest(storage::Conn& c, int limit) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("SELECT id, next_check_at FROM domains WHERE deleted_at IS NULL"
                   " AND next_check_at IS NOT NULL ORDER BY next_check_at, id LIMIT ?1"));
  s.bind(1, static_cast<std::int64_t>(limit));
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (;;) {
    BOOST_OUTCOME_TRY(more, s.step());
    if (!more) return out;
    out.emplace_back(s.col_text(0), s.col_int(1));
  }
}

Result<std::vector<std::pair<std::string, std::int64_t>>> pending_due_by(storage::Conn& c,
                                                                         std::int64_t by,
                                                                         std::int64_t checked_by,
                                                                         int limit) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("SELECT id, next_check_at FROM domains WHERE deleted_at IS NULL"
                   " AND next_check_at <= ?1 AND status = 'pending_verification'"
                   " AND coalesce(last_checked_at, 0) <= ?2 ORDER BY next_check_at, id LIMIT ?3"));
  s.bind_all(by, checked_by, static_cast<std::int64_t>(limit));
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (;;) {
    BOOST_OUTCOME_TRY(more, s.step());
    if (!more) return out;
    out.emplace_back(s.col_text(0), s.col_int(1));
  }
}

Result<std::int64_t> due_count(storage::Conn& c, std::int64_t now) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT count(*) FROM domains WHERE deleted_at IS NULL"
                                 " AND next_check_at <= ?1"));
  s.bind(1, now);
  BOOST_OUTCOME_TRY(row, s.step());
  return row ? s.col_int(0) : 0;
}

}  // namespace fc::domains::store

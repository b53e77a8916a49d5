#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "certs/detail/store.hpp"

namespace fc::certs::detail {

namespace {

constexpr const char* kCols =
    "id, names_key, hostnames, workspace_id, challenge, dns01_delegate, status, issuer, "
    "issuer_index,"
    " issuer_failures, failures, version, not_before, not_after, renew_after, next_attempt_at, "
    "last_error,"
    " renew, chain_pem, key_sealed, order_issuer, order_url, order_state, order_key_sealed, "
    "ari_check_at,"
    " ari_window_start, ari_window_end";

std::vector<std::string> parse_names(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& x : j)
    if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

Result<CertRow> read_row(const storage::Stmt& s) {
  CertRow r;
  const std::string status = s.col_text(6);
  auto parsed = parse_cert_status(status);
  if (!parsed) {
    return make_error(Code::kInternal,
                      "certificate " + s.col_text(0) + ": unknown status \"" + status + "\"");
  }
  r.status = *parsed;
  r.id = s.col_text(0);
  r.names_key = s.col_text(1);
  r.hostnames = parse_names(s.col_text(2));
  r.workspace_id = s.col_text(3);
  r.challenge = s.col_text(4);
  r.dns01_delegate = s.col_text(5);
  r.issuer = s.col_text(7);
  r.issuer_index = s.col_int(8);
  r.issuer_failures = s.col_int(9);
  r.failures = s.col_int(10);
  r.version = s.col_int(11);
  r.not_before = s.col_opt_int(12);
  r.not_after = s.col_opt_int(13);
  r.renew_after = s.col_opt_int(14);
  r.next_attempt_at = s.col_opt_int(15);
  r.last_error = s.col_opt_text(16);
  r.renew = s.col_int(17) != 0;
  r.chain_pem = s.col_opt_text(18);
  r.key_sealed = s.col_opt_text(19);
  r.order_issuer = s.col_opt_int(20);
  r.order_url = s.col_opt_text(21);
  r.order_state = s.col_opt_text(22);
  r.order_key_sealed = s.col_opt_text(23);
  r.ari_check_at = s.col_opt_int(24);
  r.ari_window_start = s.col_opt_int(25);
  r.ari_window_end = s.col_opt_int(26);
  return r;
}

Result<std::vector<CertRow>> collect(storage::Stmt& s) {
  std::vector<CertRow> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) break;
    BOOST_OUTCOME_TRY(r, read_row(s));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::string names_key(std::vector<std::string> names) {
  for (auto& n : names)
    std::transform(n.begin(), n.end(), n.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

Result<std::optional<CertRow>> load_cert(storage::Conn& c, const std::string& id) {
  BOOST_OUTCOME_TRY(s,
                    c.prepare(std::string("SELECT ") + kCols + " FROM certificates WHERE id = ?"));
  s.bind(1, id);
  BOOST_OUTCOME_TRY(rows, collect(s));
  if (rows.empty()) return std::optional<CertRow>();
  return std::optional<CertRow>(std::move(rows.front()));
}

// Valid or renewing versions whose not_after is before `before` (ms); at
// most `limit`, soonest first, after `from` in (not_after, id) order
// (certificate.expiring, certs/events.cpp).
Result<std::vector<CertRow>> expiring_certs(storage::Conn& c, std::int64_t before, int limit,
                                            const ExpiringCursor& from) {
  BOOST_OUTCOME_TRY(s, c.prepare(std::string("SELECT ") + kCols +
                                 " FROM certificates WHERE status IN ('valid', 'renewing')"
                                 " AND not_after IS NOT NULL AND not_after < ?1"
                                 " AND (not_after > ?3 OR (not_after = ?3 AND id > ?4))"
                                 " ORDER BY not_after, id LIMIT ?2"));
  s.bind_all(before, static_cast<std::int64_t>(limit), from.not_after, from.id);
  return collect(s);
}

// One pass over the table; ?1 = now, ?2.. = now + each bound (ms). Portable
// SQL: SQLite's TOTAL() does not exist in PostgreSQL.
static const std::string kExpirySummarySql = [] {
  std::string q = "SELECT COUNT(*), COALESCE(SUM(not_after - ?1), 0), MIN(not_after)";
  for (std::size_t i = 0; i < std::size(kExpiryBoundsS); ++i)
    q += ", COALESCE(SUM(CASE WHEN not_after <= ?" + std::to_string(i + 2) +
         " THEN 1 ELSE 0 END), 0)";
  return q + " FROM certificates WHERE status IN ('valid', 'renewing') AND not_after IS NOT NULL";
}();

Result<ExpirySummary> expiry_summary(storage::Conn& c, std::int64_t now) {
  BOOST_OUTCOME_TRY(s, c.prepare(kExpirySummarySql));
  s.bind(1, now);
  for (std::size_t i = 0; i < std::size(kExpiryBoundsS); ++i)
    s.bind(static_cast<int>(i) + 2, now + kExpiryBoundsS[i] * 1000);
  BOOST_OUTCOME_TRY(row, s.step());
  ExpirySummary out;
  if (!row) return out;
  out.count = s.col_int(0);
  out.sum_s = s.col_double(1) / 1000.0;
  out.earliest_not_after_ms = s.col_opt_int(2);
  for (std::size_t i = 0; i < std::size(kExpiryBoundsS); ++i)
    out.at_most[i] = static_cast<std::int64_t>(s.col_double(static_cast<int>(i) + 3));
  return out;
}

Result<std::optional<std::string>> find_by_names(storage::Conn& c, const std::string& key) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT id FROM certificates WHERE names_key = ?"));
  s.bind(1, key);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.col_text(0));
}

Result<std::vector<CertRow>> list_certs(storage::Conn& c, const std::string& hostname,
                                        const std::string& workspace) {
  // The JSON list's elements: a per-driver spelling (docs/storage.md "Two backends").
  // ?2 is compared before it is tested for NULL: PostgreSQL takes a
  // parameter's type from where it first appears.
  const char* elements = c.dialect() == storage::Dialect::kPostgres
                             ? "json_array_elements_text(CAST(hostnames AS json))"
                             : "json_each(hostnames)";
  BOOST_OUTCOME_TRY(
      s, c.prepare(std::string("SELECT ") + kCols +
                   " FROM certificates WHERE (?1 = '' OR EXISTS (SELECT 1 FROM " + elements +
                   " WHERE lower(value) = lower(?1))) AND (workspace_id = ?2"
                   " OR ?2 IS NULL) ORDER BY id"));
  s.bind(1, hostname);
  if (workspace.empty())
    s.bind(2, nullptr);
  else
    s.bind(2, workspace);
  return collect(s);
}

Status insert_cert(storage::Conn& c, const CertRow& r, std::int64_t now) {
  BOOST_OUTCOME_TRY(
      s,
      c.prepare(
          "INSERT INTO certificates(id, names_key, hostnames, workspace_id, challenge, "
          "dns01_delegate, status,"
          " issuer_index, created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"));
  return s
      .bind_all(r.id, r.names_key, nlohmann::json(r.hostnames).dump(), r.workspace_id, r.challenge,
                r.dns01_delegate, cert_status_name(r.status), r.issuer_index, now)
      .run();
}

Status update_cert(storage::Conn& c, const CertRow& r, std::int64_t now) {
  BOOST_OUTCOME_TRY(
      s,
      c.prepare(
          "UPDATE certificates SET status = ?2, issuer = ?3, issuer_index = ?4, issuer_failures = "
          "?5, failures = ?6,"
          " version = ?7, not_before = ?8, not_after = ?9, renew_after = ?10, next_attempt_at = "
          "?11, last_error = ?12,"
          " renew = ?13, chain_pem = ?14, key_sealed = ?15, order_issuer = ?16, order_url = ?17, "
          "order_state = ?18,"
          " order_key_sealed = ?19, updated_at = ?20, ari_check_at = ?21, ari_window_start = ?22,"
          " ari_window_end = ?23 WHERE id = ?1"));
  s.bind_all(r.id, cert_status_name(r.status), r.issuer, r.issuer_index, r.issuer_failures,
             r.failures, r.version, r.not_before, r.not_after, r.renew_after, r.next_attempt_at,
             r.last_error, r.renew ? 1 : 0, r.chain_pem, r.key_sealed, r.order_issuer, r.order_url,
             r.order_state, r.order_key_sealed, now, r.ari_check_at, r.ari_window_start,
             r.ari_window_end);
  BOOST_OUTCOME_TRY(s.run());
  if (c.changes() == 0) return make_error(Code::kNotFound, "certificate " + r.id + " not found");
  return ok();
}

Status delete_cert(storage::Conn& c, const std::string& id) {
  BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM certificates WHERE id = ?"));
  BOOST_OUTCOME_TRY(s.bind(1, id).run());
  BOOST_OUTCOME_TRY(t, c.prepare("DELETE FROM acme_http_tokens WHERE cert_id = ?"));
  return t.bind(1, id).run();
}

CertificateView to_view(const CertRow& r) {
  CertificateView v;
  v.id = r.id;
  v.hostnames = r.hostnames;
  v.issuer = r.issuer;
  v.status = std::string(cert_status_name(r.status));
  v.not_before_ms = r.not_before;
  v.not_after_ms = r.not_after;
  v.renew_after_ms = r.renew ? r.renew_after : std::nullopt;
  v.version = r.version;
  v.last_error = r.last_error;
  v.workspace_id = r.workspace_id;
  return v;
}

Result<std::optional<std::string>> get_meta(storage::Conn& c, const std::string& key) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT value FROM certs_meta WHERE key = ?"));
  s.bind(1, key);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.col_text(0));
}

Status put_meta(storage::Conn& c, const std::string& key, const std::string& value) {
  BOOST_OUTCOME_TRY(s, c.prepare("INSERT INTO certs_meta(key, value) VALUES(?1, ?2)"
                                 " ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
  return s.bind_all(key, value).run();
}

Status record_order(storage::Conn& c, const std::string& issuer, const CertRow& r,
                    const std::string& order_url, std::int64_t now) {
  BOOST_OUTCOME_TRY(
      s, c.prepare(
             "INSERT INTO cert_orders(issuer, cert_id, names_key, order_url, renewal, created_at)"
             " VALUES(?1, ?2, ?3, ?4, ?5, ?6) RETURNING id"));
  s.bind_all(issuer, r.id, r.names_key, order_url, r.version > 0 ? 1 : 0, now);
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return make_error(Code::kInternal, "INSERT … RETURNING id returned no row");
  const auto order_id = s.col_int(0);
  BOOST_OUTCOME_TRY(s.run());
  BOOST_OUTCOME_TRY(
      n, c.prepare("INSERT INTO cert_order_names(order_id, name, domain) VALUES(?1, ?2, ?3)"));
  for (const auto& name : r.hostnames) {
    BOOST_OUTCOME_TRY(n.bind_all(order_id, name, registered_domain(name)).run());
  }
  return ok();
}

Status finish_order(storage::Conn& c, const std::string& order_url, OrderStatus result,
                    std::int64_t now) {
  BOOST_OUTCOME_TRY(s, c.prepare("UPDATE cert_orders SET result = ?2, finished_at = ?3"
                                 " WHERE order_url = ?1 AND result = 'pending'"));
  return s.bind_all(order_url, order_status_name(result), now).run();
}

Result<TatMap> load_tats(storage::Conn& c, const std::string& issuer,
                         const std::vector<BucketUse>& uses) {
  TatMap out;
  for (const auto& u : uses) {  // one statement per bucket: it resets when it goes out of scope
    BOOST_OUTCOME_TRY(
        s, c.prepare("SELECT tat FROM cert_budget_buckets WHERE issuer = ?1 AND bucket = ?2"
                     " AND key = ?3"));
    s.bind_all(issuer, u.bucket, u.key);
    BOOST_OUTCOME_TRY(row, s.step());
    if (row) out[{u.bucket, u.key}] = s.col_int(0);
  }
  return out;
}

Status save_tats(storage::Conn& c, const std::string& issuer, const TatMap& tats) {
  BOOST_OUTCOME_TRY(
      s,
      c.prepare("INSERT INTO cert_budget_buckets(issuer, bucket, key, tat) VALUES(?1, ?2, ?3, ?4)"
                " ON CONFLICT(issuer, bucket, key) DO UPDATE SET tat = excluded.tat"));
  for (const auto& [k, tat] : tats) {
    BOOST_OUTCOME_TRY(s.bind_all(issuer, k.first, k.second, tat).run());
  }
  return ok();
}

Result<std::int64_t> count_due_renewals(storage::Conn& c, std::int64_t now) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("SELECT count(*) FROM certificates WHERE version > 0 AND renew = 1 AND"
                   " order_state IS NULL AND renew_after <= ?1 AND status <> 'expired'"));
  s.bind(1, now);
  BOOST_OUTCOME_TRY(row, s.step());
  return row ? s.col_int(0) : 0;
}

}  // namespace fc::certs::detail

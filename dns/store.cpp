// The dns component's SQL (dns/detail/store.hpp): every statement on
// dns_challenges, dns_provider_records and the 'dns.serial' setting.
#include "dns/detail/store.hpp"
#include "dns/publisher.hpp"

#include <nlohmann/json.hpp>

namespace fc::dns::detail {

namespace {

std::optional<std::vector<std::string>> parse_list(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  auto j = nlohmann::json::parse(*s, nullptr, false);
  if (!j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& x : j)
    if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

}  // namespace

Result<std::uint32_t> next_serial(storage::Conn& c) {
  BOOST_OUTCOME_TRY(s, c.prepare("INSERT INTO settings(key, value) VALUES('dns.serial', '1') ON "
                                 "CONFLICT(key) DO UPDATE SET"
                                 " value = CAST((CAST(settings.value AS BIGINT) % 4294967295) + 1"
                                 " AS TEXT) RETURNING CAST(value AS BIGINT)"));
  BOOST_OUTCOME_TRY(row, s.step());
  if (!row) return make_error(Code::kInternal, "no serial");
  auto v = static_cast<std::uint32_t>(s.col_int(0));
  BOOST_OUTCOME_TRY(s.run());
  return v;
}

Result<std::vector<ChallengeRow>> read_challenges(storage::Conn& c, std::int64_t now_ms,
                                                  std::optional<std::int64_t>* next_expiry) {
  BOOST_OUTCOME_TRY(
      s, c.prepare("SELECT name, value, expires_at FROM dns_challenges WHERE expires_at > ?"));
  s.bind(1, now_ms);
  std::vector<ChallengeRow> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return out;
    out.push_back(ChallengeRow{s.col_text(0), s.col_text(1)});
    auto exp = s.col_int(2);
    if (!*next_expiry || exp < **next_expiry) *next_expiry = exp;
  }
}

Status put_challenge(storage::Conn& c, const std::string& name, const std::string& value,
                     std::int64_t now_ms, std::int64_t expires_at_ms) {
  BOOST_OUTCOME_TRY(remove_challenge(c, name, value));
  BOOST_OUTCOME_TRY(s, c.prepare("INSERT INTO dns_challenges(name, value, created_at, expires_at)"
                                 " VALUES(?1, ?2, ?3, ?4)"));
  return s.bind_all(name, value, now_ms, expires_at_ms).run();
}

Status remove_challenge(storage::Conn& c, const std::string& name, const std::string& value) {
  BOOST_OUTCOME_TRY(d, c.prepare("DELETE FROM dns_challenges WHERE name = ?1 AND value = ?2"));
  return d.bind_all(name, value).run();
}

Status upsert_provider_record(storage::Conn& c, const std::string& provider, const RrKey& k,
                              std::uint32_t ttl, const std::optional<std::string>& desired,
                              std::int64_t now_ms) {
  BOOST_OUTCOME_TRY(
      s, c.prepare(
             "INSERT INTO dns_provider_records(provider, name, type, ttl, desired, pushed, state,"
             " updated_at) VALUES(?1, ?2, ?3, ?4, ?5, NULL, 'pending', ?6)"
             " ON CONFLICT(provider, name, type) DO UPDATE SET ttl = excluded.ttl,"
             " desired = excluded.desired, state = 'pending', updated_at = excluded.updated_at"));
  return s.bind_all(provider, k.name, k.type, static_cast<std::int64_t>(ttl), desired, now_ms)
      .run();
}

Result<StoredProvider> provider_records(storage::Conn& c, const std::string& provider) {
  BOOST_OUTCOME_TRY(
      q,
      c.prepare(
          "SELECT name, type, ttl, desired, state FROM dns_provider_records WHERE provider = ?"));
  q.bind(1, provider);
  StoredProvider out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, q.step());
    if (!row) return out;
    out.unsynced = out.unsynced || q.col_text(4) != "synced";
    auto data = parse_list(q.col_opt_text(3));
    if (data)
      out.desired[RrKey{q.col_text(0), q.col_text(1)}] =
          RrValue{static_cast<std::uint32_t>(q.col_int(2)), *data};
  }
}

// Providers with a record not yet synced (the sweep gives each a job unless
// one is queued: storage::job_keys).
Result<std::vector<std::string>> unsynced_providers(storage::Conn& c) {
  BOOST_OUTCOME_TRY(
      q, c.prepare("SELECT DISTINCT provider FROM dns_provider_records WHERE state <> 'synced'"));
  std::vector<std::string> ids;
  for (;;) {
    BOOST_OUTCOME_TRY(row, q.step());
    if (!row) return ids;
    ids.push_back(q.col_text(0));
  }
}

Result<std::vector<ProviderRow>> unsynced_rows(storage::Conn& c, const std::string& provider,
                                               int limit) {
  BOOST_OUTCOME_TRY(
      q, c.prepare("SELECT name, type, ttl, desired, pushed FROM dns_provider_records"
                   " WHERE provider = ? AND state <> 'synced' ORDER BY name, type LIMIT ?"));
  q.bind_all(provider, limit);
  std::vector<ProviderRow> rows;
  for (;;) {
    BOOST_OUTCOME_TRY(row, q.step());
    if (!row) return rows;
    ProviderRow r;
    r.key = RrKey{q.col_text(0), q.col_text(1)};
    r.ttl = static_cast<std::uint32_t>(q.col_int(2));
    r.desired_json = q.col_opt_text(3);
    r.desired = parse_list(r.desired_json);
    r.pushed = parse_list(q.col_opt_text(4));
    rows.push_back(std::move(r));
  }
}

Status mark_synced(storage::Conn& c, const std::string& provider,
                   const std::vector<ProviderRow>& rows, std::int64_t now_ms) {
  BOOST_OUTCOME_TRY(
      u, c.prepare(
             "UPDATE dns_provider_records SET pushed = ?4, last_error = NULL, synced_at = ?5,"
             " state = CASE WHEN desired IS NOT DISTINCT FROM ?4 THEN 'synced' ELSE 'pending' END"
             " WHERE provider = ?1 AND name = ?2 AND type = ?3"));
  for (const auto& r : rows) {
    BOOST_OUTCOME_TRY(u.bind_all(provider, r.key.name, r.key.type, r.desired_json, now_ms).run());
  }
  BOOST_OUTCOME_TRY(d, c.prepare("DELETE FROM dns_provider_records"
                                 " WHERE provider = ? AND desired IS NULL AND pushed IS NULL"));
  return d.bind(1, provider).run();
}

Status mark_failed(storage::Conn& c, const std::string& provider,
                   const std::vector<ProviderRow>& rows, const std::string& error,
                   std::int64_t now_ms) {
  BOOST_OUTCOME_TRY(
      u,
      c.prepare("UPDATE dns_provider_records SET state = 'failed', last_error = ?4, updated_at = ?5"
                " WHERE provider = ?1 AND name = ?2 AND type = ?3 AND state <> 'synced'"));
  for (const auto& r : rows) {
    BOOST_OUTCOME_TRY(u.bind_all(provider, r.key.name, r.key.type, error, now_ms).run());
  }
  return ok();
}

}  // namespace fc::dns::detail

namespace fc::dns {

// For callers outside dns (GET /v1/dns/records).
Result<std::optional<ProviderRecordState>> provider_record_state(storage::Conn& c,
                                                                 const std::string& provider,
                                                                 const std::string& name,
                                                                 const std::string& type) {
  BOOST_OUTCOME_TRY(q, c.prepare("SELECT state, last_error, synced_at FROM dns_provider_records"
                                 " WHERE provider = ? AND name = ? AND type = ?"));
  q.bind_all(provider, name, type);
  BOOST_OUTCOME_TRY(row, q.step());
  if (!row) return std::optional<ProviderRecordState>();
  return std::optional<ProviderRecordState>(
      ProviderRecordState{q.col_text(0), q.col_opt_text(1), q.col_opt_int(2)});
}

}  // namespace fc::dns

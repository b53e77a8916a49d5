// External DNS providers (RFC 2136 + TSIG): desired vs. last pushed per
// provider, name and type in dns_provider_records; a durable job per
// provider ("dns.provider.sync", key = provider id) pushes the difference and
// retries with exponential backoff (base dns.providers[].retry_base_ms).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "app/dns_publisher.hpp"

namespace fc::app {

namespace {

std::string lower_name(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

Result<std::vector<ProviderConf>> parse_providers(const nlohmann::json& list) {
  std::vector<ProviderConf> out;
  if (!list.is_array()) return out;
  for (const auto& p : list) {
    ProviderConf c;
    c.server = p.value("server", "");
    c.zone = lower_name(p.value("zone", ""));
    c.id = c.server + "/" + c.zone;
    if (p.contains("retry_base_ms")) c.retry_base = std::chrono::milliseconds(p["retry_base_ms"].get<std::int64_t>());
    if (p.contains("tsig")) {
      const auto& t = p["tsig"];
      auto key = dns::TsigKey::from_base64(t.value("name", ""), t.value("algorithm", "hmac-sha256"),
                                           t.value("secret", ""));
      if (!key) return make_error(key.error().code, "dns.providers " + c.id + ".tsig: " + key.error().detail);
      c.key = key.value();
    }
    out.push_back(std::move(c));
  }
  return out;
}

namespace {

constexpr int kBatch = 200;  // RRsets per UPDATE message

std::optional<std::string> data_json(const RecordMap& m, const RrKey& k) {
  auto it = m.find(k);
  if (it == m.end()) return std::nullopt;
  return nlohmann::json(it->second.data).dump();
}

std::optional<std::vector<std::string>> parse_list(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  auto j = nlohmann::json::parse(*s, nullptr, false);
  if (!j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& x : j)
    if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

Status upsert_desired(storage::Conn& c, const std::string& provider, const RrKey& k, std::uint32_t ttl,
                      const std::optional<std::string>& desired, std::int64_t now) {
  BOOST_OUTCOME_TRY(s, c.prepare(
      "INSERT INTO dns_provider_records(provider, name, type, ttl, desired, pushed, state, updated_at)"
      " VALUES(?1, ?2, ?3, ?4, ?5, NULL, 'pending', ?6)"
      " ON CONFLICT(provider, name, type) DO UPDATE SET ttl = excluded.ttl, desired = excluded.desired,"
      " state = 'pending', updated_at = excluded.updated_at"));
  return s.bind_all(provider, k.name, k.type, static_cast<std::int64_t>(ttl), desired, now).run();
}

Status enqueue_sync(storage::Conn& c, const std::string& provider, std::int64_t now) {
  return storage::enqueue(c, storage::NewJob{kProviderJob, provider, "{}", now, 0}, now);
}

std::chrono::milliseconds retry_delay(const ProviderConf& p, std::int64_t attempt) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return storage::backoff(attempt, p.retry_base, 2.0, std::chrono::minutes(5), 0.2, rng);
}

}  // namespace

Status DnsPublisher::record_provider_changes(storage::Conn& c, const RecordMap& next,
                                             const std::vector<RrKey>& keys) {
  const auto now = clock_.now_ms();
  for (const auto& p : providers_) {
    bool any = false;
    for (const auto& k : keys) {
      if (!name_in_zone(k.name, p.zone)) continue;
      auto it = next.find(k);
      std::uint32_t ttl = it == next.end() ? 0 : it->second.ttl;
      BOOST_OUTCOME_TRY(upsert_desired(c, p.id, k, ttl, data_json(next, k), now));
      any = true;
    }
    if (any) {
      BOOST_OUTCOME_TRY(enqueue_sync(c, p.id, now));
    }
  }
  return ok();
}

// After a restart (or a provider added to the config): what the table wants
// vs. what we publish now; only differences become pending.
Status DnsPublisher::reconcile_providers_at_start(storage::Conn& c, const RecordMap& next) {
  const auto now = clock_.now_ms();
  for (const auto& p : providers_) {
    RecordMap stored;
    BOOST_OUTCOME_TRY(q, c.prepare(
        "SELECT name, type, ttl, desired, state FROM dns_provider_records WHERE provider = ?"));
    q.bind(1, p.id);
    bool unsynced = false;
    for (;;) {
      BOOST_OUTCOME_TRY(row, q.step());
      if (!row) break;
      unsynced = unsynced || q.col_text(4) != "synced";
      auto data = parse_list(q.col_opt_text(3));
      if (data) stored[RrKey{q.col_text(0), q.col_text(1)}] = RrValue{static_cast<std::uint32_t>(q.col_int(2)), *data};
    }
    RecordMap mine;
    for (const auto& [k, v] : next)
      if (name_in_zone(k.name, p.zone)) mine.emplace(k, v);
    auto keys = diff_records(stored, mine);
    for (const auto& k : keys) {
      auto it = mine.find(k);
      BOOST_OUTCOME_TRY(upsert_desired(c, p.id, k, it == mine.end() ? 0 : it->second.ttl, data_json(mine, k), now));
    }
    if (unsynced || !keys.empty()) {
      BOOST_OUTCOME_TRY(enqueue_sync(c, p.id, now));
    }
  }
  return ok();
}

void DnsPublisher::attach_jobs(storage::JobRunner& jobs) {
  jobs_ = &jobs;
  jobs.on(kProviderJob, [this](storage::Job j) { return sync_provider(std::move(j)); });
}

// A safety net for the job queue: a change recorded while the provider's job
// was running re-queues nothing once that job completes, so every few
// seconds unsynced providers without a job get one.
awaitable<void> DnsPublisher::sweep() {
  while (!stopped_) {
    sweeper_.expires_after(std::chrono::seconds(3));
    boost::system::error_code ec;
    co_await sweeper_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (stopped_ || jobs_ == nullptr) co_return;
    bool queued = false;
    auto st = co_await db_.write([&](storage::Conn& c) -> Status {
      BOOST_OUTCOME_TRY(q, c.prepare(
          "SELECT DISTINCT provider FROM dns_provider_records d WHERE state <> 'synced' AND NOT EXISTS"
          " (SELECT 1 FROM jobs j WHERE j.kind = ?1 AND j.key = d.provider)"));
      q.bind(1, kProviderJob);
      std::vector<std::string> ids;
      for (;;) {
        BOOST_OUTCOME_TRY(row, q.step());
        if (!row) break;
        ids.push_back(q.col_text(0));
      }
      for (const auto& id : ids) {
        BOOST_OUTCOME_TRY(enqueue_sync(c, id, clock_.now_ms()));
      }
      queued = !ids.empty();
      return ok();
    });
    if (!st) spdlog::warn("dns provider sweep: {}", st.error().detail);
    if (queued) jobs_->poke();
  }
}

awaitable<storage::JobOutcome> DnsPublisher::sync_provider(storage::Job job) {
  const ProviderConf* p = nullptr;
  for (const auto& x : providers_)
    if (x.id == job.key) p = &x;
  if (p == nullptr) co_return storage::JobOutcome{};  // provider removed from the config
  for (int round = 0; round < 50; ++round) {
    auto more = co_await push_batch(*p);
    if (!more) {
      storage::JobOutcome out;
      out.done = false;
      out.error = more.error().detail;
      out.retry_after = retry_delay(*p, job.attempts);
      spdlog::warn("dns provider={} sync failed attempt={} retry_in_ms={}: {}", p->id, job.attempts,
                   out.retry_after->count(), out.error);
      co_return out;
    }
    if (!more.value()) break;
  }
  co_return storage::JobOutcome{};
}

namespace {

Result<std::vector<ProviderRow>> unsynced_rows(storage::Conn& c, const std::string& provider) {
  BOOST_OUTCOME_TRY(q, c.prepare(
      "SELECT name, type, ttl, desired, pushed FROM dns_provider_records"
      " WHERE provider = ? AND state <> 'synced' ORDER BY name, type LIMIT ?"));
  q.bind_all(provider, kBatch);
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

// Marks rows pushed; a row whose desired value changed meanwhile stays pending.
Status mark_synced(storage::Conn& c, const std::string& provider, const std::vector<ProviderRow>& rows,
                   std::int64_t now) {
  BOOST_OUTCOME_TRY(u, c.prepare(
      "UPDATE dns_provider_records SET pushed = ?4, last_error = NULL, synced_at = ?5,"
      " state = CASE WHEN desired IS ?4 THEN 'synced' ELSE 'pending' END"
      " WHERE provider = ?1 AND name = ?2 AND type = ?3"));
  for (const auto& r : rows) {
    BOOST_OUTCOME_TRY(u.bind_all(provider, r.key.name, r.key.type, r.desired_json, now).run());
  }
  BOOST_OUTCOME_TRY(d, c.prepare(
      "DELETE FROM dns_provider_records WHERE provider = ? AND desired IS NULL AND pushed IS NULL"));
  return d.bind(1, provider).run();
}

Status mark_failed(storage::Conn& c, const std::string& provider, const std::vector<ProviderRow>& rows,
                   const std::string& error, std::int64_t now) {
  BOOST_OUTCOME_TRY(u, c.prepare(
      "UPDATE dns_provider_records SET state = 'failed', last_error = ?4, updated_at = ?5"
      " WHERE provider = ?1 AND name = ?2 AND type = ?3 AND state <> 'synced'"));
  for (const auto& r : rows) {
    BOOST_OUTCOME_TRY(u.bind_all(provider, r.key.name, r.key.type, error, now).run());
  }
  return ok();
}

}  // namespace

// One UPDATE with up to kBatch RRsets. Value: whether another batch may be due.
awaitable<Result<bool>> DnsPublisher::push_batch(const ProviderConf& p) {
  auto rows = unsynced_rows(db_.read(), p.id);
  if (!rows) co_return rows.error();
  if (rows.value().empty()) co_return false;
  auto ops = provider_ops(rows.value());
  if (!ops) co_return ops.error();
  Result<dns::Rcode> rc = make_error(Code::kInternal, "not sent");
  if (ops.value().empty()) {
    rc = dns::Rcode::kNoError;  // only never-pushed removals: nothing to send
  } else {
    dns::UpdateRequest req;
    req.server = p.server;
    req.zone = p.zone + ".";
    req.key = p.key;
    req.ops = std::move(ops).value();
    req.timeout = std::chrono::milliseconds(1500);
    rc = co_await dns::send_update(std::move(req), clock_);
  }
  std::string error;
  if (!rc) error = rc.error().detail;
  else if (rc.value() != dns::Rcode::kNoError) error = "update answered " + dns::rcode_name(rc.value());
  const auto now = clock_.now_ms();
  auto st = co_await db_.write([&](storage::Conn& c) -> Status {
    if (!error.empty()) return mark_failed(c, p.id, rows.value(), error, now);
    return mark_synced(c, p.id, rows.value(), now);
  });
  if (!st) co_return st.error();
  if (!error.empty()) co_return make_error(rc ? Code::kUnavailable : rc.error().code, error);
  spdlog::info("dns provider={} pushed rrsets={}", p.id, rows.value().size());
  co_return rows.value().size() == static_cast<std::size_t>(kBatch);
}

}  // namespace fc::app

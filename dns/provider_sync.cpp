// External DNS providers (RFC 2136 + TSIG): desired vs. last pushed per
// provider, name and type in dns_provider_records; a durable job per
// provider ("dns.provider.sync", key = provider id) pushes the difference and
// retries with exponential backoff (base dns.providers[].retry_base_ms).
#include <algorithm>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <random>

#include "dns/detail/publisher.hpp"
#include "dns/detail/store.hpp"

namespace fc::dns {

namespace {

constexpr int kBatch = 200;  // RRsets per UPDATE message

std::optional<std::string> data_json(const RecordMap& m, const RrKey& k) {
  auto it = m.find(k);
  if (it == m.end()) return std::nullopt;
  return nlohmann::json(it->second.data).dump();
}

Status enqueue_sync(storage::Conn& c, const std::string& provider, std::int64_t now) {
  return storage::enqueue(c, storage::NewJob{kProviderJob, provider, "{}", now, 0}, now);
}

std::chrono::milliseconds retry_delay(const Rfc2136Target& p, std::int64_t attempt) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return storage::backoff(attempt, p.retry_base, 2.0, std::chrono::minutes(5), 0.2, rng);
}

}  // namespace

Status Publisher::Impl::record_provider_changes(storage::Conn& c, const RecordMap& next,
                                                const std::vector<RrKey>& keys) {
  const auto now = clock_.now_ms();
  for (const auto& p : providers_) {
    bool any = false;
    for (const auto& k : keys) {
      if (!name_in_zone(k.name, p.zone)) continue;
      auto it = next.find(k);
      std::uint32_t ttl = it == next.end() ? 0 : it->second.ttl;
      BOOST_OUTCOME_TRY(detail::upsert_provider_record(c, p.id, k, ttl, data_json(next, k), now));
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
Status Publisher::Impl::reconcile_providers(storage::Conn& c, const RecordMap& next) {
  const auto now = clock_.now_ms();
  for (const auto& p : providers_) {
    BOOST_OUTCOME_TRY(stored, detail::provider_records(c, p.id));
    RecordMap mine;
    for (const auto& [k, v] : next)
      if (name_in_zone(k.name, p.zone)) mine.emplace(k, v);
    auto keys = diff_records(stored.desired, mine);
    for (const auto& k : keys) {
      auto it = mine.find(k);
      const std::uint32_t ttl = it == mine.end() ? 0 : it->second.ttl;
      BOOST_OUTCOME_TRY(detail::upsert_provider_record(c, p.id, k, ttl, data_json(mine, k), now));
    }
    if (stored.unsynced || !keys.empty()) {
      BOOST_OUTCOME_TRY(enqueue_sync(c, p.id, now));
    }
  }
  return ok();
}

void Publisher::Impl::attach_jobs(storage::JobRunner& jobs) {
  jobs_ = &jobs;
  jobs.on(kProviderJob, [this](storage::Job j) { return sync_provider(std::move(j)); });
}

// A safety net for the job queue: a change recorded while the provider's job
// was running re-queues nothing once that job completes, so every few
// seconds unsynced providers without a job get one.
awaitable<void> Publisher::Impl::sweep() {
  while (!stopped_) {
    sweeper_.expires_after(std::chrono::seconds(3));
    boost::system::error_code ec;
    co_await sweeper_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (stopped_ || jobs_ == nullptr) co_return;
    bool queued = false;
    auto st = co_await db_.write([&](storage::Conn& c) -> Status {
      queued = false;
      BOOST_OUTCOME_TRY(ids, detail::unsynced_providers(c));
      BOOST_OUTCOME_TRY(with_job, storage::job_keys(c, kProviderJob));
      for (const auto& id : ids) {
        if (std::find(with_job.begin(), with_job.end(), id) != with_job.end()) continue;
        BOOST_OUTCOME_TRY(enqueue_sync(c, id, clock_.now_ms()));
        queued = true;
      }
      return ok();
    });
    if (!st) spdlog::warn("dns provider sweep failed reason={}", st.error().detail);
    if (queued) jobs_->poke();
  }
}

awaitable<storage::JobOutcome> Publisher::Impl::sync_provider(storage::Job job) {
  const Rfc2136Target* p = nullptr;
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
      spdlog::warn("dns provider={} sync failed attempt={} retry_in_ms={} reason={}", p->id,
                   job.attempts, out.retry_after->count(), out.error);
      co_return out;
    }
    if (!more.value()) break;
  }
  co_return storage::JobOutcome{};
}

// One UPDATE with up to kBatch RRsets. Value: whether another batch may be due.
awaitable<Result<bool>> Publisher::Impl::push_batch(const Rfc2136Target& p) {
  auto rows = detail::unsynced_rows(db_.read(), p.id, kBatch);
  if (!rows) co_return rows.error();
  if (rows.value().empty()) co_return false;
  auto ops = provider_ops(rows.value());
  if (!ops) co_return ops.error();
  Status sent = ok();  // only never-pushed removals: nothing to send
  if (!ops.value().empty()) {
    sent = co_await update(p, std::move(ops).value(), std::chrono::milliseconds(1500), clock_);
  }
  const auto now = clock_.now_ms();
  auto st = co_await db_.write([&](storage::Conn& c) -> Status {
    if (!sent) return detail::mark_failed(c, p.id, rows.value(), sent.error().detail, now);
    return detail::mark_synced(c, p.id, rows.value(), now);
  });
  if (!st) co_return st.error();
  if (!sent) co_return sent.error();
  spdlog::info("dns provider={} pushed rrsets={}", p.id, rows.value().size());
  co_return rows.value().size() == static_cast<std::size_t>(kBatch);
}

}  // namespace fc::dns

#include "storage/jobs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace fc::storage {

Status enqueue(Conn& c, const NewJob& j, std::int64_t now_ms) {
  BOOST_OUTCOME_TRY(
      st,
      c.prepare("INSERT INTO jobs(kind, key, payload, run_at, max_attempts, created_at, updated_at)"
                " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)"
                " ON CONFLICT(kind, key) WHERE key <> '' DO UPDATE SET"
                "  run_at = CASE WHEN state = 'queued' THEN min(run_at, excluded.run_at) ELSE "
                "excluded.run_at END,"
                "  payload = excluded.payload, updated_at = excluded.updated_at,"
                "  state = CASE WHEN state = 'dead' THEN 'queued' ELSE state END,"
                "  attempts = CASE WHEN state = 'dead' THEN 0 ELSE attempts END"));
  return st.bind_all(j.kind, j.key, j.payload, j.run_at, j.max_attempts, now_ms).run();
}

Result<std::vector<Job>> lease(Conn& c, const std::string& kinds_json, std::int64_t now_ms,
                               std::int64_t lease_ms, int limit) {
  BOOST_OUTCOME_TRY(
      st,
      c.prepare(
          "UPDATE jobs SET state = 'leased', lease_until = ?2, attempts = attempts + 1, updated_at "
          "= ?1"
          " WHERE id IN (SELECT id FROM jobs WHERE kind IN (SELECT value FROM json_each(?4)) AND ("
          "   (state = 'queued' AND run_at <= ?1) OR (state = 'leased' AND lease_until <= ?1))"
          "   ORDER BY run_at, id LIMIT ?3)"
          " RETURNING id, kind, key, payload, attempts, run_at, last_error"));
  st.bind_all(now_ms, now_ms + lease_ms, limit, kinds_json);
  std::vector<Job> out;
  for (;;) {
    BOOST_OUTCOME_TRY(row, st.step());
    if (!row) break;
    out.push_back(Job{st.col_int(0), st.col_text(1), st.col_text(2), st.col_text(3), st.col_int(4),
                      st.col_int(5), st.col_opt_text(6)});
  }
  return out;
}

Status complete(Conn& c, std::int64_t id) {
  BOOST_OUTCOME_TRY(st, c.prepare("DELETE FROM jobs WHERE id = ?"));
  return st.bind(1, id).run();
}

Status fail(Conn& c, std::int64_t id, const std::string& error, std::int64_t retry_at, bool dead,
            std::int64_t now_ms) {
  BOOST_OUTCOME_TRY(
      st,
      c.prepare(
          "UPDATE jobs SET state = CASE WHEN ?5 OR (max_attempts > 0 AND attempts >= max_attempts)"
          "  THEN 'dead' ELSE 'queued' END,"
          " run_at = ?3, lease_until = NULL, last_error = ?2, updated_at = ?4 WHERE id = ?1"));
  return st.bind_all(id, error, retry_at, now_ms, dead ? 1 : 0).run();
}

Result<QueueGauges> gauges(Conn& c, std::int64_t now_ms) {
  BOOST_OUTCOME_TRY(
      st, c.prepare("SELECT coalesce(sum(state = 'queued'), 0), coalesce(sum(state = 'leased'), 0),"
                    " coalesce(sum(state = 'dead'), 0), coalesce(sum(state = 'queued' AND run_at "
                    "<= ?), 0) FROM jobs"));
  st.bind(1, now_ms);
  BOOST_OUTCOME_TRY(row, st.step());
  if (!row) return QueueGauges{};
  return QueueGauges{st.col_int(0), st.col_int(1), st.col_int(2), st.col_int(3)};
}

std::chrono::milliseconds backoff(std::int64_t attempt, std::chrono::milliseconds base,
                                  double factor, std::chrono::milliseconds cap, double jitter,
                                  std::mt19937_64& rng) {
  double exp = std::max<std::int64_t>(attempt - 1, 0);
  double raw = static_cast<double>(base.count()) * std::pow(factor, std::min(exp, 200.0));
  double capped = std::min(raw, static_cast<double>(cap.count()));
  std::uniform_real_distribution<double> dist(1.0 - jitter, 1.0 + jitter);
  double v = std::min(capped * dist(rng), static_cast<double>(cap.count()));
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::max(v, 0.0)));
}

// ---- JobRunner ----
JobRunner::JobRunner(asio::io_context& io, Database& db, const Clock& clock, Options o)
    : io_(io), db_(db), clock_(clock), o_(o), timer_(io) {}

void JobRunner::start() {
  asio::co_spawn(io_, loop(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

void JobRunner::poke() {
  poked_ = true;
  timer_.cancel();
}

void JobRunner::stop() {
  stopping_ = true;
  timer_.cancel();
}

awaitable<void> JobRunner::loop() {
  std::string kinds = "[";
  for (const auto& [k, h] : handlers_) kinds += (kinds.size() > 1 ? ",\"" : "\"") + k + "\"";
  kinds += "]";
  while (!stopping_) {
    poked_ = false;
    int room = o_.concurrency - in_flight_;
    std::vector<Job> jobs;
    if (room > 0 && !handlers_.empty()) {
      auto now = clock_.now_ms();
      auto st = co_await db_.write([&](Conn& c) -> Status {
        BOOST_OUTCOME_TRY(v, lease(c, kinds, now, o_.lease.count(), room));
        jobs = std::move(v);
        return ok();
      });
      if (!st) spdlog::warn("leasing jobs failed reason={}", st.error().detail);
    }
    saturated_ = room <= 0 || static_cast<int>(jobs.size()) == room;
    for (auto& j : jobs) asio::co_spawn(io_, run_job(std::move(j)), asio::detached);
    if (stopping_) break;
    // Poked while leasing: new work was committed after our lease query ran.
    // Each poke follows a commit (or a finished job), so this is no busy loop.
    if (poked_) continue;
    timer_.expires_after(o_.poll);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

awaitable<void> JobRunner::run_job(Job j) {
  ++in_flight_;
  JobOutcome out;
  try {
    out = co_await handlers_.at(j.kind)(j);
  } catch (const std::exception& e) {
    out = JobOutcome{false, std::string("handler threw: ") + e.what(), std::nullopt, false};
  }
  auto now = clock_.now_ms();
  auto delay = out.retry_after.value_or(
      backoff(j.attempts, o_.backoff_base, 2.0, o_.backoff_cap, 0.2, rng_));
  auto st = co_await db_.write([&](Conn& c) -> Status {
    if (out.done) return complete(c, j.id);
    return fail(c, j.id, out.error, now + delay.count(), out.permanent, now);
  });
  // Not saved: the lease runs out and the job runs again (handlers are idempotent).
  if (!st) {
    spdlog::warn("saving job outcome failed id={} kind={} reason={}", j.id, j.kind,
                 st.error().detail);
  }
  --in_flight_;
  // A finished job may have made more due; a runner whose last lease was cut
  // short by its concurrency leases again now that it has room (not at the
  // next poll tick).
  if (out.done || saturated_) poke();
}

// ---- added for certs (issue #21): requeue leased jobs at start ----
Status requeue_leased(Conn& c, const std::string& kind, std::int64_t run_at) {
  BOOST_OUTCOME_TRY(s, c.prepare("UPDATE jobs SET state = 'queued', run_at = ?2, lease_until = NULL"
                                 " WHERE kind = ?1 AND state = 'leased'"));
  return s.bind_all(kind, run_at).run();
}

Result<std::vector<std::string>> job_keys(Conn& c, const std::string& kind) {
  BOOST_OUTCOME_TRY(s, c.prepare("SELECT DISTINCT key FROM jobs WHERE kind = ?1 AND key <> ''"));
  s.bind(1, kind);
  std::vector<std::string> keys;
  for (;;) {
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return keys;
    keys.push_back(s.col_text(0));
  }
}

}  // namespace fc::storage

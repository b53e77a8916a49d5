#include "storage/jobs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "storage/json_rows.hpp"

namespace fc::storage {

Status enqueue(Conn& c, const NewJob& j, std::int64_t now_ms) {
  BOOST_OUTCOME_TRY(
      st,
      c.prepare("INSERT INTO jobs(kind, key, payload, run_at, max_attempts, created_at, updated_at)"
                " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)"
                " ON CONFLICT(kind, key) WHERE key <> '' DO UPDATE SET"
                "  run_at = CASE WHEN jobs.state = 'queued' AND jobs.run_at < excluded.run_at"
                " THEN jobs.run_at ELSE excluded.run_at END,"
                "  payload = excluded.payload, updated_at = excluded.updated_at,"
                "  state = CASE WHEN jobs.state = 'dead' THEN 'queued' ELSE jobs.state END,"
                "  attempts = CASE WHEN jobs.state = 'dead' THEN 0 ELSE jobs.attempts END"));
  return st.bind_all(j.kind, j.key, j.payload, j.run_at, j.max_attempts, now_ms).run();
}

namespace {

Status collect_leased(Stmt& st, std::vector<Job>& out, int& got) {
  for (;;) {
    BOOST_OUTCOME_TRY(row, st.step());
    if (!row) return ok();
    out.push_back(Job{st.col_int(0), st.col_text(1), st.col_text(2), st.col_text(3), st.col_int(4),
                      st.col_int(5), st.col_opt_text(6)});
    ++got;
  }
}

// Leases up to `limit` due jobs of one kind: expired leases, then queued jobs
// oldest first (jobs_kind_due). Returns how many it leased.
Result<int> lease_kind(Conn& c, const std::string& kind, std::int64_t now_ms, std::int64_t lease_ms,
                       int limit, std::vector<Job>& out) {
  static constexpr const char* kSet =
      "UPDATE jobs SET state = 'leased', lease_until = ?2, attempts = attempts + 1, "
      "updated_at = ?1 WHERE id IN ";
  static constexpr const char* kReturning =
      " RETURNING id, kind, key, payload, attempts, run_at, last_error";
  int got = 0;
  BOOST_OUTCOME_TRY(expired, c.prepare(std::string(kSet) +
                                       "(SELECT id FROM jobs WHERE kind = ?4 AND state = 'leased'"
                                       " AND lease_until <= ?1 ORDER BY id LIMIT ?3)" +
                                       kReturning));
  expired.bind_all(now_ms, now_ms + lease_ms, limit, kind);
  BOOST_OUTCOME_TRY(collect_leased(expired, out, got));
  if (got >= limit) return got;
  BOOST_OUTCOME_TRY(due, c.prepare(std::string(kSet) +
                                   "(SELECT id FROM jobs WHERE kind = ?4 AND state = 'queued'"
                                   " AND run_at <= ?1 ORDER BY run_at, id LIMIT ?3)" +
                                   kReturning));
  due.bind_all(now_ms, now_ms + lease_ms, limit - got, kind);
  BOOST_OUTCOME_TRY(collect_leased(due, out, got));
  return got;
}

}  // namespace

// Passes over the kinds that still have due jobs, each taking an equal share
// of what is left; a kind that leased less than asked drops out.
Result<std::vector<Job>> lease(Conn& c, const std::vector<std::string>& kinds, std::int64_t now_ms,
                               std::int64_t lease_ms, int limit, std::size_t first) {
  std::vector<Job> out;
  std::vector<std::size_t> active;
  for (std::size_t i = 0; i < kinds.size(); ++i) active.push_back((first + i) % kinds.size());
  while (static_cast<int>(out.size()) < limit && !active.empty()) {
    const int left = limit - static_cast<int>(out.size());
    const int share = std::max(1, left / static_cast<int>(active.size()));
    std::vector<std::size_t> still;
    for (std::size_t k : active) {
      const int want = std::min(share, limit - static_cast<int>(out.size()));
      if (want <= 0) break;
      BOOST_OUTCOME_TRY(got, lease_kind(c, kinds[k], now_ms, lease_ms, want, out));
      if (got == want) still.push_back(k);
    }
    active = std::move(still);
  }
  return out;
}

Result<std::vector<Job>> lease(Conn& c, const std::string& kinds_json, std::int64_t now_ms,
                               std::int64_t lease_ms, int limit) {
  // The JSON list's elements: a per-driver spelling (docs/storage.md "Two backends").
  BOOST_OUTCOME_TRY(st, c.prepare("SELECT DISTINCT value FROM " + json_rows(c) + "(?1)"));
  st.bind(1, kinds_json);
  std::vector<std::string> kinds;
  for (;;) {
    BOOST_OUTCOME_TRY(row, st.step());
    if (!row) break;
    kinds.push_back(st.col_text(0));
  }
  return lease(c, kinds, now_ms, lease_ms, limit, 0);
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

Status save_results(Conn& c, const std::vector<JobResult>& results, std::int64_t now_ms) {
  for (const auto& r : results) {
    BOOST_OUTCOME_TRY(r.done ? complete(c, r.id)
                             : fail(c, r.id, r.error, r.retry_at, r.dead, now_ms));
  }
  return ok();
}

Result<std::optional<std::int64_t>> next_due(Conn& c, const std::vector<std::string>& kinds) {
  std::optional<std::int64_t> best;
  for (const auto& k : kinds) {
    // Two min() lookups, each one probe of jobs_kind_due; min() skips NULLs.
    BOOST_OUTCOME_TRY(st, c.prepare("SELECT min(v) FROM (SELECT min(run_at) AS v FROM jobs"
                                    " WHERE kind = ?1 AND state = 'queued' UNION ALL"
                                    " SELECT min(lease_until) FROM jobs WHERE kind = ?1"
                                    " AND state = 'leased') AS due"));
    st.bind(1, k);
    BOOST_OUTCOME_TRY(row, st.step());
    if (row && !st.col_null(0) && (!best || st.col_int(0) < *best)) best = st.col_int(0);
  }
  return best;
}

Result<QueueGauges> gauges(Conn& c, std::int64_t now_ms) {
  BOOST_OUTCOME_TRY(
      st,
      c.prepare("SELECT count(*) FILTER (WHERE state = 'queued'),"
                " count(*) FILTER (WHERE state = 'leased'), count(*) FILTER (WHERE state ="
                " 'dead'), count(*) FILTER (WHERE state = 'queued' AND run_at <= ?) FROM jobs"));
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
  looping_ = true;
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
  kinds_.clear();  // here, not in start(): handlers registered right after start() count
  for (const auto& [k, h] : handlers_) kinds_.push_back(k);
  while (!stopping_) {
    poked_ = false;
    const std::int64_t wake = co_await round();
    if (stopping_) break;
    // Poked during the round: a job ended or work was committed after our
    // lease query ran. Each poke follows one, so this is no busy loop.
    if (poked_) continue;
    const auto wait = std::clamp<std::int64_t>(wake - clock_.now_ms(), 0, o_.poll.count());
    timer_.expires_after(std::chrono::milliseconds(wait));
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  looping_ = false;
  co_await save_now();  // outcomes that ended during the last round
}

// One write transaction: save the outcomes, lease for the free slots, read
// when the next job is due. A failed round saved and leased nothing: the
// unsaved jobs' leases run out and they run again (handlers are idempotent).
awaitable<std::int64_t> JobRunner::round() {
  const int room = handlers_.empty() ? 0 : o_.concurrency - in_flight_;
  std::vector<JobResult> results = std::exchange(results_, {});
  const auto now = clock_.now_ms();
  if (room <= 0 && results.empty()) co_return now + o_.poll.count();
  const std::size_t first = next_first_++;
  std::vector<Job> jobs;
  std::optional<std::int64_t> due;
  auto st = co_await db_.write([&](Conn& c) -> Status {
    BOOST_OUTCOME_TRY(save_results(c, results, now));
    if (room > 0) {
      BOOST_OUTCOME_TRY(got, lease(c, kinds_, now, o_.lease.count(), room, first));
      jobs = std::move(got);
    }
    BOOST_OUTCOME_TRY(d, next_due(c, kinds_));
    due = d;
    return ok();
  });
  ++stats_.rounds;
  if (!st) {
    spdlog::warn("job round failed reason={} outcomes_lost={}", st.error().detail, results.size());
    co_return now + o_.poll.count();
  }
  for (const auto& r : results) ++(r.done ? stats_.completed : stats_.failed);
  stats_.leased += jobs.size();
  in_flight_ += static_cast<int>(jobs.size());  // counted now: the spawns start later
  for (auto& j : jobs) asio::co_spawn(io_, run_job(std::move(j)), asio::detached);
  // Due now but not leased: every slot is busy, and a job that ends pokes.
  co_return due&&* due > now ? *due : now + o_.poll.count();
}

JobResult JobRunner::result_of(const Job& j, const JobOutcome& out, std::int64_t now) {
  if (out.done) return JobResult{j.id, true, {}, 0, false};
  auto delay = out.retry_after.value_or(
      backoff(j.attempts, o_.backoff_base, 2.0, o_.backoff_cap, 0.2, rng_));
  return JobResult{j.id, false, out.error, now + delay.count(), out.permanent};
}

awaitable<void> JobRunner::run_job(Job j) {
  JobOutcome out;
  try {
    out = co_await handlers_.at(j.kind)(j);
  } catch (const std::exception& e) {
    out = JobOutcome{false, std::string("handler threw: ") + e.what(), std::nullopt, false};
  }
  results_.push_back(result_of(j, out, clock_.now_ms()));
  --in_flight_;
  if (looping_) {
    poke();  // the next round saves it (with the others that ended) and fills the slot
  } else {
    co_await save_now();
  }
}

awaitable<void> JobRunner::save_now() {
  if (results_.empty()) co_return;
  std::vector<JobResult> results = std::exchange(results_, {});
  const auto now = clock_.now_ms();
  auto st = co_await db_.write([&](Conn& c) { return save_results(c, results, now); });
  // Not saved: the leases run out and the jobs run again.
  if (!st) {
    spdlog::warn("saving job outcomes failed reason={} outcomes_lost={}", st.error().detail,
                 results.size());
  }
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

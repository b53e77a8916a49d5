// The durable job queue (docs/storage.md): enqueue inside the caller's
// transaction; a runner leases due jobs with a deadline, runs them, and either
// deletes them or schedules a retry with exponential backoff and jitter. A job
// whose lease expired (the daemon died while running it) runs again.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/asio.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "storage/db.hpp"

namespace fc::storage {

struct Job {
  std::int64_t id = 0;
  std::string kind;
  std::string key;
  std::string payload;
  std::int64_t attempts = 0;  // including the current one
  std::int64_t run_at = 0;
  std::optional<std::string> last_error;
};

struct NewJob {
  std::string kind;
  std::string key;  // a queued job with the same kind+key is reused
  std::string payload = "{}";
  std::int64_t run_at = 0;  // unix ms
  std::int64_t max_attempts = 0;
};

// Inside the caller's transaction. With a key: when the same kind+key is
// queued already, its run_at moves earlier if this one is sooner.
Status enqueue(Conn& c, const NewJob& j, std::int64_t now_ms);
// Leases up to `limit` due jobs (queued and due, or leased with an expired
// lease) until now + lease_ms, bumping attempts.
// `kinds_json` is a JSON array of the kinds the caller can run.
Result<std::vector<Job>> lease(Conn& c, const std::string& kinds_json, std::int64_t now_ms,
                               std::int64_t lease_ms, int limit);
Status complete(Conn& c, std::int64_t id);
// Retry at `retry_at`; `dead` keeps it for inspection instead.
Status fail(Conn& c, std::int64_t id, const std::string& error, std::int64_t retry_at, bool dead,
            std::int64_t now_ms);

struct QueueGauges {
  std::int64_t queued = 0, leased = 0, dead = 0, due = 0;
};
Result<QueueGauges> gauges(Conn& c, std::int64_t now_ms);

// Exponential backoff: base * factor^(attempt-1), capped, with +/-jitter
// fraction drawn from `rng`. attempt starts at 1.
std::chrono::milliseconds backoff(std::int64_t attempt, std::chrono::milliseconds base,
                                  double factor, std::chrono::milliseconds cap, double jitter,
                                  std::mt19937_64& rng);

// What a handler tells the runner.
struct JobOutcome {
  bool done = true;
  std::string error;                                     // when !done
  std::optional<std::chrono::milliseconds> retry_after;  // e.g. from Retry-After
  bool permanent = false;                                // stop retrying (dead)
};

using JobHandler = std::function<awaitable<JobOutcome>(Job)>;

class JobRunner {
 public:
  struct Options {
    int concurrency = 16;
    std::chrono::milliseconds lease{60000};
    std::chrono::milliseconds poll{500};
    std::chrono::milliseconds backoff_base{1000};
    std::chrono::milliseconds backoff_cap{std::chrono::hours(1)};
  };
  JobRunner(asio::io_context& io, Database& db, const Clock& clock, Options o);
  void on(const std::string& kind, JobHandler h) { handlers_[kind] = std::move(h); }
  void start();
  // Wakes the runner now (after enqueuing due work). A poke that arrives while
  // the runner is leasing (not waiting) makes it lease again at once. The
  // runner pokes itself when a job ends and the last lease was full.
  void poke();
  void stop();
  int in_flight() const { return in_flight_; }

 private:
  awaitable<void> loop();
  awaitable<void> run_job(Job j);
  asio::io_context& io_;
  Database& db_;
  const Clock& clock_;
  Options o_;
  std::map<std::string, JobHandler> handlers_;
  asio::steady_timer timer_;
  std::mt19937_64 rng_{std::random_device{}()};
  int in_flight_ = 0;
  bool stopping_ = false;
  bool poked_ = false;
  bool saturated_ = false;  // the last lease was cut by `concurrency`: more may be due
};

// Inside the caller's transaction: every job of `kind` still leased (by a
// process that died) is queued again to run at `run_at`, its lease cleared.
// One daemon owns the database, so a lease left at start is stale.
Status requeue_leased(Conn& c, const std::string& kind, std::int64_t run_at);
// The keys of every job of `kind` still in the queue (queued or leased), for
// callers that enqueue only what has no job yet.
Result<std::vector<std::string>> job_keys(Conn& c, const std::string& kind);

}  // namespace fc::storage

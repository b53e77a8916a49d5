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
// lease) until now + lease_ms, bumping attempts. Fair across kinds: each kind
// with due jobs gets an equal share of `limit` (the remainder goes round-robin
// from kinds[first % size]), and share a kind leaves unused goes to the others;
// within a kind, expired leases first, then the oldest run_at. One indexed
// range per kind (jobs_kind_due), however many jobs of another kind are due.
Result<std::vector<Job>> lease(Conn& c, const std::vector<std::string>& kinds, std::int64_t now_ms,
                               std::int64_t lease_ms, int limit, std::size_t first = 0);
// The same with the kinds as a JSON array (["a","b"]).
Result<std::vector<Job>> lease(Conn& c, const std::string& kinds_json, std::int64_t now_ms,
                               std::int64_t lease_ms, int limit);
Status complete(Conn& c, std::int64_t id);
// Retry at `retry_at`; `dead` keeps it for inspection instead.
Status fail(Conn& c, std::int64_t id, const std::string& error, std::int64_t retry_at, bool dead,
            std::int64_t now_ms);

// A finished job's outcome; the runner saves them in batches.
struct JobResult {
  std::int64_t id = 0;
  bool done = true;   // delete it
  std::string error;  // otherwise: retry at retry_at (or dead)
  std::int64_t retry_at = 0;
  bool dead = false;
};
// Completes or fails every one of `results` (inside the caller's transaction).
Status save_results(Conn& c, const std::vector<JobResult>& results, std::int64_t now_ms);
// When the next job of `kinds` becomes due: the earliest queued run_at or
// lease expiry; nullopt when none is queued or leased.
Result<std::optional<std::int64_t>> next_due(Conn& c, const std::vector<std::string>& kinds);

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

// Runs the registered kinds' jobs, at most `concurrency` at once. Each round
// is one write transaction: it saves the outcomes of the jobs that ended since
// the last one (group commit), leases due jobs fairly across kinds for the
// free slots, and reads when the next job becomes due; the runner then sleeps
// until that moment (or `poll` at most, for jobs enqueued without a poke), or
// until a job ends or poke() is called.
class JobRunner {
 public:
  struct Options {
    int concurrency = 16;
    std::chrono::milliseconds lease{60000};
    std::chrono::milliseconds poll{500};  // longest sleep without a poke
    std::chrono::milliseconds backoff_base{1000};
    std::chrono::milliseconds backoff_cap{std::chrono::hours(1)};
  };
  struct Stats {
    std::uint64_t leased = 0, completed = 0, failed = 0, rounds = 0;
  };
  JobRunner(asio::io_context& io, Database& db, const Clock& clock, Options o);
  void on(const std::string& kind, JobHandler h) { handlers_[kind] = std::move(h); }
  void start();
  // Wakes the runner now (after enqueuing due work). A poke that arrives while
  // the runner is in a round (not waiting) makes it run another round at once.
  // Every job that ends pokes it too.
  void poke();
  // Stops leasing; outcomes of jobs still running are saved when they end.
  void stop();
  int in_flight() const { return in_flight_; }
  const Stats& stats() const { return stats_; }

 private:
  awaitable<void> loop();
  awaitable<std::int64_t> round();  // returns when to wake (unix ms)
  awaitable<void> run_job(Job j);
  awaitable<void> save_now();  // after the loop ended
  JobResult result_of(const Job& j, const JobOutcome& out, std::int64_t now);
  asio::io_context& io_;
  Database& db_;
  const Clock& clock_;
  Options o_;
  std::map<std::string, JobHandler> handlers_;
  std::vector<std::string> kinds_;
  asio::steady_timer timer_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::vector<JobResult> results_;  // ended, not saved yet
  std::size_t next_first_ = 0;      // round-robin start over kinds_
  int in_flight_ = 0;
  bool stopping_ = false;
  bool looping_ = false;
  bool poked_ = false;
  Stats stats_;
};

// Inside the caller's transaction: every job of `kind` still leased (by a
// process that died) is queued again to run at `run_at`, its lease cleared.
// One daemon owns the database, so a lease left at start is stale.
Status requeue_leased(Conn& c, const std::string& kind, std::int64_t run_at);
// The keys of every job of `kind` still in the queue (queued or leased), for
// callers that enqueue only what has no job yet.
Result<std::vector<std::string>> job_keys(Conn& c, const std::string& kind);

}  // namespace fc::storage

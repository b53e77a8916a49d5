// Job runner throughput and fairness (docs/BENCHMARKS.md "Job runner"), on a
// real migrated database file (WAL, synchronous=FULL, as the daemon runs it):
//
//  - drain: N jobs due now, a handler that completes at once; jobs/s from the
//    first lease to the last completion (claimed and completed, durable).
//  - self: K jobs (default: one per slot) whose handler reschedules itself (not done, retry_after 0
//    or 1 ms, like a check that runs again soon); runs/s over a time budget.
//  - fairness: N jobs of one kind queued, then one job of another kind due
//    now: time from its enqueue (with a poke) to its handler starting.
//  - raw SQLite peer: the same lease + complete SQL in a tight loop on one
//    connection, one transaction per batch of `concurrency` jobs (complete the
//    previous batch and lease the next in one commit): the ceiling of a
//    durable runner on this disk.
//
//   jobs_bench [--jobs N] [--self K] [--concurrency C[,C...]] [--budget-s S] [--dir DIR]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "storage/db.hpp"
#include "storage/jobs.hpp"

namespace {

using SteadyClock = std::chrono::steady_clock;
using fc::storage::Conn;
using fc::storage::Job;
using fc::storage::JobOutcome;
using fc::storage::JobRunner;
using fc::storage::NewJob;

struct BenchArgs {
  int jobs = 50000;  // drain and fairness
  int self = 0;      // self-rescheduling jobs; 0 = as many as `concurrency`
  std::vector<int> concurrency{16, 64, 256};
  double budget_s = 10;  // per variant
  std::string dir;
};

[[noreturn]] void bench_die(const std::string& what) {
  std::fprintf(stderr, "jobs_bench: %s\n", what.c_str());
  std::exit(1);
}

double secs_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// A fresh migrated database holding `n` jobs of `kind`, all due at `run_at`.
std::string make_db(const std::string& dir, const std::string& name, const std::string& kind, int n,
                    std::int64_t run_at) {
  std::string path = dir + "/" + name + ".db";
  auto c = Conn::open(path, fc::storage::OpenMode::kReadWrite);
  if (!c) bench_die("cannot open " + path);
  if (!fc::storage::migrate(*c.value(), run_at)) bench_die("migrate failed");
  if (!c.value()->exec("BEGIN")) bench_die("BEGIN failed");
  for (int i = 0; i < n; ++i) {
    NewJob j{kind, kind + "-" + std::to_string(i), "{}", run_at, 0};
    if (!fc::storage::enqueue(*c.value(), j, run_at)) bench_die("enqueue failed");
  }
  if (!c.value()->exec("COMMIT")) bench_die("COMMIT failed");
  return path;
}

std::unique_ptr<fc::storage::Database> open_db(const std::string& path) {
  auto db = fc::storage::Database::open({path});
  if (!db) bench_die(db.error().detail);
  return std::move(db).value();
}

// The end of a variant: the writer thread resumes its callers on `io`, so the
// database is closed (that thread joined) while `io` is still alive, then what
// it resumed runs out. Leaving it to the destructors destroyed `io` first
// (declared after the database) while a commit that outlasted the 200 ms
// drain was still in flight: its post hit the freed io_context (ASan
// heap-use-after-free in resume_all, 1 run in 10 at load 6.8).
void finish(fc::asio::io_context& io, fc::storage::Database& db) {
  db.close();
  io.restart();
  io.run_for(std::chrono::seconds(10));
}

JobRunner::Options runner_options(int concurrency) {
  JobRunner::Options o;
  o.concurrency = concurrency;
  return o;
}

struct Figure {
  int jobs = 0;
  double seconds = 0;
  std::uint64_t commits = 0;
};

// Drain: every job completes at once; stops when all ran or the budget is up.
Figure run_drain(const BenchArgs& a, int conc) {
  fc::SystemClock clock;
  auto path = make_db(a.dir, "drain" + std::to_string(conc), "bench.drain", a.jobs, clock.now_ms());
  auto db = open_db(path);
  fc::asio::io_context io;
  JobRunner runner(io, *db, clock, runner_options(conc));
  Figure f;
  runner.on("bench.drain", [&](Job) -> fc::awaitable<JobOutcome> {
    if (++f.jobs == a.jobs) runner.stop();
    co_return JobOutcome{};
  });
  auto before = db->stats().batches;
  auto t0 = SteadyClock::now();
  runner.start();
  io.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(a.budget_s)));
  runner.stop();
  io.run_for(std::chrono::milliseconds(200));  // let the last outcomes be saved
  f.seconds = secs_since(t0);
  f.commits = db->stats().batches - before;
  finish(io, *db);
  return f;
}

// Self-rescheduling: each run asks to run again `delay_ms` later; counts runs in the budget.
Figure run_self(const BenchArgs& a, int conc, int delay_ms) {
  fc::SystemClock clock;
  auto name = "self" + std::to_string(conc) + "-" + std::to_string(delay_ms);
  auto path = make_db(a.dir, name, "bench.self", a.self > 0 ? a.self : conc, clock.now_ms());
  auto db = open_db(path);
  fc::asio::io_context io;
  JobRunner runner(io, *db, clock, runner_options(conc));
  Figure f;
  runner.on("bench.self", [&](Job) -> fc::awaitable<JobOutcome> {
    ++f.jobs;
    co_return JobOutcome{false, "again", std::chrono::milliseconds(delay_ms), false};
  });
  auto before = db->stats().batches;
  auto t0 = SteadyClock::now();
  runner.start();
  io.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(std::min(a.budget_s, 5.0))));
  f.seconds = secs_since(t0);
  runner.stop();
  io.run_for(std::chrono::milliseconds(200));
  f.commits = db->stats().batches - before;
  finish(io, *db);
  return f;
}

struct FairFigure {
  double start_s = -1;  // enqueue of the other kind -> its handler started
  int bulk_before = 0;  // bulk jobs that ran before it
};

fc::awaitable<void> enqueue_urgent(fc::asio::io_context* io, fc::storage::Database* db,
                                   JobRunner* runner, const fc::Clock* clock,
                                   SteadyClock::time_point* at) {
  fc::asio::steady_timer t(*io);
  t.expires_after(std::chrono::milliseconds(300));  // the bulk kind is running by then
  co_await t.async_wait(fc::use_awaitable);
  *at = SteadyClock::now();
  auto now = clock->now_ms();
  auto st = co_await db->write([now](Conn& c) {
    return fc::storage::enqueue(c, NewJob{"bench.urgent", "renew-1", "{}", now, 0}, now);
  });
  if (!st) bench_die("enqueue urgent failed");
  runner->poke();
}

FairFigure run_fair(const BenchArgs& a, int conc) {
  fc::SystemClock clock;
  auto path = make_db(a.dir, "fair" + std::to_string(conc), "bench.bulk", a.jobs, clock.now_ms());
  auto db = open_db(path);
  fc::asio::io_context io;
  JobRunner runner(io, *db, clock, runner_options(conc));
  FairFigure f;
  SteadyClock::time_point at{};
  // The bulk kind takes 20 ms per job, like a DNS query: slots stay busy.
  runner.on("bench.bulk", [&](Job) -> fc::awaitable<JobOutcome> {
    ++f.bulk_before;
    fc::asio::steady_timer t(io);
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(fc::use_awaitable);
    co_return JobOutcome{};
  });
  runner.on("bench.urgent", [&](Job) -> fc::awaitable<JobOutcome> {
    f.start_s = secs_since(at);
    runner.stop();
    co_return JobOutcome{};
  });
  runner.start();
  fc::asio::co_spawn(io, enqueue_urgent(&io, db.get(), &runner, &clock, &at), fc::asio::detached);
  io.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(a.budget_s)));
  runner.stop();
  io.run_for(std::chrono::milliseconds(200));
  finish(io, *db);
  return f;
}

// Raw SQLite: lease `conc` jobs, complete them, one commit per batch.
Figure run_raw(const BenchArgs& a, int conc) {
  fc::SystemClock clock;
  auto now = clock.now_ms();
  auto path = make_db(a.dir, "raw" + std::to_string(conc), "bench.raw", a.jobs, now);
  auto c = Conn::open(path, fc::storage::OpenMode::kReadWrite);
  if (!c) bench_die("cannot open " + path);
  Conn& conn = *c.value();
  Figure f;
  std::vector<Job> prev;
  auto t0 = SteadyClock::now();
  while (secs_since(t0) < a.budget_s) {
    if (!conn.exec("BEGIN IMMEDIATE")) bench_die("BEGIN failed");
    for (const auto& j : prev) {
      if (!fc::storage::complete(conn, j.id)) bench_die("complete failed");
    }
    f.jobs += static_cast<int>(prev.size());
    auto got = fc::storage::lease(conn, R"(["bench.raw"])", now, 60000, conc);
    if (!got) bench_die("lease failed");
    prev = std::move(got).value();
    if (!conn.exec("COMMIT")) bench_die("COMMIT failed");
    ++f.commits;
    if (prev.empty()) break;
  }
  f.seconds = secs_since(t0);
  return f;
}

void print_row(const char* what, int conc, const Figure& f) {
  double rate = f.seconds > 0 ? f.jobs / f.seconds : 0;
  std::printf("| %-28s | %5d | %7d | %7.2f | %9.0f | %7llu | %7.1f |\n", what, conc, f.jobs,
              f.seconds, rate, static_cast<unsigned long long>(f.commits),
              f.commits ? double(f.jobs) / double(f.commits) : 0.0);
}

std::vector<int> parse_list(const char* s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) out.push_back(std::atoi(part.c_str()));
  return out;
}

BenchArgs parse_args(int argc, char** argv) {
  BenchArgs a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) bench_die("missing value for " + k);
      return argv[++i];
    };
    if (k == "--jobs")
      a.jobs = std::atoi(next());
    else if (k == "--self")
      a.self = std::atoi(next());
    else if (k == "--concurrency")
      a.concurrency = parse_list(next());
    else if (k == "--budget-s")
      a.budget_s = std::atof(next());
    else if (k == "--dir")
      a.dir = next();
    else
      bench_die("unknown argument " + k);
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  BenchArgs a = parse_args(argc, argv);
  bool own_dir = a.dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/fc-jobs-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) bench_die("mkdtemp failed");
    a.dir = tmpl;
  }
  std::printf(
      "jobs_bench: %d jobs (drain, fairness), %d self-rescheduling (0: one per slot), dir %s\n\n",
      a.jobs, a.self, a.dir.c_str());
  std::printf("| %-28s | %5s | %7s | %7s | %9s | %7s | %7s |\n", "variant", "conc", "jobs",
              "seconds", "jobs/s", "commits", "jobs/commit");
  std::printf(
      "|------------------------------|-------|---------|---------|-----------|---------|---------|"
      "\n");
  std::vector<FairFigure> fair;
  for (int conc : a.concurrency) {
    print_row("runner: drain (done at once)", conc, run_drain(a, conc));
    print_row("runner: self, again at once", conc, run_self(a, conc, 0));
    print_row("runner: self, again in 1 ms", conc, run_self(a, conc, 1));
    print_row("raw SQLite: lease+complete", conc, run_raw(a, conc));
    fair.push_back(run_fair(a, conc));
  }
  std::printf("\nfairness: %d jobs of one kind queued (20 ms each), one other kind due now\n",
              a.jobs);
  for (std::size_t i = 0; i < fair.size(); ++i) {
    if (fair[i].start_s < 0)
      std::printf("  conc %4d: the other kind did not start within %.0f s (%d bulk jobs ran)\n",
                  a.concurrency[i], a.budget_s, fair[i].bulk_before);
    else
      std::printf("  conc %4d: started %.3f s after its enqueue\n", a.concurrency[i],
                  fair[i].start_s);
  }
  if (own_dir) std::filesystem::remove_all(a.dir);
  return 0;
}

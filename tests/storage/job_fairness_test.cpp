// The job runner's batching and fairness (issue #16 item 6): leases are fair
// across kinds (a kind with one due job is not queued behind 50,000 of
// another), outcomes are saved in batches without a job running twice at
// once or being lost, a stopped runner still saves what ends after stop(),
// a foreign lease is retaken only once it expired, and the runner wakes when
// a job becomes due instead of at the next poll.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <set>

#include "storage/jobs.hpp"
#include "test_util.hpp"

using namespace fc::storage;
using fc::storage::test::kT0;
using fc::storage::test::scalar;
using std::chrono::milliseconds;

namespace {

using FairSteady = std::chrono::steady_clock;

void enqueue_bulk(Database& db, const std::string& kind, int n, std::int64_t run_at) {
  REQUIRE(db.write_sync([&](Conn& c) -> fc::Status {
    for (int i = 0; i < n; ++i) {
      BOOST_OUTCOME_TRY(
          enqueue(c, NewJob{kind, kind + std::to_string(i), "{}", run_at, 0}, run_at));
    }
    return fc::ok();
  }));
}

std::unique_ptr<Database> fair_db(const test::TempDir& dir) {
  test::open_migrated(dir.file("f.db"));
  auto db = Database::open({dir.file("f.db")});
  REQUIRE(db);
  return std::move(db).value();
}

// Sleeps `ms` on the io_context (a handler that keeps its slot busy).
fc::awaitable<void> fair_sleep(fc::asio::io_context& io, int ms) {
  fc::asio::steady_timer t(io);
  t.expires_after(milliseconds(ms));
  co_await t.async_wait(fc::use_awaitable);
}

}  // namespace

TEST_SUITE("storage") {
  TEST_CASE("lease shares the batch across kinds; unused share goes to the others") {
    test::TempDir dir;
    auto c = test::open_migrated(dir.file("l.db"));
    REQUIRE(c->exec("BEGIN"));
    for (int i = 0; i < 50000; ++i) {
      REQUIRE(enqueue(*c, NewJob{"bulk", "b" + std::to_string(i), "{}", kT0 - 1000, 0}, kT0));
    }
    REQUIRE(enqueue(*c, NewJob{"renew", "r1", "{}", kT0, 0}, kT0));
    for (int i = 0; i < 10; ++i) {
      REQUIRE(enqueue(*c, NewJob{"dns", "d" + std::to_string(i), "{}", kT0, 0}, kT0));
    }
    REQUIRE(c->exec("COMMIT"));
    auto got = lease(*c, std::vector<std::string>{"bulk", "dns", "renew"}, kT0, 60000, 9);
    REQUIRE(got);
    std::map<std::string, int> by_kind;
    for (const auto& j : got.value()) ++by_kind[j.kind];
    CHECK(by_kind["renew"] == 1);  // its one due job, though 50,000 older ones are due
    CHECK(by_kind["bulk"] == 4);   // 3 each, renew's unused 2 split between the others
    CHECK(by_kind["dns"] == 4);
    // Oldest first within a kind.
    for (const auto& j : got.value()) {
      if (j.kind == "bulk") CHECK(j.key < "b4");
    }
    // The JSON form leases the same way.
    auto more = lease(*c, R"(["renew","dns"])", kT0, 60000, 100);
    REQUIRE(more);
    CHECK(more.value().size() == 6);  // dns's 6 left; renew's one is leased
  }

  TEST_CASE("JobRunner: with 50,000 jobs of one kind queued, another kind due now starts < 1 s") {
    test::TempDir dir;
    auto db = fair_db(dir);
    fc::ManualClock clock;
    const auto now = clock.now_ms();
    enqueue_bulk(*db, "domain.verify", 50000, now - 1000);
    fc::asio::io_context io;
    JobRunner runner(io, *db, clock, JobRunner::Options{});
    int bulk_ran = 0;
    runner.on("domain.verify", [&](Job) -> fc::awaitable<JobOutcome> {
      ++bulk_ran;
      co_await fair_sleep(io, 20);  // slots stay busy, as with real DNS queries
      co_return JobOutcome{};
    });
    FairSteady::time_point enqueued{}, started{};
    runner.on("cert.renew", [&](Job) -> fc::awaitable<JobOutcome> {
      started = FairSteady::now();
      runner.stop();
      co_return JobOutcome{};
    });
    runner.start();
    fc::asio::co_spawn(
        io,
        [&]() -> fc::awaitable<void> {
          co_await fair_sleep(io, 300);  // the bulk kind fills every slot by then
          enqueued = FairSteady::now();
          REQUIRE(co_await db->write([now](Conn& c) {
            return enqueue(c, NewJob{"cert.renew", "crt_1", "{}", now, 0}, now);
          }));
          runner.poke();
        },
        fc::asio::detached);
    io.run_for(std::chrono::seconds(20));
    REQUIRE(started != FairSteady::time_point{});
    CHECK(bulk_ran > 16);  // the slots were busy with the bulk kind before
    CHECK(started - enqueued < std::chrono::seconds(1));
  }

  TEST_CASE("JobRunner batches: every job runs once per attempt, never twice at once") {
    test::TempDir dir;
    auto db = fair_db(dir);
    fc::ManualClock clock;
    const auto now = clock.now_ms();
    enqueue_bulk(*db, "a", 1500, now);
    enqueue_bulk(*db, "b", 500, now);
    // Two jobs of "a" leased by a runner that died: retaken only after their lease.
    REQUIRE(db->write_sync([&](Conn& c) -> fc::Status {
      BOOST_OUTCOME_TRY(got, lease(c, std::vector<std::string>{"a"}, now, 5000, 2));
      return got.size() == 2 ? fc::ok() : fc::Status(fc::Error{fc::Code::kInternal, "lease"});
    }));
    fc::asio::io_context io;
    JobRunner::Options o;
    o.concurrency = 64;
    o.poll = milliseconds(20);
    o.backoff_base = milliseconds(1);
    JobRunner runner(io, *db, clock, o);
    std::map<std::string, int> runs;
    std::set<std::int64_t> running;
    bool overlap = false;
    int ended = 0;
    auto handler = [&](Job j) -> fc::awaitable<JobOutcome> {
      overlap = overlap || !running.insert(j.id).second;
      const int n = ++runs[j.kind + j.key];
      co_await fair_sleep(io, static_cast<int>(j.id % 3));
      running.erase(j.id);
      ++ended;
      // Every seventh job fails once, then succeeds on its retry.
      if (j.id % 7 == 0 && n == 1) co_return JobOutcome{false, "once", milliseconds(0), false};
      co_return JobOutcome{};
    };
    runner.on("a", handler);
    runner.on("b", handler);
    runner.start();
    int expired_runs_early = -1;
    fc::asio::co_spawn(
        io,
        [&]() -> fc::awaitable<void> {
          for (int i = 0; i < 2000; ++i) {
            co_await fair_sleep(io, 5);
            auto g = gauges(db->read(), clock.now_ms());
            REQUIRE(g);
            if (g.value().queued == 0 && g.value().leased == 2 && expired_runs_early < 0) {
              // Only the two foreign leases are left: they must not have run yet.
              expired_runs_early = runs["aa0"] + runs["aa1"];
              clock.advance(milliseconds(6000));
              runner.poke();
            }
            if (g.value().queued + g.value().leased == 0 && runner.in_flight() == 0) break;
          }
          runner.stop();
        },
        fc::asio::detached);
    io.run_for(std::chrono::seconds(60));
    CHECK_FALSE(overlap);
    CHECK(expired_runs_early == 0);
    CHECK(scalar(db->read(), "SELECT count(*) FROM jobs") == 0);
    CHECK(runs.size() == 2000);
    int total = 0;
    for (const auto& [k, n] : runs) total += n;
    CHECK(total == ended);
    CHECK(runner.stats().completed == 2000);
    CHECK(runner.stats().failed == static_cast<std::uint64_t>(total - 2000));
    CHECK(runner.stats().rounds < 600);  // batched: far fewer transactions than outcomes
  }

  TEST_CASE("JobRunner: outcomes of jobs that end after stop() are still saved") {
    test::TempDir dir;
    auto db = fair_db(dir);
    fc::ManualClock clock;
    enqueue_bulk(*db, "slow", 4, clock.now_ms());
    fc::asio::io_context io;
    JobRunner runner(io, *db, clock, JobRunner::Options{});
    int started = 0;
    runner.on("slow", [&](Job) -> fc::awaitable<JobOutcome> {
      if (++started == 4) runner.stop();
      co_await fair_sleep(io, 50);
      co_return JobOutcome{};
    });
    runner.start();
    io.run_for(std::chrono::seconds(5));
    CHECK(started == 4);
    CHECK(scalar(db->read(), "SELECT count(*) FROM jobs") == 0);
  }

  TEST_CASE("JobRunner wakes when a job becomes due, not at the next poll") {
    test::TempDir dir;
    auto db = fair_db(dir);
    fc::SystemClock clock;
    fc::asio::io_context io;
    JobRunner::Options o;
    o.poll = std::chrono::hours(1);
    JobRunner runner(io, *db, clock, o);
    const auto due = clock.now_ms() + 300;
    enqueue_bulk(*db, "later", 1, due);
    std::int64_t ran_at = 0;
    runner.on("later", [&](Job) -> fc::awaitable<JobOutcome> {
      ran_at = clock.now_ms();
      runner.stop();
      co_return JobOutcome{};
    });
    runner.start();
    io.run_for(std::chrono::seconds(10));
    REQUIRE(ran_at != 0);
    CHECK(ran_at >= due);
    CHECK(ran_at - due < 1000);  // the poll is an hour: only the due-time wake-up can do this
  }
}

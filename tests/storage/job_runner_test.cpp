// JobRunner end to end on an io_context: a job that succeeds, one that fails
// once and succeeds on retry (after backoff on a manual clock), one that fails
// permanently, and one that throws.
#include <doctest/doctest.h>

#include <map>
#include <stdexcept>

#include "storage/jobs.hpp"
#include "test_util.hpp"

using namespace fc::storage;
using fc::storage::test::scalar;
using std::chrono::milliseconds;

namespace {

struct Seen {
  std::map<std::string, int> calls;  // by job key
};

fc::awaitable<JobOutcome> handle(Seen* seen, Job j) {
  int n = ++seen->calls[j.key];
  if (j.key == "ok") co_return JobOutcome{};
  if (j.key == "flaky" && n == 1) co_return JobOutcome{false, "temporary", std::nullopt, false};
  if (j.key == "flaky") co_return JobOutcome{};
  if (j.key == "perm") co_return JobOutcome{false, "permanent", std::nullopt, true};
  if (j.key == "throws") throw std::runtime_error("handler bug");
  co_return JobOutcome{};
}

// Advances the manual clock and stops the runner once the queue settled.
fc::awaitable<void> watch(fc::asio::io_context* io, JobRunner* runner, Database* db,
                          fc::ManualClock* clock, Seen* seen, bool* settled) {
  fc::asio::steady_timer t(*io);
  for (int tick = 0; tick < 2000 && !*settled; ++tick) {
    t.expires_after(milliseconds(5));
    co_await t.async_wait(fc::use_awaitable);
    clock->advance(milliseconds(500));  // past any backoff within a few ticks
    runner->poke();
    auto g = gauges(db->read(), clock->now_ms());
    bool empty_but_dead =
        g && g.value().queued == 0 && g.value().leased == 0 && g.value().dead == 1;
    *settled = empty_but_dead && seen->calls["flaky"] == 2 && seen->calls["throws"] >= 2 &&
               runner->in_flight() == 0;
    if (seen->calls["throws"] >= 2) {
      // Stop the thrower once it has been retried, so the queue can settle.
      (void)co_await db->write(
          [](Conn& c) { return c.exec("DELETE FROM jobs WHERE key = 'throws'"); });
    }
  }
  runner->stop();
}

}  // namespace

TEST_SUITE("storage") {
  TEST_CASE("JobRunner runs, retries with backoff, dead-letters and survives a throwing handler") {
    test::TempDir dir;
    test::open_migrated(dir.file("r.db"));
    auto db = Database::open({dir.file("r.db")});
    REQUIRE(db);
    fc::ManualClock clock;
    auto now = clock.now_ms();
    REQUIRE(db.value()->write_sync([now](Conn& c) -> fc::Status {
      for (const char* k : {"ok", "flaky", "perm", "throws"}) {
        BOOST_OUTCOME_TRY(enqueue(c, NewJob{"task", k, "{}", now, 0}, now));
      }
      return fc::ok();
    }));
    fc::asio::io_context io;
    JobRunner::Options o;
    o.concurrency = 2;
    o.poll = milliseconds(10);
    o.backoff_base = milliseconds(1000);
    JobRunner runner(io, *db.value(), clock, o);
    Seen seen;
    runner.on("task", [&seen](Job j) { return handle(&seen, std::move(j)); });
    runner.start();
    bool settled = false;
    fc::asio::co_spawn(io, watch(&io, &runner, db.value().get(), &clock, &seen, &settled),
                       fc::asio::detached);
    io.run_for(std::chrono::seconds(30));
    REQUIRE(settled);
    CHECK(seen.calls["ok"] == 1);
    CHECK(seen.calls["flaky"] == 2);
    CHECK(seen.calls["perm"] == 1);
    auto& r = db.value()->read();
    CHECK(scalar(r, "SELECT count(*) FROM jobs") == 1);
    auto st = r.prepare("SELECT key, last_error, attempts FROM jobs WHERE state = 'dead'");
    REQUIRE(st);
    REQUIRE(st.value().step().value());
    CHECK(st.value().col_text(0) == "perm");
    CHECK(st.value().col_text(1) == "permanent");
    CHECK(st.value().col_int(2) == 1);
  }

  TEST_CASE("JobRunner: a poke while it leases is not lost (no wait for the next poll tick)") {
    test::TempDir dir;
    test::open_migrated(dir.file("p.db"));
    auto db = Database::open({dir.file("p.db")});
    REQUIRE(db);
    fc::ManualClock clock;
    fc::asio::io_context io;
    JobRunner::Options o;
    o.poll = std::chrono::hours(1);  // only a poke can make it lease again within the test
    JobRunner runner(io, *db.value(), clock, o);
    int ran = 0;
    runner.on("task", [&ran, &runner](Job) -> fc::awaitable<JobOutcome> {
      ++ran;
      runner.stop();
      co_return JobOutcome{};
    });
    runner.start();  // its first lease is submitted to the writer before the enqueue below
    auto* d = db.value().get();
    fc::asio::post(io, [&] {
      // Blocks the I/O thread: the runner's (empty) lease has run but it has not
      // resumed yet, so it is not waiting on its timer when poke() comes.
      const auto now = clock.now_ms();
      REQUIRE(d->write_sync([now](Conn& c) {
        return enqueue(c, NewJob{"task", "k", "{}", now, 0}, now);
      }));
      runner.poke();
    });
    io.run_for(std::chrono::seconds(10));
    CHECK(ran == 1);
  }

  TEST_CASE(
      "JobRunner: more due jobs than its concurrency run back to back, not one batch per poll "
      "tick") {
    test::TempDir dir;
    test::open_migrated(dir.file("s.db"));
    auto db = Database::open({dir.file("s.db")});
    REQUIRE(db);
    fc::ManualClock clock;
    const auto now = clock.now_ms();
    REQUIRE(db.value()->write_sync([now](Conn& c) -> fc::Status {
      for (int i = 0; i < 6; ++i) {
        BOOST_OUTCOME_TRY(enqueue(c, NewJob{"task", "k" + std::to_string(i), "{}", now, 0}, now));
      }
      return fc::ok();
    }));
    fc::asio::io_context io;
    JobRunner::Options o;
    o.concurrency = 2;
    o.poll = std::chrono::hours(1);  // only its own pokes can make it lease the rest
    JobRunner runner(io, *db.value(), clock, o);
    int ran = 0;
    runner.on("task", [&ran, &runner](Job) -> fc::awaitable<JobOutcome> {
      if (++ran == 6) runner.stop();
      // Not done: re-queued far ahead (like a certificate's next renewal), so
      // nothing else pokes the runner.
      co_return JobOutcome{false, "later", std::chrono::hours(24), false};
    });
    runner.start();
    io.run_for(std::chrono::seconds(10));
    CHECK(ran == 6);
  }
}

// The durable job queue: transactional enqueue, lease / complete / fail,
// backoff bounds, dead letters, lease expiry (also after a real process
// died holding the lease), and JobRunner end to end.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <set>

#include "backend_util.hpp"
#include "storage/jobs.hpp"
#include "test_util.hpp"

using namespace fc::storage;
using fc::Result;
using fc::storage::test::kT0;
using fc::storage::test::scalar;
using std::chrono::milliseconds;

namespace {

const std::string kKinds = R"(["mail","other"])";

NewJob job(std::string kind, std::string key = "", std::int64_t run_at = kT0,
           std::int64_t max_attempts = 0) {
  return NewJob{std::move(kind), std::move(key), R"({"to":"x"})", run_at, max_attempts};
}

std::vector<Job> lease_now(Conn& c, std::int64_t now, std::int64_t lease_ms = 1000,
                           int limit = 10) {
  auto r = lease(c, kKinds, now, lease_ms, limit);
  REQUIRE(r);
  return std::move(r).value();
}

std::string state_of(Conn& c, std::int64_t id) {
  auto st = c.prepare("SELECT state FROM jobs WHERE id = ?");
  REQUIRE(st);
  st.value().bind(1, id);
  auto row = st.value().step();
  REQUIRE(row);
  return row.value() ? st.value().col_text(0) : "gone";
}

}  // namespace

TEST_SUITE("storage") {
  TEST_CASE("enqueue inside a transaction that rolls back leaves no job") {
    test::TempDir dir;
    auto c = test::open_backend(dir.file("j.db"));
    {
      Tx tx(*c);
      REQUIRE(enqueue(*c, job("mail"), kT0));
      CHECK(scalar(*c, "SELECT count(*) FROM jobs") == 1);
    }  // no commit
    CHECK(scalar(*c, "SELECT count(*) FROM jobs") == 0);
    c.reset();
    // The same through the group-commit writer: the caller's failure rolls back its enqueue.
    auto db = test::open_database(dir.file("j.db"));
    REQUIRE(db);
    auto st = db.value()->write_sync([](Conn& w) -> fc::Status {
      BOOST_OUTCOME_TRY(enqueue(w, job("mail"), kT0));
      return fc::make_error(fc::Code::kConflict, "caller gives up");
    });
    CHECK_FALSE(st);
    CHECK(scalar(db.value()->read(), "SELECT count(*) FROM jobs") == 0);
    REQUIRE(db.value()->write_sync([](Conn& w) { return enqueue(w, job("mail"), kT0); }));
    CHECK(scalar(db.value()->read(), "SELECT count(*) FROM jobs") == 1);
  }

  TEST_CASE("lease takes due jobs of known kinds only, once; complete deletes") {
    test::TempDir dir;
    auto c = test::open_backend(dir.file("j.db"));
    REQUIRE(enqueue(*c, job("mail", "", kT0), kT0));
    REQUIRE(enqueue(*c, job("mail", "", kT0 + 5000), kT0));  // not due yet
    REQUIRE(enqueue(*c, job("unknown-kind", "", kT0), kT0));
    auto got = lease_now(*c, kT0);
    REQUIRE(got.size() == 1);
    CHECK(got[0].kind == "mail");
    CHECK(got[0].attempts == 1);
    CHECK(got[0].payload == R"({"to":"x"})");
    CHECK(lease_now(*c, kT0 + 10).empty());  // leased: nobody else gets it
    auto g = gauges(*c, kT0 + 10);
    REQUIRE(g);
    CHECK(g.value().leased == 1);
    CHECK(g.value().queued == 2);
    CHECK(g.value().due == 1);  // the unknown kind is due, the later one is not
    REQUIRE(complete(*c, got[0].id));
    CHECK(state_of(*c, got[0].id) == "gone");
    CHECK(lease_now(*c, kT0 + 5000).size() == 1);
  }

  TEST_CASE("a key deduplicates queued jobs and keeps the earlier run time") {
    test::TempDir dir;
    auto c = test::open_backend(dir.file("j.db"));
    REQUIRE(enqueue(*c, job("mail", "ws_1", kT0 + 9000), kT0));
    REQUIRE(enqueue(*c, job("mail", "ws_1", kT0 + 1000), kT0));
    REQUIRE(enqueue(*c, job("mail", "ws_1", kT0 + 5000), kT0));
    REQUIRE(enqueue(*c, job("mail", "ws_2", kT0 + 5000), kT0));
    CHECK(scalar(*c, "SELECT count(*) FROM jobs") == 2);
    CHECK(scalar(*c, "SELECT run_at FROM jobs WHERE key = 'ws_1'") == kT0 + 1000);
    REQUIRE(enqueue(*c, job("mail"), kT0));  // no key: never deduplicated
    REQUIRE(enqueue(*c, job("mail"), kT0));
    CHECK(scalar(*c, "SELECT count(*) FROM jobs") == 4);
  }

  TEST_CASE("fail schedules a retry; max_attempts makes it dead; re-enqueue revives it") {
    test::TempDir dir;
    auto c = test::open_backend(dir.file("j.db"));
    REQUIRE(enqueue(*c, job("mail", "k", kT0, 3), kT0));
    std::int64_t now = kT0;
    for (int attempt = 1; attempt <= 3; ++attempt) {
      CAPTURE(attempt);
      auto got = lease_now(*c, now);
      REQUIRE(got.size() == 1);
      CHECK(got[0].attempts == attempt);
      if (attempt > 1) CHECK(got[0].last_error == "smtp down " + std::to_string(attempt - 1));
      REQUIRE(fail(*c, got[0].id, "smtp down " + std::to_string(attempt), now + 2000, false, now));
      CHECK(lease_now(*c, now + 1999).empty());  // not before its retry time
      now += 2000;
    }
    CHECK(scalar(*c, "SELECT count(*) FROM jobs WHERE state = 'dead'") == 1);
    CHECK(lease_now(*c, now + 1000000).empty());
    CHECK(gauges(*c, now).value().dead == 1);
    REQUIRE(enqueue(*c, job("mail", "k", now), now));
    auto again = lease_now(*c, now);
    REQUIRE(again.size() == 1);
    CHECK(again[0].attempts == 1);
  }

  TEST_CASE("a permanent failure is dead at once") {
    test::TempDir dir;
    auto c = test::open_backend(dir.file("j.db"));
    REQUIRE(enqueue(*c, job("mail"), kT0));
    auto got = lease_now(*c, kT0);
    REQUIRE(got.size() == 1);
    REQUIRE(fail(*c, got[0].id, "400 from the CA", kT0, true, kT0));
    CHECK(state_of(*c, got[0].id) == "dead");
  }

  TEST_CASE("backoff grows exponentially, stays within jitter bounds and the cap") {
    std::mt19937_64 rng(42);
    const milliseconds base{1000}, cap{60000};
    for (std::int64_t attempt = 1; attempt <= 12; ++attempt) {
      double raw = std::min(1000.0 * std::pow(2.0, static_cast<double>(attempt - 1)), 60000.0);
      std::set<std::int64_t> seen;
      for (int i = 0; i < 500; ++i) {
        auto d = backoff(attempt, base, 2.0, cap, 0.2, rng).count();
        CAPTURE(attempt);
        CAPTURE(d);
        CHECK(d >= static_cast<std::int64_t>(raw * 0.8) - 1);
        CHECK(d <= std::min<std::int64_t>(static_cast<std::int64_t>(raw * 1.2) + 1, cap.count()));
        seen.insert(d);
      }
      CHECK(seen.size() > 10);  // jitter actually spreads retries
    }
    CHECK(backoff(0, base, 2.0, cap, 0.0, rng).count() == 1000);
    CHECK(backoff(1000, base, 2.0, cap, 0.0, rng).count() == 60000);  // no overflow
  }

  TEST_CASE("lease expiry: a job leased at T is leased again at T + lease") {
    test::TempDir dir;
    auto c = test::open_backend(dir.file("j.db"));
    REQUIRE(enqueue(*c, job("mail"), kT0));
    auto first = lease_now(*c, kT0, 30000);
    REQUIRE(first.size() == 1);
    CHECK(lease_now(*c, kT0 + 29999, 30000).empty());
    auto second = lease_now(*c, kT0 + 30000, 30000);
    REQUIRE(second.size() == 1);
    CHECK(second[0].id == first[0].id);
    CHECK(second[0].attempts == 2);
  }

  TEST_CASE("a job leased by a process that was SIGKILLed runs again after its lease") {
    test::TempDir dir;
    const std::string path = dir.file("j.db");
    {
      auto c = test::open_migrated(path);
      REQUIRE(enqueue(*c, job("mail"), kT0));
    }
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {  // the "daemon": leases the job, reports, then hangs until killed
      ::close(fds[0]);
      auto c = Conn::open(path, OpenMode::kReadWrite);
      auto got = c ? lease(*c.value(), kKinds, kT0, 60000, 1) : Result<std::vector<Job>>(c.error());
      char ok = got && got.value().size() == 1 ? 'L' : 'E';
      (void)!::write(fds[1], &ok, 1);
      for (int i = 0; i < 600; ++i) ::pause();
      ::_exit(0);
    }
    ::close(fds[1]);
    char what = 0;
    REQUIRE(::read(fds[0], &what, 1) == 1);
    ::close(fds[0]);
    CHECK(what == 'L');
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
    auto c = Conn::open(path, OpenMode::kReadWrite);
    REQUIRE(c);
    CHECK(lease_now(*c.value(), kT0 + 59999).empty());  // the dead process still holds the lease
    auto again = lease_now(*c.value(), kT0 + 60000);
    REQUIRE(again.size() == 1);
    CHECK(again[0].attempts == 2);
  }
}

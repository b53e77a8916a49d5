// The group-commit writer: concurrent writers lose nothing, transactions are
// grouped into fewer commits, and one failing transaction rolls back alone.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "storage/db.hpp"
#include "storage/sqlite/driver.hpp"
#include "test_util.hpp"

using namespace fc::storage;
using fc::Status;
using fc::storage::test::scalar;

namespace {

std::unique_ptr<Database> open_db(const test::TempDir& dir, std::size_t max_batch = 512) {
  test::open_migrated(dir.file("w.db"));  // migrate once, as the daemon does
  auto db = Database::open({dir.file("w.db"), max_batch});
  REQUIRE(db);
  auto st = db.value()->write_sync([](Conn& c) {
    return c.exec(
        "CREATE TABLE rows(writer INTEGER, seq INTEGER, payload TEXT, PRIMARY KEY(writer, seq))");
  });
  REQUIRE(st);
  return std::move(db).value();
}

// One commit's worth for the checkpoint tests: 40 rows of 2 KB (~20 WAL pages).
Status insert_forty(Conn& c, int writer) {
  BOOST_OUTCOME_TRY(st, c.prepare("INSERT INTO rows(writer, seq, payload) VALUES(?, ?, ?)"));
  for (int i = 0; i < 40; ++i) {
    BOOST_OUTCOME_TRY(st.bind_all(writer, i, std::string(2000, 'w')).run());
  }
  return fc::ok();
}

// Closes the database, opens the file again: `rows` rows, integrity_check ok.
void check_reopened(Database& db, const std::string& path, std::int64_t rows) {
  db.close();
  auto c = Conn::open(path, OpenMode::kReadWrite);
  REQUIRE(c);
  CHECK(scalar(*c.value(), "SELECT count(*) FROM rows") == rows);
  CHECK(test::column(*c.value(), "PRAGMA integrity_check").at(0) == "ok");
}

Status insert_row(Conn& c, int writer, int seq) {
  BOOST_OUTCOME_TRY(st, c.prepare("INSERT INTO rows(writer, seq, payload) VALUES(?, ?, ?)"));
  return st.bind_all(writer, seq, std::string(200, 'x')).run();
}

// Holds the writer thread inside a transaction until released, so that
// everything submitted meanwhile lands in the next batch.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, open = false;
  void block() {
    std::unique_lock lk(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lk, [&] { return open; });
  }
  void wait_entered() {
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return entered; });
  }
  void release() {
    std::lock_guard lk(mu);
    open = true;
    cv.notify_all();
  }
};

// A thread whose write (writer 999) holds the writer inside its transaction
// until `gate` opens; returns once it is in there.
std::thread hold_writer(Database& db, Gate& gate) {
  std::thread t([&db, &gate] {
    auto st = db.write_sync([&](Conn& c) {
      gate.block();
      return insert_row(c, 999, 0);
    });
    CHECK(st);
  });
  gate.wait_entered();
  return t;
}

// Coroutines take their arguments by value (a lambda's captures would dangle).
fc::awaitable<void> write_many(Database* db, int w, int n, int* ok_count, int* failed) {
  for (int i = 0; i < n; ++i) {
    Status st = co_await db->write([w, i](Conn& c) { return insert_row(c, w, i); });
    (st ? *ok_count : *failed) += 1;
  }
}

Status mixed_tx(Conn& c, int i) {
  BOOST_OUTCOME_TRY(insert_row(c, 1, i));
  if (i % 10 == 3) return fc::make_error(fc::Code::kConflict, "rejected by the caller");
  if (i % 10 == 7) throw std::runtime_error("boom");
  if (i == 25) return insert_row(c, 1, 0);  // duplicate key: SQLite error
  return fc::ok();
}

fc::awaitable<void> write_mixed(Database* db, int i, std::optional<Status>* out) {
  Status st = co_await db->write([i](Conn& c) { return mixed_tx(c, i); });
  out->emplace(std::move(st));
}

}  // namespace

TEST_SUITE("storage") {
  TEST_CASE(
      "64 concurrent coroutine writers: nothing lost, all committed, fewer commits than "
      "transactions") {
    test::TempDir dir;
    auto db = open_db(dir);
    const auto before = db->stats();
    constexpr int kWriters = 64, kEach = 40;
    fc::asio::io_context io;
    int ok_count = 0, failed = 0;
    for (int w = 0; w < kWriters; ++w)
      fc::asio::co_spawn(io, write_many(db.get(), w, kEach, &ok_count, &failed),
                         fc::asio::detached);
    io.run();
    CHECK(ok_count == kWriters * kEach);
    CHECK(failed == 0);
    auto s = db->stats();
    CHECK(s.transactions - before.transactions == static_cast<std::uint64_t>(kWriters * kEach));
    CHECK(s.failed == 0);
    CHECK(s.queued == 0);
    MESSAGE("batches=" << s.batches - before.batches << " transactions=" << kWriters * kEach);
    CHECK(s.batches - before.batches < s.transactions - before.transactions);  // grouping happened
    db->close();
    auto c = Conn::open(dir.file("w.db"), OpenMode::kReadOnly);
    REQUIRE(c);
    CHECK(scalar(*c.value(), "SELECT count(*) FROM rows") == kWriters * kEach);
    CHECK(scalar(*c.value(), "SELECT count(DISTINCT writer) FROM rows") == kWriters);
  }

  TEST_CASE(
      "transactions queued behind a busy commit go out in one batch; failures roll back alone") {
    test::TempDir dir;
    auto db = open_db(dir);
    Gate gate;
    std::thread blocker = hold_writer(*db, gate);
    const auto before = db->stats();
    constexpr int kTx = 50;
    std::vector<std::optional<Status>> results(kTx);
    fc::asio::io_context io;
    for (int i = 0; i < kTx; ++i)
      fc::asio::co_spawn(io, write_mixed(db.get(), i, &results[i]), fc::asio::detached);
    // Let every coroutine submit (bounded), then open the gate.
    for (int spin = 0; spin < 10000 && db->stats().queued < kTx; ++spin) io.poll_one();
    CHECK(db->stats().queued == kTx);
    gate.release();
    io.run();
    blocker.join();
    int good = 0;
    for (int i = 0; i < kTx; ++i) {
      CAPTURE(i);
      REQUIRE(results[i].has_value());
      bool should_fail = i % 10 == 3 || i % 10 == 7 || i == 25;
      CHECK(results[i]->has_value() == !should_fail);
      if (i % 10 == 3) CHECK(results[i]->error().code == fc::Code::kConflict);
      if (i % 10 == 7) CHECK(results[i]->error().detail.find("boom") != std::string::npos);
      good += should_fail ? 0 : 1;
    }
    auto s = db->stats();
    CHECK(s.batches - before.batches == 2);  // the blocked one, then all 50 together
    CHECK(s.transactions - before.transactions == static_cast<std::uint64_t>(good + 1));
    CHECK(s.failed - before.failed == static_cast<std::uint64_t>(kTx - good));
    auto& r = db->read();
    CHECK(scalar(r, "SELECT count(*) FROM rows WHERE writer = 1") == good);
    CHECK(
        scalar(r,
               "SELECT count(*) FROM rows WHERE writer = 1 AND (seq % 10 IN (3, 7) OR seq = 25)") ==
        0);
    CHECK(scalar(r, "SELECT count(*) FROM rows WHERE writer = 999") == 1);
  }

  TEST_CASE("write_alone: its own transaction between the batches around it; an error undoes it") {
    test::TempDir dir;
    auto db = open_db(dir);
    Gate gate;
    std::thread blocker = hold_writer(*db, gate);
    const auto before = db->stats();
    fc::asio::io_context io;
    std::vector<std::optional<Status>> small(6);
    std::optional<Status> big, bad;
    const int seqs[] = {100, 101, 102, 104, 105, 106};  // none of mixed_tx's failing cases
    auto spawn_small = [&](int i) {
      fc::asio::co_spawn(io, write_mixed(db.get(), seqs[i], &small[i]), fc::asio::detached);
    };
    // Queued in this order: 3 small, a big one (2,000 rows), a failing big
    // one, 3 small: four batches [3 small] [big] [bad] [3 small].
    for (int i = 0; i < 3; ++i) spawn_small(i);
    fc::asio::co_spawn(
        io,
        [](Database* d, std::optional<Status>* out) -> fc::awaitable<void> {
          out->emplace(co_await d->write_alone([](Conn& c) -> Status {
            for (int k = 0; k < 2000; ++k) {
              BOOST_OUTCOME_TRY(insert_row(c, 2, k));
            }
            return fc::ok();
          }));
        }(db.get(), &big),
        fc::asio::detached);
    fc::asio::co_spawn(
        io,
        [](Database* d, std::optional<Status>* out) -> fc::awaitable<void> {
          out->emplace(co_await d->write_alone([](Conn& c) -> Status {
            for (int k = 0; k < 500; ++k) {
              BOOST_OUTCOME_TRY(insert_row(c, 3, k));
            }
            return insert_row(c, 3, 0);  // duplicate key: the whole write is undone
          }));
        }(db.get(), &bad),
        fc::asio::detached);
    for (int i = 3; i < 6; ++i) spawn_small(i);
    for (int spin = 0; spin < 10000 && db->stats().queued < 8; ++spin) io.poll_one();
    CHECK(db->stats().queued == 8);
    gate.release();
    io.run();
    blocker.join();
    REQUIRE(big.has_value());
    CHECK(big->has_value());
    REQUIRE(bad.has_value());
    CHECK_FALSE(bad->has_value());
    for (auto& r : small) {
      REQUIRE(r.has_value());
      CHECK(r->has_value());
    }
    const auto s = db->stats();
    CHECK(s.batches - before.batches == 5);  // the blocked one, then the four above
    CHECK(s.failed - before.failed == 1);
    auto& r = db->read();
    CHECK(scalar(r, "SELECT count(*) FROM rows WHERE writer = 2") == 2000);
    CHECK(scalar(r, "SELECT count(*) FROM rows WHERE writer = 3") == 0);
    CHECK(scalar(r, "SELECT count(*) FROM rows WHERE writer = 1 AND seq >= 100") == 6);
  }

  TEST_CASE("write_sync from many threads at once") {
    test::TempDir dir;
    auto db = open_db(dir);
    constexpr int kThreads = 8, kEach = 100;
    std::atomic<int> ok_count{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          if (db->write_sync([t, i](Conn& c) { return insert_row(c, t, i); })) ++ok_count;
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(ok_count == kThreads * kEach);
    CHECK(scalar(db->read(), "SELECT count(*) FROM rows") == kThreads * kEach);
  }

  TEST_CASE("max_batch bounds a batch") {
    test::TempDir dir;
    auto db = open_db(dir, 4);
    Gate gate;
    std::thread blocker([&] {
      (void)db->write_sync([&](Conn&) {
        gate.block();
        return fc::ok();
      });
    });
    gate.wait_entered();
    const auto before = db->stats();
    fc::asio::io_context io;
    int done = 0, failed = 0;
    for (int i = 0; i < 10; ++i)
      fc::asio::co_spawn(io, write_many(db.get(), 100 + i, 1, &done, &failed), fc::asio::detached);
    for (int spin = 0; spin < 10000 && db->stats().queued < 10; ++spin) io.poll_one();
    gate.release();
    io.run();
    blocker.join();
    CHECK(done == 10);
    CHECK(db->stats().batches - before.batches == 4);  // the gate's, then 4 + 4 + 2
  }

  TEST_CASE("after close() writes fail instead of hanging, and data survives reopening") {
    test::TempDir dir;
    auto db = open_db(dir);
    REQUIRE(db->write_sync([](Conn& c) { return insert_row(c, 7, 7); }));
    db->close();
    auto st = db->write_sync([](Conn& c) { return insert_row(c, 7, 8); });
    REQUIRE_FALSE(st);
    CHECK(st.error().code == fc::Code::kUnavailable);
    CHECK(st.error().is(fc::storage::Errc::kClosing));
    db.reset();
    auto again = Database::open({dir.file("w.db")});
    REQUIRE(again);
    CHECK(scalar(again.value()->read(), "SELECT count(*) FROM rows") == 1);
  }

  TEST_CASE("a failing fence rolls the whole batch back; an idle writer still runs it") {
    // The leader's lease check (app/ha.cpp): first in every batch's transaction.
    test::TempDir dir;
    open_db(dir)->close();  // creates `rows`
    std::atomic<bool> leader{true};
    std::atomic<int> fences{0};
    Database::Options o{dir.file("w.db")};
    o.fence = [&](Conn& c) -> Status {
      ++fences;
      if (!leader) return fc::make_error(Errc::kUnavailable, "not the leader");
      BOOST_OUTCOME_TRY(st, c.prepare("INSERT INTO rows(writer, seq, payload) VALUES(0, ?, 'f')"));
      return st.bind_all(fences.load()).run();  // a fence's writes commit with the batch
    };
    o.fence_idle = std::chrono::milliseconds(20);
    auto db = Database::open(o);
    REQUIRE(db);
    REQUIRE(db.value()->write_sync([](Conn& c) { return insert_row(c, 1, 1); }));
    leader = false;
    auto st = db.value()->write_sync([](Conn& c) { return insert_row(c, 1, 2); });
    REQUIRE_FALSE(st);
    CHECK(st.error().is(Errc::kUnavailable));
    CHECK(scalar(db.value()->read(), "SELECT count(*) FROM rows WHERE writer = 1") == 1);
    const int seen = fences.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(fences.load() > seen);  // idle: still fenced (the lease renewal)
    db.value()->close();
  }
}

TEST_SUITE("storage") {
  TEST_CASE(
      "the writer checkpoints the WAL itself: bounded, the database fsync off COMMIT, nothing "
      "lost") {
    test::TempDir dir;
    auto db = open_db(dir);
    const auto before = sqlite::writer_checkpoint_stats();
    std::uintmax_t wal_max = 0;
    // 600 commits of 40 rows of 2 KB: ~24,000 pages through the WAL, a
    // checkpoint (1,000 pages) every ~40 commits.
    for (int b = 0; b < 600; ++b) {
      REQUIRE(db->write_sync([b](Conn& c) { return insert_forty(c, b); }));
      std::error_code ec;
      wal_max = std::max(wal_max, std::filesystem::file_size(dir.file("w.db-wal"), ec));
    }
    const auto after = sqlite::writer_checkpoint_stats();
    const auto passes = after.checkpoints - before.checkpoints;
    CHECK(passes >= 10);
    CHECK(after.db_syncs - before.db_syncs + 1 >= passes);  // the last one may still run
    const auto ws = db->stats();                            // what /metrics reports
    CHECK(ws.checkpoints == after.checkpoints);
    CHECK(ws.checkpoint_waits == after.commits_waited);
    CHECK(ws.us_checkpoint_wait == after.us_waited);
    // The WAL restarts after each pass: 1,000 pages and one commit's frames.
    CHECK(wal_max > 0);
    CHECK(wal_max < 8u * 1024 * 1024);
    CHECK(scalar(db->read(), "SELECT count(*) FROM rows") == 600 * 40);
    // close() waits for the last fsync, then runs SQLite's own TRUNCATE checkpoint.
    check_reopened(*db, dir.file("w.db"), 600 * 40);
  }

  TEST_CASE(
      "while a checkpoint's database fsync runs, another connection cannot truncate the WAL") {
    test::TempDir dir;
    auto db = open_db(dir);
    sqlite::delay_db_sync_for_tests(1500);  // the fsync after the next copy starts 1.5 s late
    const auto before = sqlite::writer_checkpoint_stats();
    int b = 0;
    auto forty = [&b](Conn& c) { return insert_forty(c, ++b); };
    for (int n = 0; n < 200 && sqlite::writer_checkpoint_stats().checkpoints == before.checkpoints;
         ++n)
      REQUIRE(db->write_sync(forty));
    REQUIRE(sqlite::writer_checkpoint_stats().checkpoints > before.checkpoints);
    // The copy is done, its fsync is not: a TRUNCATE checkpoint (Litestream's
    // emergency one, or sqlite3 by hand) would drop the frames it copied.
    auto other = Conn::open(dir.file("w.db"), OpenMode::kReadWrite);
    REQUIRE(other);
    REQUIRE(other.value()->exec("PRAGMA busy_timeout=0"));
    CHECK(scalar(*other.value(), "PRAGMA wal_checkpoint(TRUNCATE)") == 1);  // busy
    CHECK(std::filesystem::file_size(dir.file("w.db-wal")) > 0);
    sqlite::delay_db_sync_for_tests(0);
    // Once the fsync is done (the next COMMIT waits for it), it may.
    const auto waited = sqlite::writer_checkpoint_stats();
    const auto from = std::chrono::steady_clock::now();
    REQUIRE(db->write_sync(forty));
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - from)
                          .count();
    const auto now = sqlite::writer_checkpoint_stats();
    CHECK(now.commits_waited == waited.commits_waited + 1);
    // What is left of the 1.5 s delay (the steps above may have used most
    // of it on a loaded machine): counted, and no more than the call took.
    CHECK(now.us_waited > waited.us_waited);
    CHECK(now.us_waited - waited.us_waited <= static_cast<std::uint64_t>(took));
    CHECK(scalar(*other.value(), "PRAGMA wal_checkpoint(TRUNCATE)") == 0);
    const std::int64_t rows = scalar(db->read(), "SELECT count(*) FROM rows");
    other.value().reset();
    check_reopened(*db, dir.file("w.db"), rows);
  }

  TEST_CASE("one statement bound and run in a loop inserts every row") {
    test::TempDir dir;
    auto c = test::open_migrated(dir.file("loop.db"));
    REQUIRE(c->exec("CREATE TABLE t(k TEXT PRIMARY KEY)"));
    auto s = c->prepare("INSERT INTO t(k) VALUES(?1)");
    REQUIRE(s);
    for (const char* k : {"a", "b", "c"}) REQUIRE(s.value().bind_all(k).run());
    CHECK(scalar(*c, "SELECT count(*) FROM t") == 3);
  }
}

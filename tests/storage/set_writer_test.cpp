// Set-based group commit (Database::write_set, storage/deferred.hpp) on the
// test backend (SQLite; PostgreSQL under ctest unit_storage_pg): the deferred
// rows of a batch's set-based callers are one statement per table, exactly
// the values given; a failure that would touch other callers (a flush that
// violates a constraint, a caller failing after it wrote, an SQL error that
// aborted PostgreSQL's transaction) is replayed caller by caller so that only
// the one caller fails; a plain caller after set-based ones sees their rows.
#include <doctest/doctest.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "backend_util.hpp"
#include "storage/deferred.hpp"

using namespace fc::storage;
using fc::Status;
using fc::storage::test::scalar;

namespace {

constexpr SetInsert kSetRow{"set_rows", "INSERT INTO set_rows(k, note, n)", 3, "",
                            "e->>0, e->>1, (e->>2)::bigint"};

// insert_unique's table (a name that may be taken) and add_sum's counter.
constexpr SetInsert kUniqueRow{
    "uniq_rows", "INSERT INTO uniq_rows(k, name)", 2, " ON CONFLICT DO NOTHING", "e->>0, e->>1",
    "k"};
constexpr SetSum kCounter{"counters",
                          "UPDATE counters SET total = total + ?2, rev = rev + ?3, at = ?4"
                          " WHERE id = ?1 AND total + ?2 <= cap RETURNING rev",
                          1};

std::unique_ptr<Database> open_set_db(const test::TempDir& dir) {
  test::open_backend(dir.file("s.db"));  // migrated once, as the daemon does
  auto db = test::open_database(dir.file("s.db"));
  REQUIRE(db);
  auto st = db.value()->write_sync([](Conn& c) -> Status {
    BOOST_OUTCOME_TRY(c.exec("CREATE TABLE set_rows(k TEXT PRIMARY KEY, note TEXT, n BIGINT)"));
    BOOST_OUTCOME_TRY(c.exec("CREATE TABLE uniq_rows(k TEXT PRIMARY KEY, name TEXT UNIQUE)"));
    BOOST_OUTCOME_TRY(
        c.exec("CREATE TABLE counters(id TEXT PRIMARY KEY, total BIGINT NOT NULL,"
               " cap BIGINT NOT NULL, rev BIGINT NOT NULL, at BIGINT)"));
    BOOST_OUTCOME_TRY(
        c.exec("INSERT INTO counters(id, total, cap, rev) VALUES"
               " ('a', 0, 1000000, 10), ('b', 0, 1000000, 100), ('small', 0, 5, 0)"));
    return c.exec("CREATE TABLE side(k TEXT PRIMARY KEY)");
  });
  REQUIRE(st);
  return std::move(db).value();
}

Status insert_side_row(Conn& c, const std::string& k) {
  BOOST_OUTCOME_TRY(s, c.prepare("INSERT INTO side(k) VALUES(?)"));
  return s.bind(1, k).run();
}

// Holds the writer thread inside a transaction until released, so that every
// write submitted meanwhile lands in the next batch, in submission order.
class HeldWriter {
 public:
  explicit HeldWriter(Database& db) {
    t_ = std::thread([this, &db] {
      CHECK(db.write_sync([this](Conn&) {
        std::unique_lock lk(mu_);
        entered_ = true;
        cv_.notify_all();
        cv_.wait(lk, [this] { return open_; });
        return fc::ok();
      }));
    });
    std::unique_lock lk(mu_);
    cv_.wait(lk, [this] { return entered_; });
  }
  void release() {
    {
      std::lock_guard lk(mu_);
      open_ = true;
    }
    cv_.notify_all();
    t_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false, open_ = false;
  std::thread t_;
};

using SetFn = std::function<Status(Conn&)>;
struct SetCall {
  SetFn fn;
  bool set = true;  // write_set, else write
};

// Runs `calls` as one batch (the writer held while they queue); their results.
std::vector<Status> run_one_batch(Database& db, std::vector<SetCall> calls) {
  HeldWriter held(db);
  std::vector<std::optional<Status>> out(calls.size());
  fc::asio::io_context io;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    fc::asio::co_spawn(
        io,
        [](Database* d, SetCall c, std::optional<Status>* o) -> fc::awaitable<void> {
          // Not one `?:` of two co_awaits: GCC 12 keeps the result in the
          // coroutine frame and frees it twice.
          Status st = fc::ok();
          if (c.set)
            st = co_await d->write_set(std::move(c.fn));
          else
            st = co_await d->write(std::move(c.fn));
          o->emplace(std::move(st));
        }(&db, std::move(calls[i]), &out[i]),
        fc::asio::detached);
  }
  for (int spin = 0; spin < 10000 && db.stats().queued < out.size(); ++spin) io.poll_one();
  REQUIRE(db.stats().queued == out.size());
  held.release();
  io.run();
  std::vector<Status> res;
  for (auto& o : out) {
    REQUIRE(o.has_value());
    res.push_back(std::move(*o));
  }
  return res;
}

std::string text_of(Conn& c, const std::string& sql) {
  auto s = c.prepare(sql);
  REQUIRE(s);
  auto row = s.value().step();
  REQUIRE(row);
  REQUIRE(row.value());
  return s.value().col_null(0) ? std::string("<null>") : s.value().col_text(0);
}

// A create's shape (scheduler::Service::create_workspace): a row whose name
// may be taken, `add` to a counter whose new value (a region's revision) the
// caller's other row carries and the caller reads back into `*out`. Outside
// a set-based run (a replay) the counter's update runs at once.
Status unique_and_sum(Conn& c, const std::string& k, const std::string& name,
                      const std::string& counter, std::int64_t add, std::int64_t* out) {
  BOOST_OUTCOME_TRY(
      inserted,
      insert_unique(c, kUniqueRow, fc::make_error(fc::Code::kConflict, "taken " + name), k, name));
  if (!inserted) return fc::make_error(fc::Code::kConflict, "taken " + name);
  Later rev;
  if (DeferredRows* d = c.deferred()) {
    rev = d->add_sum(kCounter, counter, {add}, 7, out);
  } else {
    BOOST_OUTCOME_TRY(s, c.prepare("UPDATE counters SET total = total + ?2, rev = rev + 1, at = 7"
                                   " WHERE id = ?1 AND total + ?2 <= cap RETURNING rev"));
    s.bind_all(counter, add);
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row) return fc::make_error(fc::Code::kConflict, "does not fit");
    rev.value = s.col_int(0);
    BOOST_OUTCOME_TRY(s.run());
    *out = rev.value;
  }
  return insert_row(c, kSetRow, k, counter, rev);
}

}  // namespace

TEST_SUITE("storage") {
  TEST_CASE(
      "write_set: insert_unique fails only the callers whose key was taken, no replay;"
      " add_sum gives each caller its own consecutive value") {
    test::TempDir dir;
    auto db = open_set_db(dir);
    REQUIRE(db->write_sync([](Conn& c) -> Status {
      BOOST_OUTCOME_TRY(s, c.prepare("INSERT INTO uniq_rows(k, name) VALUES('old', 'taken')"));
      return s.run();
    }));
    const auto before = db->stats();
    constexpr int kCallers = 40;
    std::vector<std::int64_t> revs(kCallers, -1);
    std::vector<SetCall> calls;
    for (int i = 0; i < kCallers; ++i) {
      // 5 and 23 name a name taken before; 11 and 12 share one (the first wins).
      std::string name = i == 5 || i == 23 ? "taken" : i == 12 ? "n11" : "n" + std::to_string(i);
      calls.push_back({[i, name, &revs](Conn& c) -> Status {
        return unique_and_sum(c, "k" + std::to_string(i), name, i % 3 == 0 ? "b" : "a", i + 1,
                              &revs[i]);
      }});
    }
    auto res = run_one_batch(*db, std::move(calls));
    const std::vector<int> lost = {5, 12, 23};
    std::int64_t sum_a = 0, sum_b = 0, n_a = 0, n_b = 0;
    for (int i = 0; i < kCallers; ++i) {
      CAPTURE(i);
      const bool lose = std::find(lost.begin(), lost.end(), i) != lost.end();
      REQUIRE(static_cast<bool>(res[i]) == !lose);
      if (lose) {
        CHECK(res[i].error().code == fc::Code::kConflict);
        CHECK(res[i].error().detail.starts_with("taken "));
        continue;
      }
      (i % 3 == 0 ? sum_b : sum_a) += i + 1;
      (i % 3 == 0 ? n_b : n_a) += 1;
    }
    const auto s = db->stats();
    CHECK(s.set_replays == before.set_replays);
    CHECK(s.set_taken - before.set_taken == 3);
    // uniq_rows, counters a and b, set_rows: four statements for the batch.
    CHECK(s.set_flushes - before.set_flushes == 4);
    auto& r = db->read();
    CHECK(scalar(r, "SELECT total FROM counters WHERE id = 'a'") == sum_a);
    CHECK(scalar(r, "SELECT total FROM counters WHERE id = 'b'") == sum_b);
    CHECK(scalar(r, "SELECT rev FROM counters WHERE id = 'a'") == 10 + n_a);
    CHECK(scalar(r, "SELECT rev FROM counters WHERE id = 'b'") == 100 + n_b);
    CHECK(scalar(r, "SELECT count(*) FROM uniq_rows") == kCallers - 3 + 1);
    CHECK(scalar(r, "SELECT count(*) FROM set_rows") == kCallers - 3);
    CHECK(text_of(r, "SELECT k FROM uniq_rows WHERE name = 'n11'") == "k11");
    // Each winner's value is its own: consecutive per counter in batch order,
    // and the row it deferred carries the same value.
    std::int64_t next_a = 11, next_b = 101;
    for (int i = 0; i < kCallers; ++i) {
      CAPTURE(i);
      if (!res[i]) continue;
      std::int64_t& next = i % 3 == 0 ? next_b : next_a;
      CHECK(revs[i] == next);
      ++next;
      CHECK(scalar(r, "SELECT n FROM set_rows WHERE k = 'k" + std::to_string(i) + "'") == revs[i]);
    }
  }

  TEST_CASE("write_set: an add_sum whose guard fails replays the run; the callers that fit pass") {
    test::TempDir dir;
    auto db = open_set_db(dir);
    const auto before = db->stats();
    std::vector<std::int64_t> revs(4, -1);
    std::vector<SetCall> calls;
    for (int i = 0; i < 4; ++i) {  // 2 + 2 + 2 + 2 into a counter of 5: the third no longer fits
      calls.push_back({[i, &revs](Conn& c) -> Status {
        return unique_and_sum(c, "s" + std::to_string(i), "s" + std::to_string(i), "small", 2,
                              &revs[i]);
      }});
    }
    auto res = run_one_batch(*db, std::move(calls));
    CHECK(res[0]);
    CHECK(res[1]);
    CHECK(!res[2]);
    CHECK(!res[3]);
    CHECK(db->stats().set_replays - before.set_replays == 1);
    auto& r = db->read();
    CHECK(scalar(r, "SELECT total FROM counters WHERE id = 'small'") == 4);
    CHECK(scalar(r, "SELECT rev FROM counters WHERE id = 'small'") == 2);
    CHECK(revs[0] == 1);
    CHECK(revs[1] == 2);
    CHECK(scalar(r, "SELECT count(*) FROM uniq_rows") == 2);
    CHECK(scalar(r, "SELECT count(*) FROM set_rows") == 2);
  }

  TEST_CASE("write_set: a batch's deferred rows are one statement per table, values exact") {
    test::TempDir dir;
    auto db = open_set_db(dir);
    const auto before = db->stats();
    const std::vector<std::optional<std::string>> notes = {"plain",
                                                           "",
                                                           "quote \" and backslash \\",
                                                           "line\nfeed\ttab\rcr",
                                                           "ctl \x01\x1f end",
                                                           "é ü 日本 😀",
                                                           std::nullopt,
                                                           R"({"json":"as text","n":[1,2]})"};
    std::vector<SetCall> calls;
    constexpr int kCallers = 343;  // 256 + 64 + 16 + 4 + 2 + 1: every chunk size of a flush
    for (int i = 0; i < kCallers; ++i) {
      calls.push_back({[i, &notes](Conn& c) -> Status {
        BOOST_OUTCOME_TRY(insert_side_row(c, "s" + std::to_string(i)));  // immediate
        return insert_row(c, kSetRow, "k" + std::to_string(i), notes[i % notes.size()],
                          std::int64_t{i} * 1'000'000'007);
      }});
    }
    auto res = run_one_batch(*db, std::move(calls));
    for (int i = 0; i < kCallers; ++i) {
      CAPTURE(i);
      CHECK(res[i]);
    }
    const auto s = db->stats();
    CHECK(s.set_flushes - before.set_flushes == 1);  // one table, one statement
    CHECK(s.set_rows - before.set_rows == kCallers);
    CHECK(s.set_replays == before.set_replays);
    auto& r = db->read();
    CHECK(scalar(r, "SELECT count(*) FROM set_rows") == kCallers);
    CHECK(scalar(r, "SELECT count(*) FROM side") == kCallers);
    for (int i = 0; i < kCallers; ++i) {
      CAPTURE(i);
      const std::string k = "'k" + std::to_string(i) + "'";
      const auto& want = notes[i % notes.size()];
      CHECK(text_of(r, "SELECT note FROM set_rows WHERE k = " + k) == want.value_or("<null>"));
      CHECK(scalar(r, "SELECT n FROM set_rows WHERE k = " + k) == std::int64_t{i} * 1'000'000'007);
    }
  }

  TEST_CASE("write_set: a flush that violates a constraint is replayed; only that caller fails") {
    test::TempDir dir;
    auto db = open_set_db(dir);
    const auto before = db->stats();
    std::vector<SetCall> calls;
    constexpr int kCallers = 30;
    for (int i = 0; i < kCallers; ++i) {
      calls.push_back({[i](Conn& c) -> Status {
        BOOST_OUTCOME_TRY(insert_side_row(c, "s" + std::to_string(i)));
        // Callers 7 and 19 defer the same key: no pre-check sees it.
        const std::string k = (i == 7 || i == 19) ? "dup" : "k" + std::to_string(i);
        return insert_row(c, kSetRow, k, "n", std::int64_t{i});
      }});
    }
    auto res = run_one_batch(*db, std::move(calls));
    for (int i = 0; i < kCallers; ++i) {
      CAPTURE(i);
      CHECK(static_cast<bool>(res[i]) == (i != 19));
    }
    REQUIRE(!res[19]);
    CHECK(res[19].error().is(Errc::kConstraint));
    const auto s = db->stats();
    CHECK(s.set_replays - before.set_replays == 1);
    CHECK(s.transactions - before.transactions == kCallers - 1 + 1);  // + the held write
    auto& r = db->read();
    CHECK(scalar(r, "SELECT count(*) FROM set_rows") == kCallers - 1);
    CHECK(scalar(r, "SELECT n FROM set_rows WHERE k = 'dup'") == 7);
    CHECK(scalar(r, "SELECT count(*) FROM side") == kCallers - 1);  // 19's side row undone
    CHECK(scalar(r, "SELECT count(*) FROM side WHERE k = 's19'") == 0);
  }

  TEST_CASE("write_set: PostgreSQL: a session lost before the pipelined COMMIT is never replayed") {
    // A whole-batch run on PostgreSQL sends its flush and the COMMIT in one
    // pipeline (docs/storage.md "Pipelined batches"). The session dies in
    // the middle of the run: the COMMIT may or may not have reached the
    // server, so the batch is not replayed (a replay could store every row
    // twice); every caller gets kUnavailable (503), none is told it
    // committed, and the next batch reconnects.
    if (!test::on_postgres()) return;
    test::TempDir dir;
    auto db = open_set_db(dir);
    auto killer = test::open_backend(dir.file("s.db"));
    // The flush's statement prepared on this session (a statement prepared
    // after the kill would fail before anything is sent: that run is
    // replayed on a new session, nothing could have committed).
    REQUIRE(run_one_batch(*db, {{[](Conn& c) -> Status {
      return insert_row(c, kSetRow, "warm", "w", std::int64_t{0});
    }}})[0]);
    const auto before = db->stats();
    std::vector<SetCall> calls;
    constexpr int kCallers = 8;
    for (int i = 0; i < kCallers; ++i) {
      calls.push_back({[i, &killer](Conn& c) -> Status {
        if (i == 3) {  // its own session's backend terminated
          BOOST_OUTCOME_TRY(p, c.prepare("SELECT pg_backend_pid()"));
          BOOST_OUTCOME_TRY(p.step());
          const std::int64_t pid = p.col_int(0);
          BOOST_OUTCOME_TRY(k, killer->prepare("SELECT pg_terminate_backend(?::int, 5000)"));
          BOOST_OUTCOME_TRY(k.bind(1, pid).step());
        }
        return insert_row(c, kSetRow, "k" + std::to_string(i), "n", std::int64_t{i});
      }});
    }
    auto res = run_one_batch(*db, std::move(calls));
    for (int i = 0; i < kCallers; ++i) {
      CAPTURE(i);
      REQUIRE_FALSE(res[i]);
      CHECK(res[i].error().is(Errc::kUnavailable));
    }
    const auto s = db->stats();
    CHECK(s.set_replays == before.set_replays);
    CHECK(scalar(db->read(), "SELECT count(*) FROM set_rows") == 1);
    REQUIRE(run_one_batch(*db, {{[](Conn& c) -> Status {
      return insert_row(c, kSetRow, "after", "a", std::int64_t{1});
    }}})[0]);
    CHECK(scalar(db->read(), "SELECT count(*) FROM set_rows") == 2);
  }

  TEST_CASE(
      "write_set: a run after a plain caller is replayed from its SAVEPOINT; the plain"
      " caller's write stays") {
    // A run that is the whole batch is undone by rolling the transaction back
    // and beginning it again (no SAVEPOINT); one after another caller by its
    // SAVEPOINT, which must leave that caller's write alone.
    test::TempDir dir;
    auto db = open_set_db(dir);
    const auto before = db->stats();
    std::vector<SetCall> calls;
    calls.push_back({[](Conn& c) { return insert_side_row(c, "plain"); }, false});
    for (int i = 0; i < 6; ++i) {
      calls.push_back({[i](Conn& c) -> Status {
        const std::string k = (i == 1 || i == 4) ? "dup2" : "p" + std::to_string(i);
        return insert_row(c, kSetRow, k, "n", std::int64_t{i});
      }});
    }
    auto res = run_one_batch(*db, std::move(calls));
    CHECK(res[0]);
    for (int i = 0; i < 6; ++i) {
      CAPTURE(i);
      CHECK(static_cast<bool>(res[i + 1]) == (i != 4));
    }
    CHECK(db->stats().set_replays - before.set_replays == 1);
    auto& r = db->read();
    CHECK(scalar(r, "SELECT count(*) FROM side WHERE k = 'plain'") == 1);
    CHECK(scalar(r, "SELECT count(*) FROM set_rows") == 5);
  }

  TEST_CASE("write_set: failing before writing drops its rows; failing after writing replays") {
    test::TempDir dir;
    auto db = open_set_db(dir);
    auto before = db->stats();
    std::vector<SetCall> calls;
    for (int i = 0; i < 10; ++i) {
      calls.push_back({[i](Conn& c) -> Status {
        BOOST_OUTCOME_TRY(insert_row(c, kSetRow, "a" + std::to_string(i), "n", std::int64_t{i}));
        if (i == 4) return fc::make_error(fc::Code::kConflict, "name taken, nothing written");
        return fc::ok();
      }});
    }
    auto res = run_one_batch(*db, std::move(calls));
    for (int i = 0; i < 10; ++i) CHECK(static_cast<bool>(res[i]) == (i != 4));
    auto s = db->stats();
    CHECK(s.set_replays == before.set_replays);  // nothing to undo: no replay
    CHECK(s.set_rows - before.set_rows == 9);
    CHECK(scalar(db->read(), "SELECT count(*) FROM set_rows WHERE k = 'a4'") == 0);

    before = s;
    calls.clear();
    for (int i = 0; i < 10; ++i) {
      calls.push_back({[i](Conn& c) -> Status {
        BOOST_OUTCOME_TRY(insert_side_row(c, "b" + std::to_string(i)));
        BOOST_OUTCOME_TRY(insert_row(c, kSetRow, "b" + std::to_string(i), "n", std::int64_t{i}));
        if (i == 6) return fc::make_error(fc::Code::kConflict, "lost a race after writing");
        return fc::ok();
      }});
    }
    res = run_one_batch(*db, std::move(calls));
    for (int i = 0; i < 10; ++i) CHECK(static_cast<bool>(res[i]) == (i != 6));
    s = db->stats();
    CHECK(s.set_replays - before.set_replays == 1);
    auto& r = db->read();
    CHECK(scalar(r, "SELECT count(*) FROM side WHERE k LIKE 'b%'") == 9);
    CHECK(scalar(r, "SELECT count(*) FROM side WHERE k = 'b6'") == 0);
    CHECK(scalar(r, "SELECT count(*) FROM set_rows WHERE k LIKE 'b%'") == 9);
  }

  TEST_CASE("write_set: an SQL error of one caller fails only that caller") {
    test::TempDir dir;
    auto db = open_set_db(dir);
    REQUIRE(db->write_sync([](Conn& c) { return insert_side_row(c, "taken"); }));
    const auto before = db->stats();
    std::vector<SetCall> calls;
    for (int i = 0; i < 10; ++i) {
      calls.push_back({[i](Conn& c) -> Status {
        BOOST_OUTCOME_TRY(insert_row(c, kSetRow, "c" + std::to_string(i), "n", std::int64_t{i}));
        // A duplicate key: PostgreSQL aborts the whole transaction here.
        return insert_side_row(c, i == 3 ? std::string("taken") : "c" + std::to_string(i));
      }});
    }
    auto res = run_one_batch(*db, std::move(calls));
    for (int i = 0; i < 10; ++i) {
      CAPTURE(i);
      CHECK(static_cast<bool>(res[i]) == (i != 3));
    }
    // SQLite: the statement failed alone, nothing to undo; PostgreSQL: the
    // transaction is aborted, so the run is replayed.
    CHECK(db->stats().set_replays - before.set_replays == (test::on_postgres() ? 1u : 0u));
    auto& r = db->read();
    CHECK(scalar(r, "SELECT count(*) FROM set_rows WHERE k LIKE 'c%'") == 9);
    CHECK(scalar(r, "SELECT count(*) FROM side WHERE k LIKE 'c%'") == 9);
  }

  TEST_CASE("write_set: a plain caller after set-based ones reads their rows") {
    test::TempDir dir;
    auto db = open_set_db(dir);
    const auto before = db->stats();
    std::int64_t seen = -1;
    std::vector<SetCall> calls;
    for (int i = 0; i < 12; ++i) {
      if (i == 5) {
        calls.push_back({[&seen](Conn& c) -> Status {
                           seen = scalar(c, "SELECT count(*) FROM set_rows");
                           return fc::ok();
                         },
                         false});
        continue;
      }
      calls.push_back({[i](Conn& c) -> Status {
        return insert_row(c, kSetRow, "d" + std::to_string(i), "n", std::int64_t{i});
      }});
    }
    auto res = run_one_batch(*db, std::move(calls));
    for (auto& st : res) CHECK(st);
    CHECK(seen == 5);  // the first run was flushed before the plain caller ran
    const auto s = db->stats();
    CHECK(s.set_flushes - before.set_flushes == 2);
    CHECK(s.set_rows - before.set_rows == 11);
    CHECK(scalar(db->read(), "SELECT count(*) FROM set_rows") == 11);
  }
}

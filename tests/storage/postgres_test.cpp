// The PostgreSQL driver: placeholder translation and URL redaction (pure),
// then binds, columns, changes, errors, transactions, savepoints, the group
// commit and reconnection against a real PostgreSQL 15 (tests/lib/pgcluster.py).
#include <doctest/doctest.h>

#include "pg_util.hpp"
#include "storage/db.hpp"
#include "storage/postgres/driver.hpp"

using namespace fc::storage;
namespace pg = fc::storage::postgres;

namespace {
std::string pg_translated(std::string_view sql, int expect_params) {
  int n = -1;
  std::string out = pg::translate_placeholders(sql, &n);
  CHECK(n == expect_params);
  return out;
}

std::int64_t pg_scalar(Conn& c, const std::string& sql) {
  auto st = c.prepare(sql);
  REQUIRE_MESSAGE(st, (st ? "" : st.error().detail));
  auto row = st.value().step();
  REQUIRE_MESSAGE(row, (row ? "" : row.error().detail));
  REQUIRE(row.value());
  return st.value().col_int(0);
}

// One row of kPgTable, the statement cached (pipelined when the connection is).
fc::Status pg_insert_t(Conn& c, int id, const char* name) {
  auto s = c.prepare("INSERT INTO t(id, name) VALUES(?, ?)");
  REQUIRE(s);
  return s.value().bind_all(id, name).run();
}

// Ends a pipelined transaction: commit or roll back, then pipelining off.
void pg_end_pipelined(Conn& c, bool commit) {
  const fc::Status ended = commit ? c.commit() : c.rollback();
  CHECK(ended);
  c.set_pipelined(false);
}

const char* const kPgTable =
    "CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT UNIQUE, score DOUBLE PRECISION)";
}  // namespace

TEST_SUITE("storage") {
  TEST_CASE("postgres: ? and ?N become $N, quoted text and comments are left alone") {
    CHECK(pg_translated("SELECT 1", 0) == "SELECT 1");
    CHECK(pg_translated("INSERT INTO t VALUES(?,?,?)", 3) == "INSERT INTO t VALUES($1,$2,$3)");
    CHECK(pg_translated("UPDATE r SET a = max(a, ?2) WHERE id = ?1", 2) ==
          "UPDATE r SET a = max(a, $2) WHERE id = $1");
    CHECK(pg_translated("SELECT ?2, ?", 3) == "SELECT $2, $3");  // SQLite: largest + 1
    CHECK(pg_translated("SELECT '?', \"a?\" FROM t WHERE x = ?", 1) ==
          "SELECT '?', \"a?\" FROM t WHERE x = $1");
    CHECK(pg_translated("SELECT 'it''s ?' -- why?\n, ? /* ? */", 1) ==
          "SELECT 'it''s ?' -- why?\n, $1 /* ? */");
    CHECK(pg_translated("SELECT '?", 0) == "SELECT '?");  // unterminated: no crash
  }

  TEST_CASE("postgres: a URL's password is never shown") {
    CHECK(pg::redact_url("postgresql://fc:s3cret@db.example:5432/fleet") ==
          "postgresql://fc:***@db.example:5432/fleet");
    CHECK(pg::redact_url("postgresql://fc@127.0.0.1/fleet?password=s3cret&sslmode=require") ==
          "postgresql://fc@127.0.0.1/fleet?password=***&sslmode=require");
    CHECK(pg::redact_url("host=db user=fc password='a b c' dbname=x") ==
          "host=db user=fc password=*** dbname=x");
    CHECK(pg::redact_url("postgresql://fc@127.0.0.1/fleet") == "postgresql://fc@127.0.0.1/fleet");
  }

  TEST_CASE("postgres: an unreachable server is Errc::kUnavailable and the password not shown") {
    auto c = Conn::open_postgres("postgresql://fc:hunter2@127.0.0.1:1/none?connect_timeout=2");
    REQUIRE_FALSE(c);
    CHECK(c.error().is(Errc::kUnavailable));
    CHECK(c.error().detail.find("hunter2") == std::string::npos);
    CHECK(c.error().detail.find("***") != std::string::npos);
  }

  TEST_CASE("postgres: binds and columns of every type, NULLs, changes()") {
    auto url = test::pg_fresh_database();
    if (!url) return;
    auto c = test::pg_open(*url);
    CHECK(c->dialect() == Dialect::kPostgres);
    REQUIRE(c->exec(kPgTable));
    {
      auto ins = c->prepare("INSERT INTO t(id, name, score) VALUES(?, ?, ?)");
      REQUIRE(ins);
      REQUIRE(ins.value().bind_all(std::int64_t{1} << 40, "caf\xC3\xA9 '\"", 2.5).run());
      CHECK(c->changes() == 1);
      REQUIRE(ins.value().bind_all(2, nullptr, std::optional<double>{}).run());
    }
    auto sel = c->prepare("SELECT id, name, score, id > ?1 FROM t ORDER BY id");
    REQUIRE(sel);
    auto& s = sel.value();
    s.bind(1, 1);
    REQUIRE(s.step().value());
    CHECK(s.col_int(0) == 2);
    CHECK(s.col_null(1));
    CHECK(s.col_opt_text(1) == std::nullopt);
    CHECK(s.col_opt_int(2) == std::nullopt);
    CHECK(s.col_int(3) == 1);  // a boolean reads as 1
    REQUIRE(s.step().value());
    CHECK(s.col_int(0) == std::int64_t{1} << 40);
    CHECK(s.col_text(1) == "caf\xC3\xA9 '\"");
    CHECK(s.col_double(2) == 2.5);
    CHECK_FALSE(s.step().value());
    auto upd = c->prepare("UPDATE t SET score = ? WHERE id > 0");
    REQUIRE(upd);
    REQUIRE(upd.value().bind(1, 0.1).run());
    CHECK(c->changes() == 2);
    CHECK(pg_scalar(*c, "SELECT count(*) FROM t WHERE score = 0.1") == 2);
  }

  TEST_CASE("postgres: a unique violation is Errc::kConstraint; the statement is reused") {
    auto url = test::pg_fresh_database();
    if (!url) return;
    auto c = test::pg_open(*url);
    REQUIRE(c->exec(kPgTable));
    auto ins = c->prepare("INSERT INTO t(id, name) VALUES(?, ?)");
    REQUIRE(ins);
    REQUIRE(ins.value().bind_all(1, "a").run());
    auto dup = ins.value().bind_all(2, "a").run();
    REQUIRE_FALSE(dup);
    CHECK(dup.error().is(Errc::kConstraint));
    CHECK(dup.error().code == fc::Code::kConflict);
    auto bad = c->prepare("SELECT nope FROM t");
    CHECK_FALSE(bad);
    REQUIRE(ins.value().bind_all(3, "b").run());
    CHECK(pg_scalar(*c, "SELECT count(*) FROM t") == 2);
  }

  TEST_CASE("postgres: text with a NUL character is refused, never stored cut at it") {
    auto url = test::pg_fresh_database();
    if (!url) return;
    auto c = test::pg_open(*url);
    REQUIRE(c->exec(kPgTable));
    auto ins = c->prepare("INSERT INTO t(id, name) VALUES(?, ?)");
    REQUIRE(ins);
    auto st = ins.value().bind_all(1, std::string_view("a\0b", 3)).run();
    REQUIRE_FALSE(st);  // libpq would have sent "a"
    CHECK(st.error().code == fc::Code::kInvalidArgument);
    CHECK(st.error().detail.find("NUL") != std::string::npos);
    CHECK(pg_scalar(*c, "SELECT count(*) FROM t") == 0);
    REQUIRE(ins.value().bind_all(2, "ab").run());  // the statement is reused
    CHECK(pg_scalar(*c, "SELECT count(*) FROM t") == 1);
    // Pipelined (the writer's flush): refused before it is sent.
    REQUIRE(c->begin(true));
    c->set_pipelined(true);
    auto piped = ins.value().bind_all(3, std::string_view("c\0d", 3)).run();
    REQUIRE_FALSE(piped);
    CHECK(piped.error().code == fc::Code::kInvalidArgument);
    pg_end_pipelined(*c, false);
    CHECK(pg_scalar(*c, "SELECT count(*) FROM t") == 1);
  }

  TEST_CASE("postgres: Tx commits, rolls back in its destructor; nested use of one SQL") {
    auto url = test::pg_fresh_database();
    if (!url) return;
    auto c = test::pg_open(*url);
    REQUIRE(c->exec(kPgTable));
    {
      Tx tx(*c);
      REQUIRE(tx.begin_status());
      REQUIRE(c->exec("INSERT INTO t(id) VALUES(1), (2)"));
    }  // rolled back
    CHECK(pg_scalar(*c, "SELECT count(*) FROM t") == 0);
    {
      Tx tx(*c);
      REQUIRE(c->exec("INSERT INTO t(id) VALUES(1), (2)"));
      REQUIRE(tx.commit());
    }
    auto outer = c->prepare("SELECT id FROM t ORDER BY id");
    REQUIRE(outer);
    int seen = 0;
    while (outer.value().step().value()) {
      auto inner = c->prepare("SELECT id FROM t ORDER BY id");  // borrowed: its own copy
      REQUIRE(inner);
      REQUIRE(inner.value().step().value());
      CHECK(inner.value().col_int(0) == 1);
      ++seen;
    }
    CHECK(seen == 2);
  }

  TEST_CASE("postgres: group commit, one caller's failure rolls back only its writes") {
    auto url = test::pg_fresh_database();
    if (!url) return;
    REQUIRE(test::pg_open(*url)->exec(kPgTable));
    auto db = Database::open({"", 512, *url});
    REQUIRE_MESSAGE(db, (db ? "" : db.error().detail));
    auto& d = *db.value();
    auto insert = [](int id) {
      return [id](Conn& c) -> fc::Status {
        auto s = c.prepare("INSERT INTO t(id, name) VALUES(?, ?)");
        if (!s) return s.error();
        return s.value().bind_all(id, "n" + std::to_string(id % 5)).run();
      };
    };
    REQUIRE(d.write_sync(insert(1)));
    auto dup = d.write_sync(insert(6));  // name n1 again: unique violation
    REQUIRE_FALSE(dup);
    CHECK(dup.error().is(Errc::kConstraint));
    REQUIRE(d.write_sync([&](Conn& c) -> fc::Status {
               auto two = insert(2)(c);
               if (!two) return two;
               return insert(11)(c);  // fails: n1; its savepoint undoes id 2 as well
             }).has_error());
    REQUIRE(d.write_sync(insert(3)));
    CHECK(pg_scalar(d.read(), "SELECT count(*) FROM t") == 2);
    CHECK(pg_scalar(d.read(), "SELECT sum(id) FROM t") == 4);
    CHECK(d.stats().failed == 2);
    d.close();
  }

  TEST_CASE("postgres: a connection lost inside a group commit fails the batch, no abort") {
    // A PostgreSQL restart in the middle of a batch (ha_itest restarts it
    // under load): the caller's savepoint cannot be rolled back, the server
    // has dropped the whole transaction. The batch fails (nothing of it is
    // stored), the writer reconnects, and the next write commits.
    auto url = test::pg_fresh_database();
    if (!url) return;
    REQUIRE(test::pg_open(*url)->exec(kPgTable));
    auto db = Database::open({"", 512, *url});
    REQUIRE_MESSAGE(db, (db ? "" : db.error().detail));
    auto& d = *db.value();
    auto killer = test::pg_open(*url);
    auto st = d.write_sync([&](Conn& c) -> fc::Status {
      auto s = c.prepare("INSERT INTO t(id, name) VALUES(?, ?)");
      if (!s) return s.error();
      if (auto ins = s.value().bind_all(1, "lost").run(); !ins) return ins;
      const auto pid = pg_scalar(c, "SELECT pg_backend_pid()");
      auto k = killer->prepare("SELECT pg_terminate_backend(?::int, 5000)");
      if (!k) return k.error();
      if (auto ran = k.value().bind(1, pid).step(); !ran) return ran.error();
      return fc::make_error(fc::Code::kInternal, "fails after its backend was terminated");
    });
    REQUIRE_FALSE(st);
    CHECK(st.error().is(Errc::kUnavailable));
    REQUIRE(d.write_sync([](Conn& c) -> fc::Status {
      auto s = c.prepare("INSERT INTO t(id, name) VALUES(?, ?)");
      if (!s) return s.error();
      return s.value().bind_all(2, "after").run();
    }));
    CHECK(pg_scalar(d.read(), "SELECT count(*) FROM t") == 1);
    CHECK(pg_scalar(d.read(), "SELECT sum(id) FROM t") == 2);
    d.close();
  }

  TEST_CASE("postgres: pipelined statements: sent without waiting, the first error at COMMIT") {
    // Conn::set_pipelined (the writer's flush, docs/storage.md "Pipelined
    // batches"): run() returns before the server answered; the first failure
    // among the statements comes back at the next statement that waits or at
    // commit(), naming the statement; the COMMIT sent with them does not run,
    // nothing of the transaction is stored, and the connection serves on.
    auto url = test::pg_fresh_database();
    if (!url) return;
    auto c = test::pg_open(*url);
    REQUIRE(c->exec(kPgTable));
    auto ins = [&](int id, const char* name) { return pg_insert_t(*c, id, name); };
    REQUIRE(c->begin(true));
    c->set_pipelined(true);
    CHECK(ins(1, "a"));
    CHECK(ins(2, "a"));  // the unique violation: not known yet
    CHECK(ins(3, "c"));  // not run (the pipeline is aborted at the error)
    auto st = c->commit();
    REQUIRE_FALSE(st);
    CHECK(st.error().is(Errc::kConstraint));
    CHECK(st.error().detail.find("pipelined INSERT INTO t") != std::string::npos);
    pg_end_pipelined(*c, false);
    CHECK(pg_scalar(*c, "SELECT count(*) FROM t") == 0);

    // Successful: a read in the middle waits, and sees the pipelined rows.
    REQUIRE(c->begin(true));
    c->set_pipelined(true);
    CHECK(ins(4, "d"));
    CHECK(ins(5, "e"));
    CHECK(pg_scalar(*c, "SELECT count(*) FROM t") == 2);
    CHECK(ins(6, "f"));
    pg_end_pipelined(*c, true);
    CHECK(pg_scalar(*c, "SELECT sum(id) FROM t") == 15);
    // An error named at sync(): the transaction is failed, rolled back.
    REQUIRE(c->begin(true));
    c->set_pipelined(true);
    CHECK(ins(7, "d"));
    auto synced = c->sync();
    REQUIRE_FALSE(synced);
    CHECK(synced.error().is(Errc::kConstraint));
    CHECK(c->tx_failed());
    pg_end_pipelined(*c, false);
    CHECK(pg_scalar(*c, "SELECT count(*) FROM t") == 3);
  }

  TEST_CASE("postgres: a session lost in the middle of a pipeline: kUnavailable, then reconnects") {
    auto url = test::pg_fresh_database();
    if (!url) return;
    auto c = test::pg_open(*url);
    REQUIRE(c->exec(kPgTable));
    auto killer = test::pg_open(*url);
    auto ins = [&](int id, const char* name) { return pg_insert_t(*c, id, name); };
    CHECK(ins(100, "warm"));  // prepared on this session
    const auto pid = pg_scalar(*c, "SELECT pg_backend_pid()");
    REQUIRE(c->begin(true));
    c->set_pipelined(true);
    CHECK(ins(1, "a"));
    auto k = killer->prepare("SELECT pg_terminate_backend(?::int, 5000)");
    REQUIRE(k);
    REQUIRE(k.value().bind(1, pid).step().value());
    (void)ins(2, "b");  // sent to a dead session, or refused at once
    auto st = c->commit();
    REQUIRE_FALSE(st);
    CHECK(st.error().is(Errc::kUnavailable));
    pg_end_pipelined(*c, false);
    CHECK(pg_scalar(*c, "SELECT count(*) FROM t") == 1);  // a new session; only the warm-up row
    CHECK(pg_scalar(*c, "SELECT pg_backend_pid()") != pid);
    REQUIRE(c->begin(true));
    c->set_pipelined(true);
    CHECK(ins(3, "c"));
    pg_end_pipelined(*c, true);
    CHECK(pg_scalar(*c, "SELECT count(*) FROM t") == 2);
  }

  TEST_CASE("postgres: a lost connection is kUnavailable inside a transaction, reconnects after") {
    auto url = test::pg_fresh_database();
    if (!url) return;
    auto c = test::pg_open(*url);
    auto killer = test::pg_open(*url);
    const auto pid = pg_scalar(*c, "SELECT pg_backend_pid()");
    {
      Tx tx(*c);
      REQUIRE(tx.begin_status());
      auto k = killer->prepare("SELECT pg_terminate_backend(?::int, 5000)");
      REQUIRE(k);
      REQUIRE(k.value().bind(1, pid).step().value());
      auto after = c->prepare("SELECT 1");
      CHECK_FALSE(after);  // the session is gone
      if (!after) CHECK(after.error().is(Errc::kUnavailable));
    }                                             // rollback on a dead connection: nothing to undo
    CHECK(pg_scalar(*c, "SELECT 41 + 1") == 42);  // reconnected, statements prepared again
    CHECK(pg_scalar(*c, "SELECT pg_backend_pid()") != pid);
  }

  TEST_CASE(
      "postgres: a session lost while idle: reads go on on a new one, a write is not retried") {
    // A PostgreSQL restart between requests: the first read after it is
    // answered (not a 503); a write outside a transaction is not run twice
    // behind the caller's back, it fails kUnavailable and the next one works.
    auto url = test::pg_fresh_database();
    if (!url) return;
    auto c = test::pg_open(*url);
    REQUIRE(c->exec(kPgTable));
    auto killer = test::pg_open(*url);
    auto kill = [&](std::int64_t pid) {
      auto k = killer->prepare("SELECT pg_terminate_backend(?::int, 5000)");
      REQUIRE(k);
      REQUIRE(k.value().bind(1, pid).step().value());
    };
    const auto first = pg_scalar(*c, "SELECT pg_backend_pid()");  // prepared and cached
    kill(first);
    const auto second =
        pg_scalar(*c, "SELECT pg_backend_pid()");  // the cached statement, read again
    CHECK(second != first);
    kill(second);
    CHECK(pg_scalar(*c, "SELECT count(*) FROM t WHERE id > 41") ==
          0);  // a new statement, prepared again
    const auto third = pg_scalar(*c, "SELECT pg_backend_pid()");
    CHECK(third != second);
    {
      auto ins = c->prepare("INSERT INTO t(id, name) VALUES(?, ?)");
      REQUIRE(ins);
      kill(third);
      auto ran = ins.value().bind_all(1, "once").run();
      REQUIRE_FALSE(ran);
      CHECK(ran.error().is(Errc::kUnavailable));
    }
    auto ins = c->prepare("INSERT INTO t(id, name) VALUES(?, ?)");
    REQUIRE(ins);
    REQUIRE(ins.value().bind_all(2, "after").run());
    CHECK(pg_scalar(*c, "SELECT count(*) FROM t") == 1);
    CHECK(pg_scalar(*c, "SELECT sum(id) FROM t") == 2);
  }
}

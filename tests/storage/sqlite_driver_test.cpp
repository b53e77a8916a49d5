// The SQLite driver's transaction statements (storage/sqlite/driver.cpp):
// BEGIN [IMMEDIATE], COMMIT and ROLLBACK are prepared once per connection and
// reused; a failing one reports SQLite's error and leaves the statement ready
// to run again, as sqlite3_exec did.
#include <doctest/doctest.h>

#include <string>

#include "storage/db.hpp"
#include "test_util.hpp"

using namespace fc::storage;
using fc::storage::test::scalar;

TEST_SUITE("storage.sqlite_driver") {
  TEST_CASE("BEGIN/COMMIT/ROLLBACK: errors as SQLite gives them, then usable again") {
    test::TempDir dir;
    auto c = Conn::open(dir.file("d.db"), OpenMode::kReadWrite);
    REQUIRE(c);
    Conn& conn = *c.value();
    REQUIRE(conn.exec("CREATE TABLE t(v INTEGER)"));

    auto no_tx = conn.commit();  // nothing to commit
    REQUIRE_FALSE(no_tx);
    CHECK(no_tx.error().detail.find("no transaction is active") != std::string::npos);
    CHECK_FALSE(conn.rollback());

    REQUIRE(conn.begin(true));
    auto nested = conn.begin(true);
    REQUIRE_FALSE(nested);
    CHECK(nested.error().detail.find("within a transaction") != std::string::npos);
    REQUIRE(conn.exec("INSERT INTO t VALUES (1)"));
    REQUIRE(conn.rollback());  // the failed BEGIN left the transaction open: undo it
    CHECK(scalar(conn, "SELECT count(*) FROM t") == 0);

    for (int i = 0; i < 3; ++i) {  // the same statements, again and again
      REQUIRE(conn.begin(i % 2 == 0));
      REQUIRE(conn.exec("INSERT INTO t VALUES (" + std::to_string(i) + ")"));
      REQUIRE(conn.commit());
    }
    CHECK(scalar(conn, "SELECT count(*) FROM t") == 3);
    {
      Tx tx(conn);
      REQUIRE(conn.exec("INSERT INTO t VALUES (9)"));
    }  // rolled back by Tx
    CHECK(scalar(conn, "SELECT count(*) FROM t") == 3);
  }

  TEST_CASE("a BEGIN IMMEDIATE that cannot take the lock fails, and runs on a later try") {
    test::TempDir dir;
    auto a = Conn::open(dir.file("d.db"), OpenMode::kReadWrite);
    REQUIRE(a);
    REQUIRE(a.value()->exec("CREATE TABLE t(v INTEGER); PRAGMA busy_timeout=0;"));
    auto b = Conn::open(dir.file("d.db"), OpenMode::kReadWrite);
    REQUIRE(b);
    REQUIRE(b.value()->exec("PRAGMA busy_timeout=0;"));
    REQUIRE(a.value()->begin(true));  // a holds the write lock
    REQUIRE(a.value()->exec("INSERT INTO t VALUES (1)"));
    auto busy = b.value()->begin(true);
    REQUIRE_FALSE(busy);
    CHECK(busy.error().detail.find("locked") != std::string::npos);
    REQUIRE(a.value()->commit());
    REQUIRE(b.value()->begin(true));  // the same prepared BEGIN IMMEDIATE, now free
    REQUIRE(b.value()->exec("INSERT INTO t VALUES (2)"));
    REQUIRE(b.value()->commit());
    CHECK(scalar(*a.value(), "SELECT count(*) FROM t") == 2);
  }
}

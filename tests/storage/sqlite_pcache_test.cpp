// The page-cache wrapper (storage/sqlite/pcache.cpp): a COMMIT after b-tree
// page splits no longer hands pcache1 a truncation with nothing to drop (its
// walk of the whole cache was 9 % of the daemon's CPU under the placement
// benchmark), while a truncation that does drop pages (a rolled-back
// transaction or savepoint that grew the database) still reaches pcache1: no
// stale page of the undone growth may be served when the database grows again.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "storage/db.hpp"
#include "storage/sqlite/pcache.hpp"
#include "test_util.hpp"

using namespace fc::storage;
using fc::storage::test::scalar;

namespace {

// Rows with random keys in a table and an index: inserts land all over both
// b-trees, so pages split (balance_nonroot, which moves pages through the
// temporary key that used to defeat pcache1's truncation shortcut).
void insert_random(Conn& c, std::mt19937& rng, int rows, const std::string& tag) {
  auto st = c.prepare("INSERT INTO t(k, v) VALUES (?, ?)");
  REQUIRE(st);
  for (int i = 0; i < rows; ++i) {
    const std::string key = tag + "-" + std::to_string(rng()) + "-" + std::to_string(i);
    REQUIRE(
        st.value().bind(1, key).bind(2, std::string(300, static_cast<char>('a' + i % 26))).run());
  }
}

std::string integrity(Conn& c) { return test::column(c, "PRAGMA integrity_check").at(0); }

std::unique_ptr<Conn> open_db(const std::string& path) {
  auto c = Conn::open(path, OpenMode::kReadWrite);
  REQUIRE(c);
  return std::move(c.value());
}

}  // namespace

TEST_SUITE("storage.sqlite_pcache") {
  TEST_CASE(
      "a COMMIT after page splits skips the truncation: nothing above the database is cached") {
    test::TempDir dir;
    auto c = open_db(dir.file("d.db"));
    REQUIRE(sqlite::install_page_cache());  // the driver installed it before SQLite initialised
    REQUIRE(c->exec("CREATE TABLE t(k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID"));
    REQUIRE(c->exec("CREATE INDEX t_v ON t(v, k)"));
    std::mt19937 rng(7);
    const auto before = sqlite::page_cache_stats();
    for (int batch = 0; batch < 20; ++batch) {
      REQUIRE(c->begin(true));
      insert_random(*c, rng, 200, "b" + std::to_string(batch));
      REQUIRE(c->commit());
    }
    const auto after = sqlite::page_cache_stats();
    CHECK(scalar(*c, "SELECT count(*) FROM t") == 4000);
    CHECK(scalar(*c, "PRAGMA page_count") > 300);  // the b-trees did split, many times
    // Every COMMIT truncated at the database's size, and none had a page to drop.
    CHECK(after.truncates_skipped - before.truncates_skipped >= 20);
    CHECK(after.truncates_forwarded == before.truncates_forwarded);
    CHECK(integrity(*c) == "ok");
  }

  TEST_CASE("a rolled-back growth is dropped from the cache: the next growth reads no stale page") {
    test::TempDir dir;
    const std::string path = dir.file("d.db");
    auto c = open_db(path);
    REQUIRE(c->exec("CREATE TABLE t(k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID"));
    REQUIRE(c->exec("CREATE INDEX t_v ON t(v, k)"));
    std::mt19937 rng(11);
    REQUIRE(c->begin(true));
    insert_random(*c, rng, 500, "kept");
    REQUIRE(c->commit());
    const std::int64_t pages = scalar(*c, "PRAGMA page_count");

    SUBCASE("ROLLBACK") {
      const auto before = sqlite::page_cache_stats();
      REQUIRE(c->begin(true));
      insert_random(*c, rng, 3000, "undone");  // the database grows by far more than it had
      CHECK(scalar(*c, "PRAGMA page_count") > 2 * pages);
      REQUIRE(c->rollback());
      // The pages above the restored size were cached: that truncation reached pcache1.
      CHECK(sqlite::page_cache_stats().truncates_forwarded > before.truncates_forwarded);
    }
    SUBCASE("ROLLBACK TO a savepoint, then COMMIT") {
      const auto before = sqlite::page_cache_stats();
      REQUIRE(c->begin(true));
      REQUIRE(c->exec("SAVEPOINT sp"));
      insert_random(*c, rng, 3000, "undone");
      REQUIRE(c->exec("ROLLBACK TO sp"));
      REQUIRE(c->exec("RELEASE sp"));
      REQUIRE(c->commit());
      CHECK(sqlite::page_cache_stats().truncates_forwarded > before.truncates_forwarded);
    }
    CHECK(scalar(*c, "PRAGMA page_count") == pages);
    CHECK(scalar(*c, "SELECT count(*) FROM t WHERE k LIKE 'undone-%'") == 0);

    // Grow again over the same page numbers: each must be read as written now.
    REQUIRE(c->begin(true));
    insert_random(*c, rng, 3000, "again");
    REQUIRE(c->commit());
    CHECK(scalar(*c, "SELECT count(*) FROM t WHERE k LIKE 'kept-%'") == 500);
    CHECK(scalar(*c, "SELECT count(*) FROM t WHERE k LIKE 'again-%'") == 3000);
    CHECK(scalar(*c, "SELECT count(*) FROM t WHERE k LIKE 'undone-%'") == 0);
    CHECK(integrity(*c) == "ok");

    // A second connection (its own cache) and a fresh one see the same.
    auto other = open_db(path);
    CHECK(scalar(*other, "SELECT count(*) FROM t") == 3500);
    CHECK(integrity(*other) == "ok");
    c.reset();
    other.reset();
    auto reopened = open_db(path);
    CHECK(scalar(*reopened, "SELECT count(*) FROM t INDEXED BY t_v WHERE v > ''") == 3500);
    CHECK(integrity(*reopened) == "ok");
  }
}

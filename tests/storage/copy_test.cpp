// storage::copy_database (migrate-storage): a SQLite state into an empty
// PostgreSQL database, verified; refuses a non-empty target; identity
// sequences moved past the copied ids. On PostgreSQL only (unit_storage_pg).
#include <doctest/doctest.h>

#include "pg_util.hpp"
#include "storage/copy.hpp"
#include "storage/db.hpp"
#include "storage/jobs.hpp"
#include "test_util.hpp"

namespace fc::storage::test {
namespace {

const TableCopy* find_table(const CopyReport& r, const std::string& name) {
  for (const auto& t : r.tables)
    if (t.table == name) return &t;
  return nullptr;
}

std::unique_ptr<Conn> populated_sqlite(const std::string& path) {
  auto src = open_migrated(path);
  for (int i = 0; i < 5; ++i) {
    NewJob j{"copy-test", "k" + std::to_string(i), R"({"n":"caf\u00e9 'quoted'"})", kT0 + i, 3};
    REQUIRE(enqueue(*src, j, kT0));
  }
  // A gap in the ids: the sequence must move past the highest, not the count.
  REQUIRE(src->exec("UPDATE jobs SET id = 1000 WHERE key = 'k4'"));
  REQUIRE(src->exec("UPDATE jobs SET last_error = NULL, lease_until = 42 WHERE key = 'k1'"));
  return src;
}

}  // namespace

TEST_SUITE("storage") {
  TEST_CASE("copy_database: every table, verified, sequences moved, non-empty target refused") {
    auto url = pg_fresh_database();
    if (!url) return;
    TempDir dir;
    auto src = populated_sqlite(dir.file("fc.db"));
    auto dst = pg_open(*url);
    auto r = copy_database(*src, *dst, kT0);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().detail));
    const TableCopy* jobs = find_table(r.value(), "jobs");
    REQUIRE(jobs != nullptr);
    CHECK(jobs->rows == 5);
    CHECK(jobs->digest.size() == 64);
    CHECK(find_table(r.value(), "schema_migrations") == nullptr);
    CHECK(find_table(r.value(), "workspaces") != nullptr);  // empty tables are listed too
    CHECK(scalar(*dst, "SELECT count(*) FROM jobs") == 5);
    CHECK(scalar(*dst, "SELECT lease_until FROM jobs WHERE key = 'k1'") == 42);
    // The next id is past the highest copied one.
    REQUIRE(enqueue(*dst, NewJob{"copy-test", "k9", "{}", kT0, 0}, kT0));
    CHECK(scalar(*dst, "SELECT id FROM jobs WHERE key = 'k9'") == 1001);

    auto again = copy_database(*src, *dst, kT0);
    REQUIRE_FALSE(again);
    CHECK(again.error().detail.find("not empty") != std::string::npos);
    CHECK(scalar(*dst, "SELECT count(*) FROM jobs") == 6);  // nothing half-written
  }

  TEST_CASE("copy_database: a source behind this binary's migrations is refused") {
    auto url = pg_fresh_database();
    if (!url) return;
    TempDir dir;
    auto src = open_migrated(dir.file("fc.db"));
    REQUIRE(
        src->exec("DELETE FROM schema_migrations WHERE version = "
                  "(SELECT max(version) FROM schema_migrations)"));
    auto dst = pg_open(*url);
    auto r = copy_database(*src, *dst, kT0);
    REQUIRE_FALSE(r);
    CHECK(r.error().detail.find("run `fleetcommand migrate`") != std::string::npos);
  }

  TEST_CASE("copy_database: SQLite into PostgreSQL only") {
    TempDir dir;
    auto a = open_migrated(dir.file("a.db"));
    auto b = open_migrated(dir.file("b.db"));
    auto r = copy_database(*a, *b, kT0);
    REQUIRE_FALSE(r);
    CHECK(r.error().detail.find("SQLite into PostgreSQL only") != std::string::npos);
  }
}

}  // namespace fc::storage::test

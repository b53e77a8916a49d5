// Migrations: fresh apply, re-run no-op, tampered checksum and unknown
// (newer) migration refused.
#include <doctest/doctest.h>

#include "storage/db.hpp"
#include "test_util.hpp"

using namespace fc::storage;
using fc::storage::test::kT0;
using fc::storage::test::scalar;

namespace {
bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}
}  // namespace

TEST_SUITE("storage") {
  TEST_CASE("fresh database: every embedded migration applied once, in order") {
    test::TempDir dir;
    auto c = Conn::open(dir.file("a.db"), OpenMode::kReadWrite);
    REQUIRE(c);
    auto pending = pending_migrations(*c.value());
    REQUIRE(pending);
    REQUIRE_FALSE(pending.value().empty());
    auto applied = migrate(*c.value(), kT0);
    REQUIRE(applied);
    REQUIRE(applied.value().size() == pending.value().size());
    for (std::size_t i = 0; i < applied.value().size(); ++i) {
      CHECK(applied.value()[i].name == pending.value()[i]);
      CHECK(applied.value()[i].checksum.size() == 64);  // SHA-256 hex
      if (i > 0) CHECK(applied.value()[i].version > applied.value()[i - 1].version);
    }
    CHECK(applied.value()[0].version == 1);
    CHECK(scalar(*c.value(), "SELECT count(*) FROM schema_migrations") ==
          static_cast<std::int64_t>(applied.value().size()));
    CHECK(scalar(*c.value(), "SELECT count(*) FROM jobs") == 0);  // tables exist
    CHECK(pending_migrations(*c.value()).value().empty());
  }

  TEST_CASE("re-running migrate is a no-op, also from a new connection") {
    test::TempDir dir;
    auto c = test::open_migrated(dir.file("a.db"));
    auto n = scalar(*c, "SELECT count(*) FROM schema_migrations");
    auto again = migrate(*c, kT0 + 1000);
    REQUIRE(again);
    CHECK(again.value().empty());
    c.reset();
    auto c2 = Conn::open(dir.file("a.db"), OpenMode::kReadWrite);
    REQUIRE(c2);
    auto third = migrate(*c2.value(), kT0 + 2000);
    REQUIRE(third);
    CHECK(third.value().empty());
    CHECK(scalar(*c2.value(), "SELECT count(*) FROM schema_migrations") == n);
    CHECK(scalar(*c2.value(), "SELECT max(applied_at) FROM schema_migrations") == kT0);
  }

  TEST_CASE("a tampered checksum is refused with a clear message") {
    test::TempDir dir;
    auto c = test::open_migrated(dir.file("a.db"));
    REQUIRE(c->exec("UPDATE schema_migrations SET checksum = 'deadbeef' WHERE version = 1"));
    auto m = migrate(*c, kT0);
    REQUIRE_FALSE(m);
    CHECK(m.error().code == fc::Code::kConflict);
    CHECK(contains(m.error().detail, "checksum mismatch"));
    CHECK(contains(m.error().detail, "0001_"));
    auto p = pending_migrations(*c);
    REQUIRE_FALSE(p);
    CHECK(contains(p.error().detail, "checksum"));
  }

  TEST_CASE("a migration newer than the binary is refused") {
    test::TempDir dir;
    auto c = test::open_migrated(dir.file("a.db"));
    REQUIRE(
        c->exec("INSERT INTO schema_migrations(version, name, checksum, applied_at)"
                " VALUES (9999, '9999_from_the_future', 'abc', 0)"));
    auto m = migrate(*c, kT0);
    REQUIRE_FALSE(m);
    CHECK(contains(m.error().detail, "9999_from_the_future"));
    CHECK(contains(m.error().detail, "newer"));
  }

  TEST_CASE("Tx rolls back unless committed") {
    test::TempDir dir;
    auto c = test::open_migrated(dir.file("a.db"));
    REQUIRE(c->exec("CREATE TABLE t(x INTEGER)"));
    {
      Tx tx(*c);
      REQUIRE(tx.begin_status());
      REQUIRE(c->exec("INSERT INTO t VALUES (1)"));
    }
    CHECK(scalar(*c, "SELECT count(*) FROM t") == 0);
    {
      Tx tx(*c);
      REQUIRE(c->exec("INSERT INTO t VALUES (2)"));
      REQUIRE(tx.commit());
    }
    CHECK(scalar(*c, "SELECT sum(x) FROM t") == 2);
  }

  TEST_CASE("statements bind and read every type; bad SQL is an error, not a crash") {
    test::TempDir dir;
    auto c = test::open_migrated(dir.file("a.db"));
    auto st = c->prepare("SELECT ?1, ?2, ?3, ?4");
    REQUIRE(st);
    st.value().bind_all(std::int64_t{42}, std::string("text"), 1.5, nullptr);
    auto row = st.value().step();
    REQUIRE(row);
    REQUIRE(row.value());
    CHECK(st.value().col_int(0) == 42);
    CHECK(st.value().col_text(1) == "text");
    CHECK(st.value().col_double(2) == doctest::Approx(1.5));
    CHECK(st.value().col_null(3));
    CHECK_FALSE(st.value().col_opt_text(3));
    CHECK_FALSE(c->prepare("SELEKT nonsense"));
    CHECK_FALSE(c->exec("INSERT INTO no_such_table VALUES (1)"));
  }

  TEST_CASE("0022: a workspace insert builds no ephemeral table; the state rule still holds") {
    test::TempDir dir;
    auto c = test::open_migrated(dir.file("a.db"));
    REQUIRE(
        c->exec("INSERT INTO regions(id, name, cap_memory_mib, cap_cpu_millis, cap_workspaces,"
                " created_at, updated_at) VALUES('r1', 'r1', 10, 10, 10, 1, 1)"));
    const std::string insert =
        "INSERT INTO workspaces(id, name, region, state, memory_mib, cpu_millis, created_at,"
        " updated_at) VALUES('ws_1', 'a', 'r1', ?1, 1, 1, 1, 1)";
    auto plan = c->prepare("EXPLAIN " + insert);
    REQUIRE(plan);
    int ops = 0;
    for (;;) {
      auto row = plan.value().step();
      REQUIRE(row);
      if (!row.value()) break;
      ++ops;
      CHECK(plan.value().col_text(1) != "OpenEphemeral");
    }
    CHECK(ops > 0);
    for (const char* bad : {"bogus", "", "Scheduled"}) {
      auto st = c->prepare(insert);
      REQUIRE(st);
      CHECK_FALSE(st.value().bind(1, bad).run());
    }
    for (const char* good : {"scheduled", "migrating", "deleting"}) {
      REQUIRE(c->exec("DELETE FROM workspaces"));
      auto st = c->prepare(insert);
      REQUIRE(st);
      CHECK(st.value().bind(1, good).run());
    }
    // placements still cascades from workspaces (the rebuilt pair).
    REQUIRE(
        c->exec("INSERT INTO placements(workspace_id, region, memory_mib, cpu_millis)"
                " VALUES('ws_1', 'r1', 1, 1)"));
    REQUIRE(c->exec("DELETE FROM workspaces"));
    CHECK(scalar(*c, "SELECT count(*) FROM placements") == 0);
  }
}

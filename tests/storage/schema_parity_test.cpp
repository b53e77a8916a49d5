// The same numbered migrations on both backends: applied to a fresh SQLite
// and a fresh PostgreSQL database, they give the same tables, columns (with
// NOT NULL) and indexes by name. PostgreSQL's half runs under
// tests/lib/pgcluster.py (ctest unit_storage_pg).
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include "pg_util.hpp"
#include "storage/db.hpp"
#include "test_util.hpp"

using namespace fc::storage;

namespace {

struct SchemaShape {
  std::map<std::string, std::set<std::string>> tables;  // table -> "column notnull"
  std::set<std::string> indexes;                        // table.index
};

SchemaShape sqlite_shape(Conn& c) {
  SchemaShape s;
  for (const auto& t : test::column(
           c, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")) {
    auto st = c.prepare("SELECT name, \"notnull\" OR pk FROM pragma_table_info(?)");
    REQUIRE(st);
    st.value().bind(1, t);
    while (st.value().step().value())
      s.tables[t].insert(st.value().col_text(0) + (st.value().col_int(1) ? " notnull" : ""));
  }
  auto st = c.prepare(
      "SELECT tbl_name || '.' || name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL");
  REQUIRE(st);
  while (st.value().step().value()) s.indexes.insert(st.value().col_text(0));
  return s;
}

SchemaShape postgres_shape(Conn& c) {
  SchemaShape s;
  auto st = c.prepare(
      "SELECT table_name, column_name, is_nullable = 'NO' FROM information_schema.columns"
      " WHERE table_schema = 'public'");
  REQUIRE(st);
  while (st.value().step().value())
    s.tables[st.value().col_text(0)].insert(st.value().col_text(1) +
                                            (st.value().col_int(2) ? " notnull" : ""));
  for (const auto& i : test::column(c,
                                    "SELECT tablename || '.' || indexname FROM pg_indexes"
                                    " WHERE schemaname = 'public'"
                                    " AND indexname NOT IN (SELECT conname FROM pg_constraint)"))
    s.indexes.insert(i);
  return s;
}

}  // namespace

TEST_SUITE("storage") {
  TEST_CASE("postgres: every migration applies, and the schema matches SQLite's") {
    auto url = test::pg_fresh_database();
    if (!url) return;
    auto pg = test::pg_open(*url);
    auto applied = migrate(*pg, test::kT0);
    REQUIRE_MESSAGE(applied, (applied ? "" : applied.error().detail));
    auto lite = test::open_migrated(":memory:");
    CHECK(applied.value().size() ==
          static_cast<std::size_t>(test::scalar(*lite, "SELECT count(*) FROM schema_migrations")));
    CHECK(pending_migrations(*pg).value().empty());
    CHECK(migrate(*pg, test::kT0 + 1).value().empty());  // a no-op the second time
    const auto a = sqlite_shape(*lite);
    const auto b = postgres_shape(*pg);
    CHECK(a.indexes == b.indexes);
    for (const auto& [t, cols] : a.tables) {
      CAPTURE(t);
      REQUIRE(b.tables.count(t) == 1);
      CHECK(cols == b.tables.at(t));
    }
    CHECK(a.tables.size() == b.tables.size());
  }
}

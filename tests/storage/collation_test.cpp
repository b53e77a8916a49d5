// Byte order on PostgreSQL whatever the database's default collation
// (migration 0027, docs/storage.md "Collation"): every text column of a
// migrated database is COLLATE "C", a database migrated before the rewrite
// existed is moved to it with its rows and indexes, and the list queries
// still read their indexes in order (no Sort). Meaningful on a cluster with a
// linguistic default: ctest unit_storage_pg_icu runs these under
// FC_PG_LOCALE=icu; unit_storage_pg (byte order) runs them too.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "pg_util.hpp"
#include "storage/db.hpp"
#include "storage/postgres/driver.hpp"
#include "test_util.hpp"

using namespace fc::storage;

namespace {

// "table.column" of every text column of the schema not in byte order.
const char* const kNotC =
    "SELECT c.relname || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
    " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0"
    " AND NOT a.attisdropped AND a.atttypid = 'text'::regtype"
    " AND a.attcollation <> 'pg_catalog.\"C\"'::regcollation ORDER BY 1";

const char* const kTextColumns =
    "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
    " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0"
    " AND NOT a.attisdropped AND a.atttypid = 'text'::regtype";

// The plan of `sql` with sequential scans priced out: whether an index can
// serve it, and in which order.
std::string coll_plan(Conn& c, const std::string& sql) {
  REQUIRE(c.exec("SET enable_seqscan = off"));
  std::string plan;
  for (const auto& line : test::column(c, "EXPLAIN " + sql)) plan += line + "\n";
  REQUIRE(c.exec("RESET enable_seqscan"));
  return plan;
}

void coll_seed(Conn& c) {
  REQUIRE(c.exec(
      "INSERT INTO regions(id, name, cap_memory_mib, cap_cpu_millis, cap_workspaces, created_at,"
      " updated_at) VALUES ('eu-b', 'eu-b', 1, 1, 1, 0, 0), ('eua', 'eua', 1, 1, 1, 0, 0)"));
  std::string values;
  int i = 0;
  for (const char* name : {"ws-9", "ws-9a", "ws-10", "ws9", "ws-z", "wsz", "a-c", "ab", "a9"}) {
    if (!values.empty()) values += ", ";
    values += "('ws_" + std::to_string(++i) + "', '" + name + "', 'eu-b', 1, 1, 0, 0)";
  }
  REQUIRE(
      c.exec("INSERT INTO workspaces(id, name, region, memory_mib, cpu_millis, created_at,"
             " updated_at) VALUES " +
             values));
}

// The name search of store::list_workspaces, with a prefix's bounds.
std::vector<std::string> coll_prefix(Conn& c, const std::string& lo, const std::string& hi) {
  return test::column(c, "SELECT name FROM workspaces WHERE name >= '" + lo + "' AND name < '" +
                             hi + "' ORDER BY name");
}

}  // namespace

TEST_SUITE("storage") {
  TEST_CASE(
      "postgres collation: TEXT columns are created COLLATE \"C\"; --pg lines are PostgreSQL's") {
    namespace pg = fc::storage::postgres;
    CHECK(
        pg::schema_from_sqlite("CREATE TABLE t (a TEXT PRIMARY KEY, b TEXT NOT NULL, c INTEGER)") ==
        "CREATE TABLE t (a TEXT COLLATE \"C\" PRIMARY KEY, b TEXT COLLATE \"C\" NOT NULL, c "
        "BIGINT)");
    CHECK(pg::schema_from_sqlite("ALTER TABLE t ADD COLUMN d TEXT;") ==
          "ALTER TABLE t ADD COLUMN d TEXT COLLATE \"C\";");
    CHECK(pg::schema_from_sqlite("CREATE TABLE t (TEXTS INTEGER, texty TEXT)") ==
          "CREATE TABLE t (TEXTS BIGINT, texty TEXT COLLATE \"C\")");
    CHECK(pg::schema_from_sqlite(
              "-- a comment\n--pg SELECT 1;\n  --pg SELECT 2;\nSELECT 3; --pg x") ==
          "-- a comment\nSELECT 1;\n  SELECT 2;\nSELECT 3; --pg x");
    CHECK(pg::schema_from_sqlite("--pg SELECT 'text'::regtype") == "SELECT 'text'::regtype");
  }

  TEST_CASE("postgres collation: every text column compares by bytes; lists read their index") {
    auto url = test::pg_fresh_database();
    if (!url) return;
    auto c = test::pg_open(*url);
    REQUIRE(migrate(*c, test::kT0));
    CHECK(test::column(*c, kNotC) == std::vector<std::string>{});
    CHECK(test::scalar(*c, kTextColumns) > 100);
    coll_seed(*c);
    // Byte order: ':' after '9', '{' after 'z', '-' a character like any other.
    CHECK(coll_prefix(*c, "ws-9", "ws-:") == std::vector<std::string>{"ws-9", "ws-9a"});
    CHECK(coll_prefix(*c, "ws-z", "ws-{") == std::vector<std::string>{"ws-z"});
    CHECK(coll_prefix(*c, "ws-", "ws.") ==
          std::vector<std::string>{"ws-10", "ws-9", "ws-9a", "ws-z"});
    CHECK(test::column(*c, "SELECT name FROM workspaces ORDER BY name") ==
          std::vector<std::string>{"a-c", "a9", "ab", "ws-10", "ws-9", "ws-9a", "ws-z", "ws9",
                                   "wsz"});

    // The paged list queries still read their index in order (no Sort).
    REQUIRE(c->exec("ANALYZE"));
    const std::vector<std::string> queries = {
        // store::list_workspaces, by id and by name prefix
        "SELECT id FROM workspaces WHERE id > 'ws_1' AND ('' = '' OR region = '')"
        " AND ('' = '' OR state = '') ORDER BY id LIMIT 3",
        "SELECT id FROM workspaces WHERE name >= 'ws-9' AND name < 'ws-:' AND name >"
        " COALESCE((SELECT name FROM workspaces WHERE id = 'ws_1'), '') ORDER BY name LIMIT 3",
        // tenants' and domains' pages
        "SELECT id FROM tenants WHERE id > 'ten_1' ORDER BY id LIMIT 3",
        "SELECT id FROM domains WHERE deleted_at IS NULL AND id > 'dom_1' ORDER BY id LIMIT 3",
        // the domains sweep's page by workspace; channels and regions as listed
        "SELECT DISTINCT workspace_id FROM domains WHERE deleted_at IS NULL AND workspace_id > ''"
        " ORDER BY workspace_id LIMIT 3",
        "SELECT name FROM channels ORDER BY name",
        "SELECT id FROM regions ORDER BY id",
    };
    for (const auto& q : queries) {
      CAPTURE(q);
      const auto plan = coll_plan(*c, q);
      CAPTURE(plan);
      CHECK(plan.find("Index") != std::string::npos);
      CHECK(plan.find("Sort") == std::string::npos);
    }
  }

  TEST_CASE(
      "postgres collation: 0027 moves a database created in the default collation to byte order") {
    auto url = test::pg_fresh_database();
    if (!url) return;
    auto c = test::pg_open(*url);
    REQUIRE(migrate(*c, test::kT0));
    coll_seed(*c);
    // What a database created before the rewrite looks like: every text
    // column in the database's default collation, 0027 not applied.
    REQUIRE(c->exec(
        "DO $$ DECLARE t record; BEGIN FOR t IN"
        " SELECT c.relname, string_agg(format('ALTER COLUMN %I TYPE text COLLATE \"default\"',"
        " a.attname), ', ') AS alters FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0"
        " AND NOT a.attisdropped AND a.atttypid = 'text'::regtype GROUP BY c.relname"
        " LOOP EXECUTE format('ALTER TABLE %I ', t.relname) || t.alters; END LOOP; END $$"));
    REQUIRE(c->exec("DELETE FROM schema_migrations WHERE version = 27"));
    CHECK(test::column(*c, kNotC).size() ==
          static_cast<std::size_t>(test::scalar(*c, kTextColumns)));
    const auto before = test::column(*c, "SELECT name FROM workspaces ORDER BY id");

    auto applied = migrate(*c, test::kT0 + 1);
    REQUIRE_MESSAGE(applied, (applied ? "" : applied.error().detail));
    REQUIRE(applied.value().size() == 1);
    CHECK(applied.value()[0].name == "0027_text_collation_c");
    CHECK(test::column(*c, kNotC) == std::vector<std::string>{});
    CHECK(test::column(*c, "SELECT name FROM workspaces ORDER BY id") == before);  // rows kept
    CHECK(coll_prefix(*c, "ws-9", "ws-:") == std::vector<std::string>{"ws-9", "ws-9a"});
    CHECK(test::column(*c,
                       "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid"
                       " OR NOT indisready") == std::vector<std::string>{});
    // Foreign keys still hold: a workspace in an unknown region is refused.
    auto bad = c->exec(
        "INSERT INTO workspaces(id, name, region, memory_mib, cpu_millis, created_at, updated_at)"
        " VALUES ('ws_x', 'x', 'nowhere', 1, 1, 0, 0)");
    CHECK_FALSE(bad);
  }

  TEST_CASE("postgres collation: statements prepared before a column changed collation recover") {
    // Another daemon applies 0027 while this one holds prepared statements
    // returning the columns it changes: PostgreSQL fails them with 0A000
    // ("cached plan must not change result type") until they are prepared
    // again. Outside a transaction the driver does that and answers; inside
    // one the statement fails as retryable (kBusy) and the next
    // transaction works.
    auto url = test::pg_fresh_database();
    if (!url) return;
    auto a = test::pg_open(*url);
    auto b = test::pg_open(*url);
    REQUIRE(
        a->exec("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT COLLATE \"default\")"
                "; INSERT INTO t VALUES (1, 'ws-9'), (2, 'ws-:')"));
    const std::string sql = "SELECT name FROM t ORDER BY id";
    CHECK(test::column(*a, sql) == std::vector<std::string>{"ws-9", "ws-:"});
    REQUIRE(b->exec("ALTER TABLE t ALTER COLUMN name TYPE text COLLATE \"C\""));
    CHECK(test::column(*a, sql) ==
          std::vector<std::string>{"ws-9", "ws-:"});  // outside a transaction

    REQUIRE(b->exec("ALTER TABLE t ALTER COLUMN name TYPE text COLLATE \"default\""));
    {
      Tx tx(*a);
      REQUIRE(tx.begin_status());
      auto st = a->prepare(sql);
      REQUIRE(st);
      auto row = st.value().step();
      REQUIRE_FALSE(row);
      CHECK(row.error().is(Errc::kBusy));
    }
    Tx again(*a);
    REQUIRE(again.begin_status());
    CHECK(test::column(*a, sql) == std::vector<std::string>{"ws-9", "ws-:"});
    CHECK(again.commit());
  }
}

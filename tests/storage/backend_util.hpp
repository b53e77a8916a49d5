// The backend the portable storage tests run on: SQLite files by default, a
// fresh PostgreSQL database per distinct path when FC_TEST_PG_URL is set
// (ctest unit_storage_pg runs test_storage under tests/lib/pgcluster.py).
// Tests that depend on SQLite files (WAL, reopening a path with Conn::open,
// fork) keep using test_util.hpp's open_migrated.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "pg_util.hpp"
#include "storage/db.hpp"
#include "test_util.hpp"

namespace fc::storage::test {

inline bool on_postgres() { return pg_base_url().has_value(); }

// The PostgreSQL database standing for `path` (created on first use).
inline std::string backend_url(const std::string& path) {
  static std::map<std::string, std::string> urls;
  auto it = urls.find(path);
  if (it != urls.end()) return it->second;
  auto url = pg_fresh_database();
  REQUIRE(url);
  return urls.emplace(path, *url).first->second;
}

// A migrated connection to the database that `path` names on this backend.
inline std::unique_ptr<Conn> open_backend(const std::string& path) {
  if (!on_postgres()) return open_migrated(path);
  auto c = pg_open(backend_url(path));
  auto m = migrate(*c, kT0);
  REQUIRE_MESSAGE(m, (m ? "" : m.error().detail));
  return c;
}

inline Result<std::unique_ptr<Database>> open_database(const std::string& path,
                                                       std::size_t max_batch = 512) {
  if (!on_postgres()) return Database::open({path, max_batch});
  return Database::open({"", max_batch, backend_url(path)});
}

}  // namespace fc::storage::test

// PostgreSQL for storage tests: FC_TEST_PG_URL names a throwaway cluster's
// database (tests/lib/pgcluster.py run -- test_storage, ctest unit_storage_pg).
// Without it the PostgreSQL cases say so and pass without running.
#pragma once
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "storage/db.hpp"

namespace fc::storage::test {

inline std::optional<std::string> pg_base_url() {
  const char* u = std::getenv("FC_TEST_PG_URL");
  if (!u || !*u) return std::nullopt;
  return std::string(u);
}

// A fresh, empty database in the test cluster; its URL. nullopt (and a
// message) when no cluster is configured.
inline std::optional<std::string> pg_fresh_database() {
  auto base = pg_base_url();
  if (!base) {
    MESSAGE("skipped: FC_TEST_PG_URL is not set (ctest runs these as unit_storage_pg)");
    return std::nullopt;
  }
  static int counter = 0;
  const std::string name = "fc_t" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  auto admin = Conn::open_postgres(*base);
  REQUIRE_MESSAGE(admin, (admin ? "" : admin.error().detail));
  REQUIRE(admin.value()->exec("CREATE DATABASE " + name));
  return base->substr(0, base->rfind('/') + 1) + name;
}

inline std::unique_ptr<Conn> pg_open(const std::string& url) {
  auto c = Conn::open_postgres(url);
  REQUIRE_MESSAGE(c, (c ? "" : c.error().detail));
  return std::move(c).value();
}

}  // namespace fc::storage::test

// Helpers for storage tests: a private temp directory and a migrated database.
#pragma once
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "storage/db.hpp"

namespace fc::storage::test {

// A private directory under /tmp, removed with everything in it.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/fc-storage-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

constexpr std::int64_t kT0 = 1'700'000'000'000;  // a fixed "now" in unix ms

inline std::unique_ptr<Conn> open_migrated(const std::string& path) {
  auto c = Conn::open(path, OpenMode::kReadWrite);
  REQUIRE(c);
  auto m = migrate(*c.value(), kT0);
  REQUIRE(m);
  return std::move(c).value();
}

// Column `col` of every row of `sql`, as text.
inline std::vector<std::string> column(Conn& c, const std::string& sql, int col = 0) {
  auto st = c.prepare(sql);
  REQUIRE_MESSAGE(st, (st ? "" : st.error().detail));
  std::vector<std::string> out;
  for (;;) {
    auto row = st.value().step();
    REQUIRE_MESSAGE(row, (row ? "" : row.error().detail));
    if (!row.value()) break;
    out.push_back(st.value().col_text(col));
  }
  return out;
}

inline std::int64_t scalar(Conn& c, const std::string& sql) {
  auto st = c.prepare(sql);
  REQUIRE(st);
  auto row = st.value().step();
  REQUIRE(row);
  REQUIRE(row.value());
  return st.value().col_int(0);
}

}  // namespace fc::storage::test

// storage's third root header: copy_database, for `fleetcommand
// migrate-storage` only. Kept out of db.hpp, which every store includes, so
// that this rarely used declaration never recompiles them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace fc::storage {

class Conn;

struct TableCopy {
  std::string table;
  std::int64_t rows = 0;
  std::string digest;  // SHA-256 over the sorted SHA-256 of every row (storage/copy.cpp)
};
struct CopyReport {
  std::vector<TableCopy> tables;  // parents before children
  std::int64_t duration_ms = 0;
};

// Copies every table of `from` (SQLite, at this binary's migration level)
// into `to` (PostgreSQL: migrated here, and refused unless every table is
// empty) in one transaction: rows, then each identity sequence moved past the
// copied ids, then a row count and content digest per table compared on both
// sides before the commit. Tables come from the source's catalog, not a list.
Result<CopyReport> copy_database(Conn& from, Conn& to, std::int64_t now_ms);

}  // namespace fc::storage

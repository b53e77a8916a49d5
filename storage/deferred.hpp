// Set-based group commit (docs/storage.md "Set-based group commit"): the
// insert-only rows of a caller that the writer runs with
// Database::write_set are not executed one statement per row; they are
// appended to per-table buffers of the batch, and the writer flushes each
// table once before COMMIT with one `INSERT … SELECT … FROM json_each(?1)`
// (SQLite) / `json_array_elements($1)` (PostgreSQL) whose one parameter is
// the batch's rows as a JSON array of arrays. Outside a write_set caller (and
// when the writer replays a batch whose flush failed) insert_row runs the
// table's one-row statement at once, as before.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db.hpp"

namespace fc::storage {

// One table that set-based callers insert into. The three statements write
// the same columns in the same order; `row_sql` binds them ?1..?n, the set
// statements read element i of each row as `value->>i` (SQLite json_each) or
// `e->>i` (PostgreSQL json_array_elements, cast to the column's type).
struct SetInsert {
  std::string_view table;  // for the debug check that nothing reads a pending row
  std::string_view row_sql;
  std::string_view sqlite_sql;
  std::string_view postgres_sql;
};

// The rows of one set-based run of the writer, per table in the order each
// table was first used (so a flush inserts parents before children).
class DeferredRows {
 public:
  // Where one caller's rows start: truncate() drops what it appended since.
  struct Mark {
    std::size_t tables = 0;
    std::vector<std::pair<std::size_t, std::size_t>> sizes;  // (bytes, rows) per table
  };
  Mark mark() const;
  void truncate(const Mark& m);
  void clear() { bufs_.clear(); }
  bool empty() const { return bufs_.empty(); }
  std::size_t rows() const;
  std::size_t tables() const { return bufs_.size(); }
  // One multi-row statement per table; the buffers are left as they were.
  Status flush(Conn& c) const;
  // Debug builds: aborts when `sql` names a table with pending rows (a read
  // would miss them). Called by the drivers' prepare while rows are pending.
  void check_not_read(std::string_view sql) const;

  template <class... A>
  void add(const SetInsert& t, const A&... a) {
    std::string& out = open_row(t);
    bool first = true;
    ((put_sep(out, first), put(out, a)), ...);
    out += ']';
  }

 private:
  struct Buf {
    const SetInsert* table;
    std::string json;  // "[[…],[…]" without the closing bracket
    std::size_t rows = 0;
  };
  std::string& open_row(const SetInsert& t);
  static void put_sep(std::string& out, bool& first) {
    if (!first) out += ',';
    first = false;
  }
  static void put(std::string& out, std::int64_t v);
  static void put(std::string& out, int v) { put(out, static_cast<std::int64_t>(v)); }
  static void put(std::string& out, std::string_view v);
  static void put(std::string& out, const std::string& v) { put(out, std::string_view(v)); }
  static void put(std::string& out, const char* v) { put(out, std::string_view(v)); }
  static void put(std::string& out, std::nullptr_t) { out += "null"; }
  template <class T>
  static void put(std::string& out, const std::optional<T>& v) {
    if (v)
      put(out, *v);
    else
      out += "null";
  }
  std::vector<Buf> bufs_;
};

// The row goes to the batch's buffer when `c` is inside a set-based run,
// else the table's one-row statement runs now. Only for rows nothing in the
// same transaction reads back (the debug check in the drivers asserts it).
template <class... A>
Status insert_row(Conn& c, const SetInsert& t, const A&... a) {
  if (DeferredRows* d = c.deferred()) {
    d->add(t, a...);
    return ok();
  }
  BOOST_OUTCOME_TRY(s, c.prepare(t.row_sql));
  return s.bind_all(a...).run();
}

}  // namespace fc::storage

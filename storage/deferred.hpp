// Set-based group commit (docs/storage.md "Set-based group commit"): the
// insert-only rows of a caller that the writer runs with
// Database::write_set are not executed one statement per row; they are
// appended to per-table buffers of the batch, and the writer flushes each
// table before the next other caller or the COMMIT in multi-row statements
// (SetInsert below). Outside a write_set caller (and
// when the writer replays a batch whose flush failed) insert_row runs the
// table's one-row statement at once, as before.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "storage/db.hpp"

namespace fc::storage {

// One table that set-based callers insert into: `head` names the table and
// its columns, `tail` is what follows the values (an ON CONFLICT clause, or
// nothing). The one-row statement is head + " VALUES(?,…)" + tail. A flush
// on SQLite binds the rows into multi-row VALUES statements (chunks of 256,
// 64, 16, 4, 2 and 1 rows, each prepared once); on PostgreSQL it sends them as
// one JSON array of arrays, read by `postgres_select` (element i of row `e`
// as `e->>i`, cast to the column's type) from json_array_elements: one round
// trip per table (docs/storage.md "Set-based group commit").
struct SetInsert {
  std::string_view table;  // for the debug check that nothing reads a pending row
  std::string_view head;
  int columns;
  std::string_view tail;
  std::string_view postgres_select;
};

// The one-row statement of `t` (built once per thread).
const std::string& row_sql(const SetInsert& t);

// The rows of one set-based run of the writer, per table in the order each
// table was first used (so a flush inserts parents before children).
class DeferredRows {
 public:
  // Where one caller's rows start: truncate() drops what it appended since.
  struct Mark {
    std::size_t tables = 0;
    std::vector<std::pair<std::size_t, std::size_t>> sizes;  // (values, rows) per table
  };
  Mark mark() const;
  void truncate(const Mark& m);
  void clear() { bufs_.clear(); }
  bool empty() const { return bufs_.empty(); }
  std::size_t rows() const;
  std::size_t tables() const { return bufs_.size(); }
  // Each table's rows in as few statements as the shape allows (above); the
  // buffers are left as they were.
  Status flush(Conn& c) const;
  // Debug builds: aborts when `sql` names a table with pending rows (a read
  // would miss them). Called by the drivers' prepare while rows are pending.
  void check_not_read(std::string_view sql) const;

  template <class... A>
  void add(const SetInsert& t, const A&... a) {
    static_assert(sizeof...(A) > 0);
    std::vector<Value>& out = open_row(t);
    (put(out, a), ...);
  }

  using Value = std::variant<std::nullptr_t, std::int64_t, std::string>;

 private:
  struct Buf {
    const SetInsert* table;
    std::vector<Value> values;  // rows × table->columns, row after row
    std::size_t rows = 0;
  };
  std::vector<Value>& open_row(const SetInsert& t);
  static void put(std::vector<Value>& out, std::int64_t v) { out.emplace_back(v); }
  static void put(std::vector<Value>& out, int v) { out.emplace_back(std::int64_t{v}); }
  static void put(std::vector<Value>& out, std::string_view v) { out.emplace_back(std::string(v)); }
  static void put(std::vector<Value>& out, const std::string& v) { out.emplace_back(v); }
  static void put(std::vector<Value>& out, const char* v) { out.emplace_back(std::string(v)); }
  static void put(std::vector<Value>& out, std::nullptr_t) { out.emplace_back(nullptr); }
  template <class T>
  static void put(std::vector<Value>& out, const std::optional<T>& v) {
    if (v)
      put(out, *v);
    else
      out.emplace_back(nullptr);
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
  BOOST_OUTCOME_TRY(s, c.prepare(row_sql(t)));
  return s.bind_all(a...).run();
}

}  // namespace fc::storage

// Set-based group commit (docs/storage.md "Set-based group commit"): the
// insert-only rows of a caller that the writer runs with
// Database::write_set are not executed one statement per row; they are
// appended to per-table buffers of the batch, and the writer flushes each
// table before the next other caller or the COMMIT in multi-row statements
// (SetInsert below). Outside a write_set caller (and
// when the writer replays a batch whose flush failed) insert_row runs the
// table's one-row statement at once, as before.
//
// Two more shapes make a create cost no per-caller statement:
// * insert_unique: a row whose insert may find its key taken (a workspace's
//   name). Deferred, it is optimistic: the flush inserts the run's rows with
//   ON CONFLICT DO NOTHING RETURNING the key, and a caller whose row was not
//   inserted fails with the error it gave (its other rows are dropped).
// * add_sum (SetSum): counters added to a keyed row (a region's allocation
//   and revision) with a guard; one UPDATE per key for the run's summed
//   deltas, RETURNING the new value, from which each caller's own value
//   (its assignment's revision) is derived: a `Later` the flush fills in.
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
// as `e->>i`, cast to the column's type) from jsonb_array_elements: one round
// trip per table (docs/storage.md "Set-based group commit").
struct SetInsert {
  std::string_view table;  // for the debug check that nothing reads a pending row
  std::string_view head;
  int columns;
  std::string_view tail;
  std::string_view postgres_select;
  // insert_unique's tables: the key column (text, the first column) the flush
  // returns for each inserted row (" RETURNING <returning>"); the tail is
  // then " ON CONFLICT DO NOTHING".
  std::string_view returning = {};
};

// A keyed row that set-based callers add counters to (add_sum): `sql`
// updates the row of key ?1 by the run's summed deltas ?2..?(1+sums), with
// ?(2+sums) the number of adds and ?(3+sums) the last add's `arg`, guarded
// (no row updated: the run does not fit, replayed) and RETURNING one
// integer, the row's counter after the run's adds.
struct SetSum {
  std::string_view table;  // for the debug check
  std::string_view sql;
  int sums;
};

// An integer that is known at once outside a set-based run (`value`) and
// filled in by the run's flush inside one (`slot` >= 0): the value a SetSum
// returned for that add. A deferred row may carry it (insert_row).
struct Later {
  std::int64_t value = 0;
  std::int32_t slot = -1;
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
    std::vector<std::size_t> rows;  // per table
    std::size_t sums = 0;
  };
  Mark mark() const;
  void truncate(const Mark& m);
  void clear();
  bool empty() const { return bufs_.empty() && sums_.empty(); }
  std::size_t rows() const;
  // What the flush wrote in: one per table (SQLite's chunks of one table
  // count once), one per key of a SetSum.
  std::size_t flushes() const { return statements_; }
  // The writer numbers the run's callers: what they add from now on is the
  // `owner`'s (drop() removes it).
  void set_owner(std::uint32_t owner) { owner_ = owner; }

  // A caller whose insert_unique row the flush did not insert, with the error
  // that caller gave.
  struct Taken {
    std::uint32_t owner;
    Error error;
  };
  // The flush, in three steps (the writer's run_set): first the
  // insert_unique tables (the callers whose key was taken); the writer then
  // drops those callers' rows and adds (or replays the run when one of them
  // also wrote at once), then flush_rest: each SetSum key once (a guard that
  // fails is an error: the run is replayed), then every other table, Later
  // values filled in. Each table's rows in as few statements as the shape
  // allows (above).
  Result<std::vector<Taken>> flush_unique(Conn& c);
  void drop(const std::vector<Taken>& owners);
  Status flush_rest(Conn& c);
  // flush_unique (every row inserted, else an error), then flush_rest.
  Status flush(Conn& c);
  // Debug builds: aborts when `sql` names a table with pending rows (a read
  // would miss them). Called by the drivers' prepare while rows are pending.
  void check_not_read(std::string_view sql) const;

  template <class... A>
  void add(const SetInsert& t, const A&... a) {
    static_assert(sizeof...(A) > 0);
    std::vector<Value>& out = open_row(t).values;
    (put(out, a), ...);
  }
  template <class... A>
  void add_unique(const SetInsert& t, Error taken, const A&... a) {
    Buf& b = open_row(t);
    (put(b.values, a), ...);
    b.taken.push_back(std::move(taken));
  }
  // `out` (may be null) gets the caller's own value at the flush.
  Later add_sum(const SetSum& t, std::string_view key, std::vector<std::int64_t> deltas,
                std::int64_t arg, std::int64_t* out);

  struct Slot {
    std::int32_t id;
  };
  using Value = std::variant<std::nullptr_t, std::int64_t, std::string, Slot>;

 private:
  struct Buf {
    const SetInsert* table;
    std::vector<Value> values;  // rows × table->columns, row after row
    std::size_t rows = 0;
    std::vector<std::uint32_t> owners;  // per row
    std::vector<Error> taken;           // per row of an insert_unique table
  };
  struct SumAdd {
    const SetSum* table;
    std::string key;
    std::vector<std::int64_t> deltas;
    std::int64_t arg;
    std::int64_t* out;
    std::uint32_t owner;
    std::int32_t slot;
  };
  Buf& open_row(const SetInsert& t);
  Status flush_table(Conn& c, const Buf& b, std::vector<std::string>* returned);
  static void put(std::vector<Value>& out, const Later& v) {
    if (v.slot >= 0)
      out.emplace_back(Slot{v.slot});
    else
      out.emplace_back(v.value);
  }
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
  std::vector<SumAdd> sums_;
  std::vector<std::int64_t> slots_;  // the Later values, by slot
  std::uint32_t owner_ = 0;
  std::size_t statements_ = 0;
};

namespace detail {
inline std::int64_t bindable(const Later& v) { return v.value; }
template <class T>
const T& bindable(const T& v) {
  return v;
}
}  // namespace detail

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
  return s.bind_all(detail::bindable(a)...).run();
}

// A row of a table with a unique key (SetInsert::returning): at once, false
// when the key is taken (nothing written); inside a set-based run, true now
// and the flush tells (the caller then fails with `taken`).
template <class... A>
Result<bool> insert_unique(Conn& c, const SetInsert& t, Error taken, const A&... a) {
  if (DeferredRows* d = c.deferred()) {
    d->add_unique(t, std::move(taken), a...);
    return true;
  }
  BOOST_OUTCOME_TRY(s, c.prepare(row_sql(t)));
  BOOST_OUTCOME_TRY(s.bind_all(detail::bindable(a)...).run());
  return c.changes() > 0;
}

}  // namespace fc::storage

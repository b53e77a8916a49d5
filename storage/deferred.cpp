// The per-table buffers of a set-based run of the group commit
// (storage/deferred.hpp) and their flush.
#include "storage/deferred.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <unordered_set>

#include "storage/detail/log.hpp"

namespace fc::storage {

namespace {

// Rows per multi-row statement, largest first: any count is a few statements,
// and each table has at most six statement texts to prepare (2: a create's two events).
constexpr std::size_t kChunks[] = {256, 64, 16, 4, 2, 1};

struct Sqls {
  std::string row;                         // one row, the per-statement shape
  std::string values[std::size(kChunks)];  // kChunks[i] rows
  std::string json;                        // PostgreSQL: every row, one JSON parameter
};

Sqls& sqls(const SetInsert& t) {
  // Per thread: the writer's thread, or a test's. A handful of entries.
  thread_local std::vector<std::pair<const SetInsert*, std::unique_ptr<Sqls>>> cache;
  for (auto& [k, v] : cache)
    if (k == &t) return *v;
  auto q = std::make_unique<Sqls>();
  std::string one = "(";
  for (int i = 0; i < t.columns; ++i) one += i == 0 ? "?" : ",?";
  one += ')';
  q->row = std::string(t.head) + " VALUES" + one + std::string(t.tail);
  // insert_unique's tables: the flush learns which rows were inserted.
  const std::string ret =
      t.returning.empty() ? std::string() : " RETURNING " + std::string(t.returning);
  for (std::size_t i = 0; i < std::size(kChunks); ++i) {
    std::string& v = q->values[i];
    v = std::string(t.head) + " VALUES";
    for (std::size_t r = 0; r < kChunks[i]; ++r) {
      if (r > 0) v += ',';
      v += one;
    }
    v += t.tail;
    v += ret;
  }
  q->json = std::string(t.head) + " SELECT " + std::string(t.postgres_select) +
            " FROM jsonb_array_elements(?::jsonb) e" + std::string(t.tail) + ret;
  return *cache.emplace_back(&t, std::move(q)).second;
}

void bind_value(Stmt& s, int i, const DeferredRows::Value& v,
                const std::vector<std::int64_t>& slots) {
  if (const auto* n = std::get_if<std::int64_t>(&v))
    s.bind(i, *n);
  else if (const auto* t = std::get_if<std::string>(&v))
    s.bind(i, std::string_view(*t));
  else if (const auto* l = std::get_if<DeferredRows::Slot>(&v))
    s.bind(i, slots[static_cast<std::size_t>(l->id)]);
  else
    s.bind(i, nullptr);
}

void put_int(std::string& out, std::int64_t v) {
  char b[24];
  const auto r = std::to_chars(b, b + sizeof b, v);
  out.append(b, r.ptr);
}

// A JSON string whose decoded text is `v` byte for byte: '"', '\\' and the
// control characters escaped, everything else (UTF-8 included) as it is.
void put_str(std::string& out, std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(v.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out.append(v.data() + run, v.size() - run);
  out += '"';
}

// FC_SET_FLUSH=values: multi-row VALUES on PostgreSQL too (the A/B of
// docs/BENCHMARKS.md "Set-based group commit"); read once.
bool pg_values() {
  static const bool v = [] {
    const char* e = std::getenv("FC_SET_FLUSH");
    return e != nullptr && std::string_view(e) == "values";
  }();
  return v;
}

}  // namespace

const std::string& row_sql(const SetInsert& t) { return sqls(t).row; }

DeferredRows::Mark DeferredRows::mark() const {
  Mark m;
  m.tables = bufs_.size();
  m.rows.reserve(bufs_.size());
  for (const auto& b : bufs_) m.rows.push_back(b.rows);
  m.sums = sums_.size();
  return m;
}

void DeferredRows::truncate(const Mark& m) {
  bufs_.resize(m.tables);
  for (std::size_t i = 0; i < m.tables; ++i) {
    Buf& b = bufs_[i];
    b.rows = m.rows[i];
    b.values.resize(b.rows * static_cast<std::size_t>(b.table->columns));
    b.owners.resize(b.rows);
    if (!b.taken.empty()) b.taken.resize(b.rows);
  }
  for (std::size_t i = m.sums; i < sums_.size(); ++i) slots_.pop_back();
  sums_.resize(m.sums);
}

void DeferredRows::clear() {
  bufs_.clear();
  sums_.clear();
  slots_.clear();
  owner_ = 0;
  statements_ = 0;
}

std::size_t DeferredRows::rows() const {
  std::size_t n = sums_.size();
  for (const auto& b : bufs_) n += b.rows;
  return n;
}

DeferredRows::Buf& DeferredRows::open_row(const SetInsert& t) {
  for (auto& b : bufs_) {  // a handful of tables: a scan beats a map
    if (b.table == &t) {
      b.rows += 1;
      b.owners.push_back(owner_);
      return b;
    }
  }
  Buf& b = bufs_.emplace_back(Buf{&t, {}, 1, {owner_}, {}});
  b.values.reserve(64 * static_cast<std::size_t>(t.columns));
  return b;
}

Later DeferredRows::add_sum(const SetSum& t, std::string_view key, std::vector<std::int64_t> deltas,
                            std::int64_t arg, std::int64_t* out) {
  const auto slot = static_cast<std::int32_t>(slots_.size());
  slots_.push_back(0);
  sums_.push_back(SumAdd{&t, std::string(key), std::move(deltas), arg, out, owner_, slot});
  return Later{0, slot};
}

// One table's rows; `returned`: collect what the statements return (the key
// of each row an insert_unique table inserted).
Status DeferredRows::flush_table(Conn& c, const Buf& b, std::vector<std::string>* returned) {
  if (b.rows == 0) return ok();
  const bool json = c.dialect() == Dialect::kPostgres && !pg_values();
  const Sqls& q = sqls(*b.table);
  const auto cols = static_cast<std::size_t>(b.table->columns);
  ++statements_;  // one per table (SQLite: its chunks are one multi-row insert)
  auto run = [&](Stmt& s) -> Status {
    if (!returned) return s.run();
    for (;;) {
      BOOST_OUTCOME_TRY(row, s.step());
      if (!row) return ok();
      returned->push_back(s.col_text(0));
    }
  };
  if (json) {
    std::string param;
    param += '[';
    for (std::size_t r = 0; r < b.rows; ++r) {
      param += r == 0 ? "[" : ",[";
      for (std::size_t k = 0; k < cols; ++k) {
        if (k > 0) param += ',';
        const Value& v = b.values[r * cols + k];
        if (const auto* n = std::get_if<std::int64_t>(&v))
          put_int(param, *n);
        else if (const auto* t = std::get_if<std::string>(&v))
          put_str(param, *t);
        else if (const auto* l = std::get_if<Slot>(&v))
          put_int(param, slots_[static_cast<std::size_t>(l->id)]);
        else
          param += "null";
      }
      param += ']';
    }
    param += ']';
    BOOST_OUTCOME_TRY(s, c.prepare(q.json));
    s.bind(1, std::string_view(param));
    return run(s);
  }
  std::size_t row = 0;
  for (std::size_t i = 0; i < std::size(kChunks); ++i) {
    while (b.rows - row >= kChunks[i]) {
      BOOST_OUTCOME_TRY(s, c.prepare(q.values[i]));
      int at = 0;
      for (std::size_t v = row * cols; v < (row + kChunks[i]) * cols; ++v)
        bind_value(s, ++at, b.values[v], slots_);
      BOOST_OUTCOME_TRY(run(s));
      row += kChunks[i];
    }
  }
  return ok();
}

Result<std::vector<DeferredRows::Taken>> DeferredRows::flush_unique(Conn& c) {
  std::vector<Taken> out;
  std::vector<std::string> inserted;
  for (const auto& b : bufs_) {
    if (b.table->returning.empty() || b.rows == 0) continue;
    inserted.clear();
    BOOST_OUTCOME_TRY(flush_table(c, b, &inserted));
    if (inserted.size() == b.rows) continue;
    // Which rows were not inserted: their key (column 0) is not returned.
    // Two rows of the run with one key: the first one was inserted.
    std::unordered_multiset<std::string_view> got(inserted.begin(), inserted.end());
    const auto cols = static_cast<std::size_t>(b.table->columns);
    for (std::size_t r = 0; r < b.rows; ++r) {
      const auto* key = std::get_if<std::string>(&b.values[r * cols]);
      auto it = key ? got.find(*key) : got.end();
      if (it != got.end()) {
        got.erase(it);
        continue;
      }
      out.push_back(Taken{b.owners[r], b.taken[r]});
    }
  }
  return out;
}

void DeferredRows::drop(const std::vector<Taken>& gone) {
  if (gone.empty()) return;
  auto dropped = [&](std::uint32_t owner) {
    return std::any_of(gone.begin(), gone.end(), [&](const Taken& t) { return t.owner == owner; });
  };
  for (auto& b : bufs_) {
    const auto cols = static_cast<std::size_t>(b.table->columns);
    std::size_t kept = 0;
    for (std::size_t r = 0; r < b.rows; ++r) {
      if (dropped(b.owners[r])) continue;
      if (kept != r) {
        std::move(b.values.begin() + static_cast<std::ptrdiff_t>(r * cols),
                  b.values.begin() + static_cast<std::ptrdiff_t>((r + 1) * cols),
                  b.values.begin() + static_cast<std::ptrdiff_t>(kept * cols));
        b.owners[kept] = b.owners[r];
        if (!b.taken.empty()) b.taken[kept] = std::move(b.taken[r]);
      }
      ++kept;
    }
    b.rows = kept;
    b.values.resize(kept * cols);
    b.owners.resize(kept);
    if (!b.taken.empty()) b.taken.resize(kept);
  }
  std::erase_if(sums_, [&](const SumAdd& a) { return dropped(a.owner); });
}

Status DeferredRows::flush_rest(Conn& c) {
  // Each key of each SetSum once, in the order of its first add; the adds of
  // one key get consecutive values ending at what the statement returned.
  std::vector<bool> done(sums_.size(), false);
  for (std::size_t i = 0; i < sums_.size(); ++i) {
    if (done[i]) continue;
    const SumAdd& first = sums_[i];
    std::vector<std::int64_t> total(first.deltas.size(), 0);
    std::vector<std::size_t> adds;
    for (std::size_t k = i; k < sums_.size(); ++k) {
      const SumAdd& a = sums_[k];
      if (done[k] || a.table != first.table || a.key != first.key) continue;
      done[k] = true;
      adds.push_back(k);
      for (std::size_t d = 0; d < total.size() && d < a.deltas.size(); ++d) total[d] += a.deltas[d];
    }
    BOOST_OUTCOME_TRY(s, c.prepare(first.table->sql));
    int at = 0;
    s.bind(++at, std::string_view(first.key));
    for (std::int64_t t : total) s.bind(++at, t);
    s.bind(++at, static_cast<std::int64_t>(adds.size()));
    s.bind(++at, sums_[adds.back()].arg);
    ++statements_;
    BOOST_OUTCOME_TRY(row, s.step());
    if (!row)
      return make_error(Code::kConflict, "set-based run: " + std::string(first.table->table) + " " +
                                             first.key + " does not take the run's " +
                                             std::to_string(adds.size()) + " adds");
    const std::int64_t last = s.col_int(0);
    BOOST_OUTCOME_TRY(s.run());
    const auto n = static_cast<std::int64_t>(adds.size());
    for (std::size_t j = 0; j < adds.size(); ++j) {
      const SumAdd& a = sums_[adds[j]];
      const std::int64_t v = last - n + 1 + static_cast<std::int64_t>(j);
      slots_[static_cast<std::size_t>(a.slot)] = v;
      if (a.out) *a.out = v;
    }
  }
  for (const auto& b : bufs_) {
    if (!b.table->returning.empty()) continue;  // flush_unique's
    BOOST_OUTCOME_TRY(flush_table(c, b, nullptr));
  }
  return ok();
}

Status DeferredRows::flush(Conn& c) {
  BOOST_OUTCOME_TRY(taken, flush_unique(c));
  if (!taken.empty())
    return make_error(Code::kConflict, "set-based run: " + std::to_string(taken.size()) +
                                           " rows found their key taken");
  return flush_rest(c);
}

namespace {
bool word_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '_';
}

// `sql` names `table` as a whole word.
bool names(std::string_view sql, std::string_view table) {
  for (std::size_t at = sql.find(table); at != std::string_view::npos;
       at = sql.find(table, at + 1)) {
    const bool before = at == 0 || !word_char(sql[at - 1]);
    const std::size_t end = at + table.size();
    const bool after = end == sql.size() || !word_char(sql[end]);
    if (before && after) return true;
  }
  return false;
}
}  // namespace

void DeferredRows::check_not_read(std::string_view sql) const {
  for (const auto& b : bufs_) {
    if (b.rows == 0 || !names(sql, b.table->table)) continue;
    detail::logger()->critical(
        "a statement of a set-based caller names {} while rows of it are deferred: {}",
        b.table->table, sql);
    std::abort();
  }
  for (const auto& a : sums_) {
    if (!names(sql, a.table->table)) continue;
    detail::logger()->critical(
        "a statement of a set-based caller names {} while adds to it are deferred: {}",
        a.table->table, sql);
    std::abort();
  }
}

void Conn::check_not_deferred([[maybe_unused]] std::string_view sql) const {
#ifndef NDEBUG
  if (deferred_) deferred_->check_not_read(sql);
#endif
}

}  // namespace fc::storage

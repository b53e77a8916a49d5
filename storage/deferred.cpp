// The per-table buffers of a set-based run of the group commit
// (storage/deferred.hpp) and their flush.
#include "storage/deferred.hpp"

#include <charconv>
#include <cstdlib>
#include <iterator>
#include <memory>

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
  for (std::size_t i = 0; i < std::size(kChunks); ++i) {
    std::string& v = q->values[i];
    v = std::string(t.head) + " VALUES";
    for (std::size_t r = 0; r < kChunks[i]; ++r) {
      if (r > 0) v += ',';
      v += one;
    }
    v += t.tail;
  }
  q->json = std::string(t.head) + " SELECT " + std::string(t.postgres_select) +
            " FROM json_array_elements(?::json) e" + std::string(t.tail);
  return *cache.emplace_back(&t, std::move(q)).second;
}

void bind_value(Stmt& s, int i, const DeferredRows::Value& v) {
  if (const auto* n = std::get_if<std::int64_t>(&v))
    s.bind(i, *n);
  else if (const auto* t = std::get_if<std::string>(&v))
    s.bind(i, std::string_view(*t));
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
  m.sizes.reserve(bufs_.size());
  for (const auto& b : bufs_) m.sizes.emplace_back(b.values.size(), b.rows);
  return m;
}

void DeferredRows::truncate(const Mark& m) {
  bufs_.resize(m.tables);
  for (std::size_t i = 0; i < m.tables; ++i) {
    bufs_[i].values.resize(m.sizes[i].first);
    bufs_[i].rows = m.sizes[i].second;
  }
}

std::size_t DeferredRows::rows() const {
  std::size_t n = 0;
  for (const auto& b : bufs_) n += b.rows;
  return n;
}

std::vector<DeferredRows::Value>& DeferredRows::open_row(const SetInsert& t) {
  for (auto& b : bufs_) {  // a handful of tables: a scan beats a map
    if (b.table == &t) {
      b.rows += 1;
      return b.values;
    }
  }
  Buf& b = bufs_.emplace_back(Buf{&t, {}, 1});
  b.values.reserve(64 * static_cast<std::size_t>(t.columns));
  return b.values;
}

Status DeferredRows::flush(Conn& c) const {
  const bool json = c.dialect() == Dialect::kPostgres && !pg_values();
  std::string param;
  for (const auto& b : bufs_) {
    if (b.rows == 0) continue;
    const Sqls& q = sqls(*b.table);
    const auto cols = static_cast<std::size_t>(b.table->columns);
    if (json) {
      param.clear();
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
          else
            param += "null";
        }
        param += ']';
      }
      param += ']';
      BOOST_OUTCOME_TRY(s, c.prepare(q.json));
      BOOST_OUTCOME_TRY(s.bind(1, std::string_view(param)).run());
      continue;
    }
    std::size_t row = 0;
    for (std::size_t i = 0; i < std::size(kChunks); ++i) {
      while (b.rows - row >= kChunks[i]) {
        BOOST_OUTCOME_TRY(s, c.prepare(q.values[i]));
        int at = 0;
        for (std::size_t v = row * cols; v < (row + kChunks[i]) * cols; ++v)
          bind_value(s, ++at, b.values[v]);
        BOOST_OUTCOME_TRY(s.run());
        row += kChunks[i];
      }
    }
  }
  return ok();
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
}

void Conn::check_not_deferred([[maybe_unused]] std::string_view sql) const {
#ifndef NDEBUG
  if (deferred_) deferred_->check_not_read(sql);
#endif
}

}  // namespace fc::storage

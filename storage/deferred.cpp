// The per-table buffers of a set-based run of the group commit
// (storage/deferred.hpp) and their flush.
#include "storage/deferred.hpp"

#include <charconv>
#include <cstdlib>

#include "storage/detail/log.hpp"

namespace fc::storage {

DeferredRows::Mark DeferredRows::mark() const {
  Mark m;
  m.tables = bufs_.size();
  m.sizes.reserve(bufs_.size());
  for (const auto& b : bufs_) m.sizes.emplace_back(b.json.size(), b.rows);
  return m;
}

void DeferredRows::truncate(const Mark& m) {
  bufs_.resize(m.tables);
  for (std::size_t i = 0; i < m.tables; ++i) {
    bufs_[i].json.resize(m.sizes[i].first);
    bufs_[i].rows = m.sizes[i].second;
  }
}

std::size_t DeferredRows::rows() const {
  std::size_t n = 0;
  for (const auto& b : bufs_) n += b.rows;
  return n;
}

std::string& DeferredRows::open_row(const SetInsert& t) {
  Buf* buf = nullptr;
  for (auto& b : bufs_) {  // a handful of tables: a scan beats a map
    if (b.table == &t) {
      buf = &b;
      break;
    }
  }
  if (!buf) {
    buf = &bufs_.emplace_back(Buf{&t, {}, 0});
    buf->json.reserve(4096);
  }
  buf->json += buf->rows == 0 ? "[[" : ",[";
  buf->rows += 1;
  return buf->json;
}

void DeferredRows::put(std::string& out, std::int64_t v) {
  char b[24];
  const auto r = std::to_chars(b, b + sizeof b, v);
  out.append(b, r.ptr);
}

// A JSON string whose decoded text is `v` byte for byte: '"', '\\' and the
// control characters escaped, everything else (UTF-8 included) as it is.
void DeferredRows::put(std::string& out, std::string_view v) {
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

Status DeferredRows::flush(Conn& c) const {
  const bool pg = c.dialect() == Dialect::kPostgres;
  std::string param;
  for (const auto& b : bufs_) {
    if (b.rows == 0) continue;
    param.assign(b.json);
    param += ']';
    BOOST_OUTCOME_TRY(s, c.prepare(pg ? b.table->postgres_sql : b.table->sqlite_sql));
    BOOST_OUTCOME_TRY(s.bind(1, param).run());
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

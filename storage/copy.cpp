// copy_database (storage/db.hpp): a whole SQLite state into an empty
// PostgreSQL database, in one transaction, verified before it commits
// (`fleetcommand migrate-storage`, issue #15 §2).
//
// Generic over the schema: the tables, their columns and the foreign keys
// between them are read from the source's catalog, so a table a later
// migration adds is copied without an edit here. Identifiers come from that
// catalog, never from input, and are quoted; every value is bound.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "storage/copy.hpp"

#include "storage/db.hpp"

namespace fc::storage {
namespace {

enum class Kind { kInt, kReal, kText };
struct Column {
  std::string name;
  Kind kind;
};
struct Table {
  std::string name;
  std::vector<Column> cols;
  std::set<std::string> parents;  // tables its foreign keys reference
};

std::string quote_ident(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

// SQLite type affinity (https://sqlite.org/datatype3.html §3.1) of a declared type.
Result<Kind> kind_of(const std::string& table, const std::string& col, std::string type) {
  std::transform(type.begin(), type.end(), type.begin(), ::toupper);
  if (type.find("INT") != std::string::npos) return Kind::kInt;
  if (type.find("CHAR") != std::string::npos || type.find("CLOB") != std::string::npos ||
      type.find("TEXT") != std::string::npos)
    return Kind::kText;
  if (type.find("REAL") != std::string::npos || type.find("FLOA") != std::string::npos ||
      type.find("DOUB") != std::string::npos)
    return Kind::kReal;
  return make_error(Code::kUnsupported, "migrate-storage: column " + table + "." + col +
                                            " has type '" + type + "', which it cannot copy");
}

Result<std::vector<Column>> columns_of(Conn& c, const std::string& table) {
  BOOST_OUTCOME_TRY(st, c.prepare("SELECT name, type FROM pragma_table_info(?) ORDER BY cid"));
  st.bind(1, table);
  std::vector<Column> cols;
  while (true) {
    BOOST_OUTCOME_TRY(row, st.step());
    if (!row) break;
    BOOST_OUTCOME_TRY(k, kind_of(table, st.col_text(0), st.col_text(1)));
    cols.push_back({st.col_text(0), k});
  }
  return cols;
}

Result<std::set<std::string>> parents_of(Conn& c, const std::string& table) {
  BOOST_OUTCOME_TRY(st, c.prepare("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?)"));
  st.bind(1, table);
  std::set<std::string> out;
  while (true) {
    BOOST_OUTCOME_TRY(row, st.step());
    if (!row) break;
    if (st.col_text(0) != table) out.insert(st.col_text(0));
  }
  return out;
}

// Parents before children, so that PostgreSQL's immediate foreign-key checks
// pass row by row; ties in name order.
std::vector<Table> parents_first(std::vector<Table> in) {
  std::vector<Table> out;
  std::set<std::string> placed;
  while (!in.empty()) {
    auto it = std::find_if(in.begin(), in.end(), [&](const Table& t) {
      return std::all_of(t.parents.begin(), t.parents.end(), [&](const std::string& p) {
        return placed.count(p) ||
               std::none_of(in.begin(), in.end(), [&](const Table& o) { return o.name == p; });
      });
    });
    if (it == in.end()) it = in.begin();  // a cycle: keep going, the insert reports it
    placed.insert(it->name);
    out.push_back(std::move(*it));
    in.erase(it);
  }
  return out;
}

// Every table of the SQLite source except the runner's own schema_migrations.
Result<std::vector<Table>> source_tables(Conn& c) {
  BOOST_OUTCOME_TRY(st, c.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                  "substr(name, 1, 7) <> 'sqlite_' ORDER BY name"));
  std::vector<std::string> names;
  while (true) {
    BOOST_OUTCOME_TRY(row, st.step());
    if (!row) break;
    if (st.col_text(0) != "schema_migrations") names.push_back(st.col_text(0));
  }
  std::vector<Table> tables;
  for (const auto& n : names) {
    BOOST_OUTCOME_TRY(cols, columns_of(c, n));
    BOOST_OUTCOME_TRY(parents, parents_of(c, n));
    tables.push_back({n, std::move(cols), std::move(parents)});
  }
  return parents_first(std::move(tables));
}

std::string column_list(const Table& t) {
  std::string s;
  for (const auto& col : t.cols) s += (s.empty() ? "" : ", ") + quote_ident(col.name);
  return s;
}

// One row as type-tagged text: the same bytes whichever backend it was read from.
std::string row_text(const Stmt& st, const Table& t) {
  std::string s;
  for (int i = 0; i < static_cast<int>(t.cols.size()); ++i) {
    if (st.col_null(i)) {
      s += "n|";
    } else if (t.cols[i].kind == Kind::kInt) {
      s += "i" + std::to_string(st.col_int(i)) + "|";
    } else if (t.cols[i].kind == Kind::kReal) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "r%.17g|", st.col_double(i));
      s += buf;
    } else {
      const std::string v = st.col_text(i);
      s += "t" + std::to_string(v.size()) + ":" + v + "|";
    }
  }
  return s;
}

// The row count and an order-independent SHA-256 of the rows (of the sorted
// hashes of every row): the two backends need not return rows in the same
// order (their text collations differ), the digest must not depend on it.
Result<TableCopy> digest_of(Conn& c, const Table& t) {
  BOOST_OUTCOME_TRY(st, c.prepare("SELECT " + column_list(t) + " FROM " + quote_ident(t.name)));
  std::vector<std::string> hashes;
  while (true) {
    BOOST_OUTCOME_TRY(row, st.step());
    if (!row) break;
    hashes.push_back(sha256_hex(row_text(st, t)));
  }
  std::sort(hashes.begin(), hashes.end());
  std::string all;
  all.reserve(hashes.size() * 64);
  for (const auto& h : hashes) all += h;
  return TableCopy{t.name, static_cast<std::int64_t>(hashes.size()), sha256_hex(all)};
}

Status require_empty(Conn& to, const Table& t) {
  BOOST_OUTCOME_TRY(st, to.prepare("SELECT count(*) FROM " + quote_ident(t.name)));
  BOOST_OUTCOME_TRY(row, st.step());
  if (row && st.col_int(0) != 0)
    return make_error(Code::kConflict, "migrate-storage: the target is not empty (table " + t.name +
                                           " has " + std::to_string(st.col_int(0)) +
                                           " rows); it copies into a new database only");
  return ok();
}

Status copy_rows(Conn& from, Conn& to, const Table& t) {
  const std::string cols = column_list(t);
  std::string marks;
  for (std::size_t i = 0; i < t.cols.size(); ++i) marks += i ? ", ?" : "?";
  BOOST_OUTCOME_TRY(read, from.prepare("SELECT " + cols + " FROM " + quote_ident(t.name)));
  BOOST_OUTCOME_TRY(write, to.prepare("INSERT INTO " + quote_ident(t.name) + " (" + cols +
                                      ") VALUES (" + marks + ")"));
  while (true) {
    BOOST_OUTCOME_TRY(row, read.step());
    if (!row) break;
    for (int i = 0; i < static_cast<int>(t.cols.size()); ++i) {
      if (read.col_null(i)) {
        write.bind(i + 1, nullptr);
      } else if (t.cols[i].kind == Kind::kInt) {
        write.bind(i + 1, read.col_int(i));
      } else if (t.cols[i].kind == Kind::kReal) {
        write.bind(i + 1, read.col_double(i));
      } else {
        write.bind(i + 1, read.col_text(i));
      }
    }
    BOOST_OUTCOME_TRY(write.run());
  }
  return ok();
}

// PostgreSQL's identity columns (SQLite's INTEGER PRIMARY KEY) hand out ids
// from a sequence the copy did not advance: move each past the copied ids,
// or the next insert would collide with a copied row.
Status advance_identities(Conn& to, const Table& t) {
  BOOST_OUTCOME_TRY(st, to.prepare("SELECT column_name FROM information_schema.columns WHERE "
                                   "table_schema = current_schema() AND table_name = ? AND "
                                   "is_identity = 'YES'"));
  st.bind(1, t.name);
  std::vector<std::string> cols;
  while (true) {
    BOOST_OUTCOME_TRY(row, st.step());
    if (!row) break;
    cols.push_back(st.col_text(0));
  }
  for (const auto& col : cols) {
    BOOST_OUTCOME_TRY(
        set, to.prepare("SELECT setval(pg_get_serial_sequence(?, ?), (SELECT "
                        "COALESCE(max(" +
                        quote_ident(col) + "), 0) + 1 FROM " + quote_ident(t.name) + "), false)"));
    set.bind_all(quote_ident(t.name), col);
    BOOST_OUTCOME_TRY(set.run());
  }
  return ok();
}

}  // namespace

Result<CopyReport> copy_database(Conn& from, Conn& to, std::int64_t now_ms) {
  const auto t0 = std::chrono::steady_clock::now();
  if (from.dialect() != Dialect::kSqlite || to.dialect() != Dialect::kPostgres)
    return make_error(Code::kUnsupported, "migrate-storage: copies SQLite into PostgreSQL only");
  BOOST_OUTCOME_TRY(pending, pending_migrations(from));
  if (!pending.empty())
    return make_error(Code::kConflict, "migrate-storage: the source lacks migration " +
                                           pending.front() +
                                           "; run `fleetcommand migrate` on it first");
  BOOST_OUTCOME_TRY(migrate(to, now_ms));
  Tx snapshot(from, false);  // one consistent view of the source
  BOOST_OUTCOME_TRY(snapshot.begin_status());
  BOOST_OUTCOME_TRY(tables, source_tables(from));
  Tx tx(to);
  BOOST_OUTCOME_TRY(tx.begin_status());
  CopyReport report;
  for (const auto& t : tables) {
    BOOST_OUTCOME_TRY(require_empty(to, t));
  }
  for (const auto& t : tables) {
    BOOST_OUTCOME_TRY(copy_rows(from, to, t));
  }
  for (const auto& t : tables) {
    BOOST_OUTCOME_TRY(advance_identities(to, t));
    BOOST_OUTCOME_TRY(want, digest_of(from, t));
    BOOST_OUTCOME_TRY(got, digest_of(to, t));  // this transaction's own rows
    if (want.rows != got.rows || want.digest != got.digest)
      return make_error(Code::kIo, "migrate-storage: table " + t.name +
                                       " differs after the copy (" + std::to_string(want.rows) +
                                       " rows read, " + std::to_string(got.rows) +
                                       " written); nothing committed");
    report.tables.push_back(std::move(want));
  }
  BOOST_OUTCOME_TRY(tx.commit());
  report.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  return report;
}

}  // namespace fc::storage

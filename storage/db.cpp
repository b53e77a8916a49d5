#include "storage/db.hpp"

#include <sqlite3.h>

#include <mutex>
#include <string>

#include "storage/detail/log.hpp"

namespace fc::storage {

namespace {
Error sqlite_error(sqlite3* db, const std::string& what) {
  return make_error(Code::kIo, what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}
}  // namespace

// ---- Stmt ----
Stmt::~Stmt() {
  if (!s_) return;
  if (owned_) {
    sqlite3_finalize(s_);
  } else {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
}

Stmt& Stmt::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind(int i, double v) {
  sqlite3_bind_double(s_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, std::nullptr_t) {
  sqlite3_bind_null(s_, i);
  return *this;
}

Result<bool> Stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(s_);
  std::string detail = std::string("sqlite: ") + sqlite3_errmsg(db);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return make_error(Errc::kConstraint, std::move(detail));
  if ((rc & 0xff) == SQLITE_BUSY) return make_error(Errc::kBusy, std::move(detail));
  return make_error(Code::kIo, std::move(detail));
}

// Resets when done so that one statement can be bound and run again in a
// loop: sqlite3_bind_* on a statement that is not reset fails with
// SQLITE_MISUSE (ignored here), and the next step would silently run with
// the previous values.
Status Stmt::run() {
  for (;;) {
    BOOST_OUTCOME_TRY(row, step());
    if (!row) {
      sqlite3_reset(s_);
      return ok();
    }
  }
}

std::int64_t Stmt::col_int(int c) const { return sqlite3_column_int64(s_, c); }
double Stmt::col_double(int c) const { return sqlite3_column_double(s_, c); }
std::string Stmt::col_text(int c) const {
  const auto* p = sqlite3_column_text(s_, c);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<std::size_t>(sqlite3_column_bytes(s_, c)));
}
std::optional<std::string> Stmt::col_opt_text(int c) const {
  if (col_null(c)) return std::nullopt;
  return col_text(c);
}
std::optional<std::int64_t> Stmt::col_opt_int(int c) const {
  if (col_null(c)) return std::nullopt;
  return col_int(c);
}
bool Stmt::col_null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }

// ---- Conn ----
struct Conn::Cached {
  std::string sql;
  sqlite3_stmt* stmt = nullptr;
  ~Cached() { sqlite3_finalize(stmt); }
};

namespace {
// Before SQLite initialises: no memory statistics. With them on, every
// allocation SQLite makes takes a global mutex (8 % of a placement's CPU).
void configure_sqlite_once() {
  static std::once_flag once;
  std::call_once(once, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}
}  // namespace

Result<std::unique_ptr<Conn>> Conn::open(const std::string& path, OpenMode mode) {
  configure_sqlite_once();
  std::unique_ptr<Conn> c(new Conn());
  c->path_ = path;
  int flags = SQLITE_OPEN_NOMUTEX |
              (mode == OpenMode::kReadOnly ? SQLITE_OPEN_READONLY
                                           : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(path.c_str(), &c->db_, flags, nullptr) != SQLITE_OK) {
    Error e = sqlite_error(c->db_, "cannot open database '" + path + "'");
    return e;
  }
  sqlite3_extended_result_codes(c->db_, 1);
  sqlite3_busy_timeout(c->db_, 5000);
  // temp_store=MEMORY: the per-caller SAVEPOINTs of the group commit need
  // statement journals; on disk they cost an open/unlink and a pwrite per page.
  std::string pragmas = "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;";
  if (mode == OpenMode::kReadWrite) {
    // A 64 MiB page cache keeps a group-commit batch from spilling dirty pages
    // to the WAL in the middle of the transaction (seen in the create profile).
    pragmas += "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;";
  }
  BOOST_OUTCOME_TRY(c->exec(pragmas));
  return c;
}

Conn::~Conn() {
  cache_.clear();
  if (db_) sqlite3_close_v2(db_);
}

Result<Stmt> Conn::prepare(std::string_view sql) {
  const auto found = cache_.find(sql);
  // A statement still stepping (nested use of the same SQL) gets its own copy.
  if (found != cache_.end() && !sqlite3_stmt_busy(found->second->stmt))
    return Stmt(found->second->stmt, false);
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &s, nullptr) != SQLITE_OK) {
    return sqlite_error(db_, "prepare failed");
  }
  if (found != cache_.end()) return Stmt(s, true);
  auto entry = std::make_unique<Cached>();
  entry->sql = std::string(sql);
  entry->stmt = s;
  cache_.emplace(entry->sql, std::move(entry));
  return Stmt(s, false);
}

Status Conn::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return make_error(Code::kIo, "sqlite: " + msg);
  }
  return ok();
}

std::int64_t Conn::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int Conn::changes() const { return sqlite3_changes(db_); }

// ---- Tx ----
Tx::Tx(Conn& c, bool immediate) : c_(c), begin_(c.exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN")) {}
Tx::~Tx() {
  if (done_ || !begin_) return;
  Status rolled_back = c_.exec("ROLLBACK");
  if (!rolled_back)
    detail::logger()->warn("transaction rollback failed reason={}", rolled_back.error().detail);
}
Status Tx::commit() {
  BOOST_OUTCOME_TRY(begin_);
  done_ = true;
  return c_.exec("COMMIT");
}

}  // namespace fc::storage

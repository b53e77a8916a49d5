// Stmt and Tx over the driver interface; Conn::open picks the driver.
#include "storage/db.hpp"

#include <string>

#include "storage/detail/driver.hpp"
#include "storage/detail/log.hpp"
#include "storage/postgres/driver.hpp"
#include "storage/sqlite/driver.hpp"

namespace fc::storage {

// ---- Stmt ----
Stmt::~Stmt() {
  if (d_) d_->release(owned_);
}

Stmt& Stmt::bind(int i, std::int64_t v) {
  d_->bind_int(i, v);
  return *this;
}
Stmt& Stmt::bind(int i, std::string_view v) {
  d_->bind_text(i, v);
  return *this;
}
Stmt& Stmt::bind(int i, double v) {
  d_->bind_double(i, v);
  return *this;
}
Stmt& Stmt::bind(int i, std::nullptr_t) {
  d_->bind_null(i);
  return *this;
}

Result<bool> Stmt::step() { return d_->step(); }

// Resets when done so that one statement can be bound and run again in a
// loop: SQLite's sqlite3_bind_* on a statement that is not reset fails with
// SQLITE_MISUSE (ignored here), and the next step would silently run with
// the previous values.
Status Stmt::run() { return d_->run(); }

std::int64_t Stmt::col_int(int c) const { return d_->col_int(c); }
double Stmt::col_double(int c) const { return d_->col_double(c); }
std::string Stmt::col_text(int c) const { return d_->col_text(c); }
std::optional<std::string> Stmt::col_opt_text(int c) const {
  if (d_->col_null(c)) return std::nullopt;
  return d_->col_text(c);
}
std::optional<std::int64_t> Stmt::col_opt_int(int c) const {
  if (d_->col_null(c)) return std::nullopt;
  return d_->col_int(c);
}
bool Stmt::col_null(int c) const { return d_->col_null(c); }

// ---- Conn ----
Conn::~Conn() = default;

Result<std::unique_ptr<Conn>> Conn::open(const std::string& path, OpenMode mode) {
  return sqlite::open(path, mode);
}

Result<std::unique_ptr<Conn>> Conn::open_postgres(const std::string& url) {
  return postgres::open(url);
}

// ---- Tx ----
Tx::Tx(Conn& c, bool immediate) : c_(c), begin_(c.begin(immediate)) {}
Tx::~Tx() {
  if (done_ || !begin_) return;
  Status rolled_back = c_.rollback();
  if (!rolled_back)
    detail::logger()->warn("transaction rollback failed reason={}", rolled_back.error().detail);
}
Status Tx::commit() {
  BOOST_OUTCOME_TRY(begin_);
  done_ = true;
  return c_.commit();
}

}  // namespace fc::storage

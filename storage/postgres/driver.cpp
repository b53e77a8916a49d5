// The PostgreSQL driver: server-side prepared statements cached per
// connection, parameters and results in text format, SQLSTATEs mapped to
// storage::Errc, reconnection between transactions (docs/storage.md).
#include "storage/postgres/driver.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "storage/detail/driver.hpp"
#include "storage/detail/log.hpp"

namespace fc::storage::postgres {

namespace {

// SQLSTATE classes (PostgreSQL manual, appendix A): 23 integrity constraint
// violation; 40001 serialization failure, 40P01 deadlock, 55P03 lock not
// available (retry the transaction); 08 connection exception, 57P admin
// shutdown / crash, 53300 too many connections (the database is unreachable).
Error pg_error(const PGresult* r, PGconn* c, std::string_view what) {
  std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  std::string detail = "postgres: " + std::string(what) + ": " + msg;
  const char* state_c = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view state = state_c ? state_c : "";
  if (PQstatus(c) == CONNECTION_BAD || state.substr(0, 2) == "08" || state.substr(0, 3) == "57P" ||
      state == "53300")
    return make_error(Errc::kUnavailable, std::move(detail));
  if (state.substr(0, 2) == "23") return make_error(Errc::kConstraint, std::move(detail));
  if (state == "40001" || state == "40P01" || state == "55P03")
    return make_error(Errc::kBusy, std::move(detail));
  return make_error(Code::kIo, std::move(detail));
}

void pg_notice(void*, const char* message) {
  std::string_view m = message;
  while (!m.empty() && m.back() == '\n') m.remove_suffix(1);
  detail::logger()->debug("postgres notice message=\"{}\"", m);
}

struct PgResultFree {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultFree>;

// A statement that changes nothing, so running it again on a new session
// after the old one was lost cannot apply anything twice: a SELECT that
// writes nothing and takes no session lock.
bool pure_read(std::string_view sql) {
  std::string low;
  low.reserve(sql.size());
  for (char ch : sql) low += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const auto start = low.find_first_not_of(" \t\n");
  if (start == std::string::npos || low.compare(start, 6, "select") != 0) return false;
  for (const char* effect : {"insert", "update", "delete", "pg_advisory", "nextval", "setval",
                             "pg_terminate", "pg_cancel", "set_config", "lo_"})
    if (low.find(effect) != std::string::npos) return false;
  return true;
}

class PgConn;

class PgStmt final : public detail::StmtDriver {
 public:
  PgStmt(PgConn& c, std::string name, std::string sql, int params)
      : c_(c),
        name_(std::move(name)),
        sql_(std::move(sql)),
        params_(params),
        values_(params),
        pure_read_(pure_read(sql_)) {}
  ~PgStmt() override { reset(); }
  PgStmt(const PgStmt&) = delete;
  PgStmt& operator=(const PgStmt&) = delete;

  void bind_int(int i, std::int64_t v) override {
    char buf[24];
    auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    set(i, std::string_view(buf, static_cast<std::size_t>(end - buf)));
  }
  void bind_text(int i, std::string_view v) override { set(i, v); }
  void bind_double(int i, double v) override {
    char buf[32];
    auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;  // shortest round-trip form
    set(i, std::string_view(buf, static_cast<std::size_t>(end - buf)));
  }
  void bind_null(int i) override {
    if (i >= 1 && i <= static_cast<int>(params_.size())) params_[i - 1].null = true;
  }
  Result<bool> step() override;
  void reset() override {
    res_.reset();
    row_ = -1;
    rows_ = 0;
  }
  void release(bool owned) override;
  std::int64_t col_int(int c) const override;
  double col_double(int c) const override {
    const char* v = value(c);
    return v ? std::strtod(v, nullptr) : 0.0;
  }
  std::string col_text(int c) const override {
    const char* v = value(c);
    return v ? std::string(v, static_cast<std::size_t>(PQgetlength(res_.get(), row_, c))) : "";
  }
  bool col_null(int c) const override { return value(c) == nullptr; }

  bool borrowed = false;
  std::uint64_t prepared_epoch = 0;  // PgConn::epoch_ when PQprepare ran
  const std::string& name() const { return name_; }
  const std::string& sql() const { return sql_; }
  int param_count() const { return static_cast<int>(params_.size()); }
  bool is_pure_read() const { return pure_read_; }

 private:
  struct Param {
    std::string text;
    bool null = true;
  };
  void set(int i, std::string_view v) {
    if (i < 1 || i > static_cast<int>(params_.size())) return;  // SQLite ignores it too
    params_[i - 1].text.assign(v.data(), v.size());
    params_[i - 1].null = false;
  }
  const char* value(int c) const {
    if (!res_ || row_ < 0 || row_ >= rows_ || c < 0 || c >= PQnfields(res_.get())) return nullptr;
    if (PQgetisnull(res_.get(), row_, c)) return nullptr;
    return PQgetvalue(res_.get(), row_, c);
  }

  PgConn& c_;
  std::string name_;
  std::string sql_;  // translated ($n)
  std::vector<Param> params_;
  std::vector<const char*> values_;
  PgResultPtr res_;
  int row_ = -1;
  int rows_ = 0;
  bool pure_read_;
};

std::int64_t PgStmt::col_int(int c) const {
  const char* v = value(c);
  if (!v) return 0;
  if (v[0] == 't' && v[1] == '\0') return 1;  // boolean results (comparisons, EXISTS)
  if (v[0] == 'f' && v[1] == '\0') return 0;
  return std::strtoll(v, nullptr, 10);
}

struct PgSqlHash {  // transparent: look up by string_view without a copy
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

class PgConn final : public Conn {
 public:
  explicit PgConn(std::string url) : url_(std::move(url)) { path_ = redact_url(url_); }
  ~PgConn() override {
    cache_.clear();
    if (pg_) PQfinish(pg_);
  }
  Status connect();

  Result<Stmt> prepare(std::string_view sql) override;
  Status exec(std::string_view sql) override;
  std::int64_t last_insert_rowid() const override { return 0; }  // no rowid: RETURNING
  int changes() const override { return changes_; }
  std::int64_t total_changes() const override { return total_changes_; }
  bool tx_failed() const override { return PQtransactionStatus(pg_) != PQTRANS_INTRANS; }
  Dialect dialect() const override { return Dialect::kPostgres; }
  Status begin(bool immediate) override;
  Status commit() override;
  Status rollback() override;

  // Executes a prepared statement (preparing it again after a reconnect).
  Result<PgResultPtr> run_prepared(PgStmt& s, const char* const* values);
  void forget(const std::string& name);

 private:
  Status usable();
  Result<PgResultPtr> checked(PGresult* r, std::string_view what);

  std::string url_;  // with its password: never logged (path_ is redacted)
  PGconn* pg_ = nullptr;
  bool in_tx_ = false;
  std::uint64_t epoch_ = 1;  // +1 per (re)connection: server-side statements are per session
  std::uint64_t next_name_ = 0;
  int changes_ = 0;
  std::int64_t total_changes_ = 0;
  std::unordered_map<std::string, std::unique_ptr<PgStmt>, PgSqlHash, std::equal_to<>> cache_;
};

void PgStmt::release(bool owned) {
  reset();
  for (auto& p : params_) p.null = true;
  borrowed = false;
  if (!owned) return;
  c_.forget(name_);
  delete this;
}

Result<bool> PgStmt::step() {
  if (!res_) {
    // libpq takes text parameters as C strings: a U+0000 would cut the value
    // there and store the rest silently (SQLite keeps it whole). Refused.
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (!params_[i].null && params_[i].text.find('\0') != std::string::npos)
        return make_error(Code::kInvalidArgument,
                          "postgres: parameter $" + std::to_string(i + 1) +
                              " contains a NUL character, which PostgreSQL text cannot hold");
    }
    for (std::size_t i = 0; i < params_.size(); ++i)
      values_[i] = params_[i].null ? nullptr : params_[i].text.c_str();
    BOOST_OUTCOME_TRY(r, c_.run_prepared(*this, values_.data()));
    rows_ = PQntuples(r.get());
    row_ = -1;
    res_ = std::move(r);
  }
  return ++row_ < rows_;
}

Status PgConn::connect() {
  // Defaults first: what the URL names wins (expand_dbname).
  const char* keys[] = {"application_name", "connect_timeout", "dbname", nullptr};
  const char* vals[] = {"fleetcommand", "10", url_.c_str(), nullptr};
  pg_ = PQconnectdbParams(keys, vals, 1);
  if (!pg_) return make_error(Errc::kUnavailable, "postgres: out of memory connecting");
  if (PQstatus(pg_) != CONNECTION_OK)
    return make_error(Errc::kUnavailable,
                      "postgres: cannot connect to " + path_ + ": " + PQerrorMessage(pg_));
  PQsetNoticeProcessor(pg_, pg_notice, nullptr);
  return ok();
}

// Lost between transactions: reconnect (PQreset) and re-prepare lazily. Lost
// inside one: the transaction is gone, so fail until the caller rolls back —
// running its remaining statements outside it would commit half of it.
Status PgConn::usable() {
  if (PQstatus(pg_) == CONNECTION_OK) return ok();
  if (in_tx_)
    return make_error(Errc::kUnavailable, "postgres: connection lost inside a transaction");
  PQreset(pg_);
  if (PQstatus(pg_) != CONNECTION_OK)
    return make_error(Errc::kUnavailable,
                      "postgres: reconnecting to " + path_ + " failed: " + PQerrorMessage(pg_));
  ++epoch_;
  detail::logger()->info("postgres reconnected url={}", path_);
  return ok();
}

Result<PgResultPtr> PgConn::checked(PGresult* raw, std::string_view what) {
  PgResultPtr r(raw);
  const auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  return pg_error(r.get(), pg_, what);
}

// The session may have died while idle (a server restart, a failover, an
// idle timeout): libpq learns it only from the next command. Outside a
// transaction a pure read is then run once more on a new session, so the
// first read after a PostgreSQL restart is answered instead of failing
// (anything else fails as kUnavailable, as before: the caller decides).
Result<PgResultPtr> PgConn::run_prepared(PgStmt& s, const char* const* values) {
  auto run = [&]() -> Result<PgResultPtr> {
    BOOST_OUTCOME_TRY(usable());
    if (s.prepared_epoch != epoch_) {
      BOOST_OUTCOME_TRY(checked(
          PQprepare(pg_, s.name().c_str(), s.sql().c_str(), s.param_count(), nullptr), "prepare"));
      s.prepared_epoch = epoch_;
    }
    return checked(
        PQexecPrepared(pg_, s.name().c_str(), s.param_count(), values, nullptr, nullptr, 0),
        "execute");
  };
  auto first = run();
  const bool lost = !first && !in_tx_ && PQstatus(pg_) != CONNECTION_OK;
  if (lost && s.is_pure_read())
    detail::logger()->info("postgres session lost, reading again on a new one url={}", path_);
  BOOST_OUTCOME_TRY(r, lost && s.is_pure_read() ? run() : std::move(first));
  const char* status = PQcmdStatus(r.get());
  if (std::strncmp(status, "INSERT", 6) == 0 || std::strncmp(status, "UPDATE", 6) == 0 ||
      std::strncmp(status, "DELETE", 6) == 0) {
    changes_ = std::atoi(PQcmdTuples(r.get()));
    total_changes_ += changes_;
  }
  return r;
}

void PgConn::forget(const std::string& name) {
  if (PQstatus(pg_) != CONNECTION_OK) return;
  PgResultPtr r(PQexec(pg_, ("DEALLOCATE " + name).c_str()));
}

Result<Stmt> PgConn::prepare(std::string_view sql) {
  check_not_deferred(sql);
  const auto found = cache_.find(sql);
  if (found != cache_.end() && !found->second->borrowed) {
    found->second->borrowed = true;
    return Stmt(found->second.get(), false);
  }
  int params = 0;
  std::string text = translate_placeholders(sql, &params);
  auto s = std::make_unique<PgStmt>(*this, "fc_" + std::to_string(++next_name_), std::move(text),
                                    params);
  // Prepared now, so that bad SQL fails here as it does on SQLite. Preparing
  // changes nothing: outside a transaction, a session found lost is replaced
  // and the statement prepared on the new one.
  auto prep = [&]() -> Status {
    BOOST_OUTCOME_TRY(usable());
    BOOST_OUTCOME_TRY(
        checked(PQprepare(pg_, s->name().c_str(), s->sql().c_str(), params, nullptr), "prepare"));
    return ok();
  };
  if (auto st = prep(); !st) {
    if (in_tx_ || PQstatus(pg_) == CONNECTION_OK) return st.error();
    BOOST_OUTCOME_TRY(prep());
  }
  s->prepared_epoch = epoch_;
  s->borrowed = true;
  // A statement already borrowed (nested use of the same SQL) gets its own copy.
  if (found != cache_.end()) return Stmt(s.release(), true);
  auto* raw = s.get();
  cache_.emplace(std::string(sql), std::move(s));
  return Stmt(raw, false);
}

Status PgConn::exec(std::string_view sql) {
  BOOST_OUTCOME_TRY(usable());
  BOOST_OUTCOME_TRY(checked(PQexec(pg_, std::string(sql).c_str()), "exec"));
  return ok();
}

// SQLite's BEGIN IMMEDIATE makes the transaction behave as if it ran alone;
// PostgreSQL's SERIALIZABLE promises the same and reports a conflict as
// 40001 (Errc::kBusy, retry). A deferred SQLite transaction reads one
// snapshot: REPEATABLE READ.
Status PgConn::begin(bool immediate) {
  BOOST_OUTCOME_TRY(exec(immediate ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                                   : "BEGIN ISOLATION LEVEL REPEATABLE READ"));
  in_tx_ = true;
  return ok();
}

// COMMIT of a transaction that failed answers "ROLLBACK", not an error.
Status PgConn::commit() {
  in_tx_ = false;
  if (PQstatus(pg_) != CONNECTION_OK)
    return make_error(Errc::kUnavailable, "postgres: connection lost before COMMIT");
  BOOST_OUTCOME_TRY(r, checked(PQexec(pg_, "COMMIT"), "commit"));
  if (std::strcmp(PQcmdStatus(r.get()), "COMMIT") != 0)
    return make_error(Code::kIo,
                      "postgres: commit: the transaction had failed and was rolled back");
  return ok();
}

Status PgConn::rollback() {
  in_tx_ = false;
  if (PQstatus(pg_) != CONNECTION_OK) return ok();  // the server rolled it back
  BOOST_OUTCOME_TRY(checked(PQexec(pg_, "ROLLBACK"), "rollback"));
  return ok();
}

}  // namespace

Result<std::unique_ptr<Conn>> open(const std::string& url) {
  auto c = std::make_unique<PgConn>(url);
  BOOST_OUTCOME_TRY(c->connect());
  return std::unique_ptr<Conn>(std::move(c));
}

}  // namespace fc::storage::postgres

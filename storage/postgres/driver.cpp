// The PostgreSQL driver: server-side prepared statements cached per
// connection, parameters and results in text format, SQLSTATEs mapped to
// storage::Errc, reconnection between transactions (docs/storage.md).
#include "storage/postgres/driver.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <optional>
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
// 0A000 "cached plan must not change result type": a column a prepared
// statement returns changed type or collation since it was prepared (another
// daemon's migration); nothing ran, and the statement works once prepared
// again (PgConn::replan_if_stale): retry.
bool pg_plan_changed(const PGresult* r) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  return state && msg && std::string_view(state) == "0A000" &&
         std::string_view(msg).find("cached plan must not change result type") !=
             std::string_view::npos;
}

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
  if (state == "40001" || state == "40P01" || state == "55P03" || pg_plan_changed(r))
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

// FC_PG_PIPELINE=0: no pipelining (every statement, BEGIN and COMMIT one
// round trip each, as before; for the A/B of docs/BENCHMARKS.md). Read once.
bool pipeline_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("FC_PG_PIPELINE");
    return e == nullptr || std::string_view(e) != "0";
  }();
  return on;
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
  Status run() override;
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
  // libpq takes text parameters as C strings: a U+0000 would cut the value
  // there and store the rest silently (SQLite keeps it whole). Refused.
  Status nul_free() const {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (!params_[i].null && params_[i].text.find('\0') != std::string::npos)
        return make_error(Code::kInvalidArgument,
                          "postgres: parameter $" + std::to_string(i + 1) +
                              " contains a NUL character, which PostgreSQL text cannot hold");
    }
    return ok();
  }
  // The bound values, as libpq takes them.
  const char* const* values() {
    for (std::size_t i = 0; i < params_.size(); ++i)
      values_[i] = params_[i].null ? nullptr : params_[i].text.c_str();
    return values_.data();
  }

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
  // Answers still outstanding (a BEGIN, pipelined statements): not known to
  // have failed yet; the next statement that waits tells.
  bool tx_failed() const override {
    return pending_.empty() && PQtransactionStatus(pg_) != PQTRANS_INTRANS;
  }
  Dialect dialect() const override { return Dialect::kPostgres; }
  Status begin(bool immediate) override;
  Status commit() override;
  Status rollback() override;
  void set_pipelined(bool on) override { pipelined_ = on && pipeline_enabled(); }
  void set_sole_writer() override { sole_writer_ = true; }
  Status sync() override;

  // Executes a prepared statement (preparing it again after a reconnect).
  Result<PgResultPtr> run_prepared(PgStmt& s, const char* const* values);
  // Stmt::run() of `s`: sent without waiting when pipelined inside a
  // transaction (true), else false (the caller runs it the usual way).
  Result<bool> run_pipelined(PgStmt& s);
  void forget(const std::string& name);

 private:
  // After a 0A000 "cached plan must not change result type" (pg_plan_changed):
  // between transactions, every statement of this session is deallocated and
  // prepared again on its next use (as after a reconnect).
  void replan_if_stale();
  Status usable();
  Result<PgResultPtr> checked(PGresult* r, std::string_view what);
  // Pipeline mode (docs/storage.md "Pipelined batches"): commands sent and
  // not yet answered, each named by its SQL for the error that names it.
  Status send_text(const char* sql);
  Status enter_pipeline();
  const char* begin_sql(bool immediate) const;
  // Sends a sync, reads every pending answer (one round trip for all of
  // them) and leaves pipeline mode; the first error, naming its statement.
  // `last`: the last command's result (a statement that needs its rows).
  Status drain(PgResultPtr* last = nullptr);
  void count_changes(const PGresult* r);

  std::string url_;  // with its password: never logged (path_ is redacted)
  PGconn* pg_ = nullptr;
  bool in_tx_ = false;
  std::uint64_t epoch_ = 1;  // +1 per (re)connection: server-side statements are per session
  std::uint64_t next_name_ = 0;
  int changes_ = 0;
  std::int64_t total_changes_ = 0;
  bool pipelined_ = false;
  bool sole_writer_ = false;
  bool stale_plans_ = false;          // a statement's result columns changed: replan_if_stale
  std::vector<std::string> pending_;  // sent, answer not read: their SQL
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
    BOOST_OUTCOME_TRY(nul_free());
    BOOST_OUTCOME_TRY(r, c_.run_prepared(*this, values()));
    rows_ = PQntuples(r.get());
    row_ = -1;
    res_ = std::move(r);
  }
  return ++row_ < rows_;
}

Status PgStmt::run() {
  if (!res_) {
    BOOST_OUTCOME_TRY(nul_free());
    BOOST_OUTCOME_TRY(sent, c_.run_pipelined(*this));
    if (sent) {
      reset();
      return ok();
    }
  }
  return detail::StmtDriver::run();
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
  pending_.clear();
  if (PQpipelineStatus(pg_) != PQ_PIPELINE_OFF) (void)PQexitPipelineMode(pg_);
  detail::logger()->info("postgres reconnected url={}", path_);
  return ok();
}

Result<PgResultPtr> PgConn::checked(PGresult* raw, std::string_view what) {
  PgResultPtr r(raw);
  const auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  if (pg_plan_changed(r.get())) stale_plans_ = true;
  return pg_error(r.get(), pg_, what);
}

// The session may have died while idle (a server restart, a failover, an
// idle timeout): libpq learns it only from the next command. Outside a
// transaction a pure read is then run once more on a new session, so the
// first read after a PostgreSQL restart is answered instead of failing
// (anything else fails as kUnavailable, as before: the caller decides).
Result<PgResultPtr> PgConn::run_prepared(PgStmt& s, const char* const* values) {
  if (!pending_.empty()) {
    // Answers outstanding (a BEGIN, pipelined statements): this one joins
    // them and all are read in one round trip.
    if (s.prepared_epoch != epoch_ || PQstatus(pg_) != CONNECTION_OK) {
      BOOST_OUTCOME_TRY(drain());
    }
  }
  if (!pending_.empty()) {
    if (PQsendQueryPrepared(pg_, s.name().c_str(), s.param_count(), values, nullptr, nullptr, 0) !=
        1) {
      Error e = pg_error(nullptr, pg_, "execute");
      (void)drain();
      return e;
    }
    pending_.push_back(s.sql());
    PgResultPtr r;
    BOOST_OUTCOME_TRY(drain(&r));
    return r;
  }
  auto run = [&]() -> Result<PgResultPtr> {
    BOOST_OUTCOME_TRY(usable());
    replan_if_stale();
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
  // Its result columns changed under it (nothing ran): outside a transaction,
  // prepared again and run once more at once.
  if (!first && stale_plans_ && !in_tx_) first = run();
  const bool lost = !first && !in_tx_ && PQstatus(pg_) != CONNECTION_OK;
  if (lost && s.is_pure_read())
    detail::logger()->info("postgres session lost, reading again on a new one url={}", path_);
  BOOST_OUTCOME_TRY(r, lost && s.is_pure_read() ? run() : std::move(first));
  count_changes(r.get());
  return r;
}

void PgConn::count_changes(const PGresult* r) {
  const char* status = PQcmdStatus(const_cast<PGresult*>(r));
  if (std::strncmp(status, "INSERT", 6) == 0 || std::strncmp(status, "UPDATE", 6) == 0 ||
      std::strncmp(status, "DELETE", 6) == 0) {
    changes_ = std::atoi(PQcmdTuples(const_cast<PGresult*>(r)));
    total_changes_ += changes_;
  }
}

Status PgConn::enter_pipeline() {
  if (PQpipelineStatus(pg_) != PQ_PIPELINE_OFF) return ok();
  if (PQenterPipelineMode(pg_) != 1) return pg_error(nullptr, pg_, "pipeline");
  return ok();
}

Status PgConn::send_text(const char* sql) {
  BOOST_OUTCOME_TRY(enter_pipeline());
  if (PQsendQueryParams(pg_, sql, 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
    Error e = pg_error(nullptr, pg_, sql);
    (void)drain();
    return e;
  }
  pending_.emplace_back(sql);
  return ok();
}

Result<bool> PgConn::run_pipelined(PgStmt& s) {
  if (!pipelined_ || !in_tx_ || s.prepared_epoch != epoch_ || PQstatus(pg_) != CONNECTION_OK)
    return false;
  BOOST_OUTCOME_TRY(enter_pipeline());
  if (PQsendQueryPrepared(pg_, s.name().c_str(), s.param_count(), s.values(), nullptr, nullptr,
                          0) != 1) {
    Error e = pg_error(nullptr, pg_, "execute");
    (void)drain();
    return e;
  }
  pending_.push_back(s.sql());
  return true;
}

// The statement's first words, for an error that names it.
std::string short_sql(const std::string& sql) {
  return sql.size() <= 60 ? sql : sql.substr(0, 60) + "…";
}

Status PgConn::drain(PgResultPtr* last) {
  if (pending_.empty() &&
      (PQpipelineStatus(pg_) == PQ_PIPELINE_OFF || PQstatus(pg_) != CONNECTION_OK))
    return ok();  // nothing outstanding (a lost session is replaced by usable())
  std::vector<std::string> sent;
  sent.swap(pending_);
  std::optional<Error> first;
  auto fail = [&](Error e) {
    if (!first) first = std::move(e);
  };
  if (PQstatus(pg_) != CONNECTION_OK || PQpipelineSync(pg_) != 1) {
    fail(pg_error(nullptr, pg_, "pipeline sync"));
  } else {
    for (std::size_t i = 0; i < sent.size(); ++i) {
      PgResultPtr r(PQgetResult(pg_));
      if (!r) {  // the connection broke: nothing more comes
        fail(pg_error(nullptr, pg_, "pipelined " + short_sql(sent[i])));
        break;
      }
      const auto st = PQresultStatus(r.get());
      if (st == PGRES_PIPELINE_ABORTED) {
        fail(make_error(Code::kIo, "postgres: pipelined " + short_sql(sent[i]) +
                                       ": not run, an earlier statement failed"));
      } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        if (pg_plan_changed(r.get())) stale_plans_ = true;
        fail(pg_error(r.get(), pg_, "pipelined " + short_sql(sent[i])));
      } else {
        count_changes(r.get());
        if (last && i + 1 == sent.size()) *last = std::move(r);
      }
      PgResultPtr end(PQgetResult(pg_));  // the end of this command's results
      if (PQstatus(pg_) != CONNECTION_OK) break;
    }
    if (PQstatus(pg_) == CONNECTION_OK) {
      PgResultPtr sync(PQgetResult(pg_));
      if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC)
        fail(pg_error(sync.get(), pg_, "pipeline sync"));
    }
  }
  if (PQstatus(pg_) == CONNECTION_OK && PQexitPipelineMode(pg_) != 1 && !first)
    fail(pg_error(nullptr, pg_, "pipeline exit"));
  if (first) {
    if (PQstatus(pg_) != CONNECTION_OK && !first->is(Errc::kUnavailable))
      return make_error(Errc::kUnavailable, first->detail);
    return *first;
  }
  return ok();
}

Status PgConn::sync() { return drain(); }

void PgConn::replan_if_stale() {
  if (!stale_plans_ || in_tx_ || !pending_.empty() || PQstatus(pg_) != CONNECTION_OK) return;
  PgResultPtr r(PQexec(pg_, "DEALLOCATE ALL"));
  if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) return;  // tried again next time
  stale_plans_ = false;
  ++epoch_;  // every cached statement is prepared again on its next use
  detail::logger()->info(
      "postgres prepared statements renewed: a table's columns changed under them url={}", path_);
}

void PgConn::forget(const std::string& name) {
  if (PQstatus(pg_) != CONNECTION_OK || !pending_.empty()) return;
  PgResultPtr r(PQexec(pg_, ("DEALLOCATE " + name).c_str()));
}

Result<Stmt> PgConn::prepare(std::string_view sql) {
  check_not_deferred(sql);
  const auto found = cache_.find(sql);
  if (found != cache_.end() && !found->second->borrowed) {
    found->second->borrowed = true;
    return Stmt(found->second.get(), false);
  }
  // Answers outstanding: read them first (PQprepare waits for its own).
  BOOST_OUTCOME_TRY(drain());
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
  BOOST_OUTCOME_TRY(drain());
  BOOST_OUTCOME_TRY(usable());
  BOOST_OUTCOME_TRY(checked(PQexec(pg_, std::string(sql).c_str()), "exec"));
  return ok();
}

// SQLite's BEGIN IMMEDIATE makes the transaction behave as if it ran alone;
// PostgreSQL's SERIALIZABLE promises the same and reports a conflict as
// 40001 (Errc::kBusy, retry). A deferred SQLite transaction reads one
// snapshot: REPEATABLE READ. The daemon's one group-commit writer
// (set_sole_writer) runs READ COMMITTED: its transactions already run one
// after the other, and every other daemon is fenced out (docs/storage.md
// "Isolation of the writer"); FC_PG_WRITER_ISOLATION=serializable for the A/B.
const char* PgConn::begin_sql(bool immediate) const {
  static const bool serializable_writer = [] {
    const char* e = std::getenv("FC_PG_WRITER_ISOLATION");
    return e != nullptr && std::string_view(e) == "serializable";
  }();
  if (!immediate) return "BEGIN ISOLATION LEVEL REPEATABLE READ";
  if (sole_writer_ && !serializable_writer) return "BEGIN ISOLATION LEVEL READ COMMITTED";
  return "BEGIN ISOLATION LEVEL SERIALIZABLE";
}

// BEGIN is sent without waiting: its answer is read with the next
// statement's (the fence's), one round trip for both.
Status PgConn::begin(bool immediate) {
  replan_if_stale();
  if (!pipeline_enabled()) {
    BOOST_OUTCOME_TRY(exec(begin_sql(immediate)));
    in_tx_ = true;
    return ok();
  }
  BOOST_OUTCOME_TRY(drain());
  BOOST_OUTCOME_TRY(usable());
  BOOST_OUTCOME_TRY(send_text(begin_sql(immediate)));
  in_tx_ = true;
  return ok();
}

// COMMIT of a transaction that failed answers "ROLLBACK", not an error.
// Pipelined statements still unanswered: the COMMIT goes with them, one
// round trip (a failed one among them: the COMMIT does not run).
Status PgConn::commit() {
  if (PQstatus(pg_) != CONNECTION_OK) {
    in_tx_ = false;
    pending_.clear();
    return make_error(Errc::kUnavailable, "postgres: connection lost before COMMIT");
  }
  PgResultPtr r;
  if (!pending_.empty()) {
    Status sent = send_text("COMMIT");
    if (sent) sent = drain(&r);
    in_tx_ = false;
    if (!sent) return sent;
    if (!r) return make_error(Code::kIo, "postgres: commit: no answer");
  } else {
    in_tx_ = false;
    BOOST_OUTCOME_TRY(c, checked(PQexec(pg_, "COMMIT"), "commit"));
    r = std::move(c);
  }
  if (std::strcmp(PQcmdStatus(r.get()), "COMMIT") != 0)
    return make_error(Code::kIo,
                      "postgres: commit: the transaction had failed and was rolled back");
  return ok();
}

Status PgConn::rollback() {
  (void)drain();  // what failed there is what is being rolled back
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

// The SQLite driver: statements cached per connection, extended result codes
// mapped to storage::Errc (docs/storage.md).
#include "storage/sqlite/driver.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "storage/detail/driver.hpp"
#include "storage/detail/log.hpp"
#include "storage/sqlite/pcache.hpp"

namespace fc::storage::sqlite {

namespace {

std::atomic<std::uint64_t> g_checkpoints{0}, g_db_syncs{0}, g_commits_waited{0}, g_wait_us{0};
std::atomic<int> g_sync_delay_ms{0};  // tests only (delay_db_sync_for_tests)

Error sqlite_open_error(sqlite3* db, const std::string& what) {
  return make_error(Code::kIo, what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

class SqliteStmt final : public detail::StmtDriver {
 public:
  explicit SqliteStmt(sqlite3_stmt* s) : s_(s) {}
  ~SqliteStmt() override { sqlite3_finalize(s_); }
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  void bind_int(int i, std::int64_t v) override { sqlite3_bind_int64(s_, i, v); }
  void bind_text(int i, std::string_view v) override {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind_double(int i, double v) override { sqlite3_bind_double(s_, i, v); }
  void bind_null(int i) override { sqlite3_bind_null(s_, i); }
  Result<bool> step() override;
  void reset() override { sqlite3_reset(s_); }
  void release(bool owned) override {
    if (owned) {
      delete this;
      return;
    }
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  std::int64_t col_int(int c) const override { return sqlite3_column_int64(s_, c); }
  double col_double(int c) const override { return sqlite3_column_double(s_, c); }
  std::string col_text(int c) const override {
    const auto* p = sqlite3_column_text(s_, c);
    if (!p) return {};
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<std::size_t>(sqlite3_column_bytes(s_, c)));
  }
  bool col_null(int c) const override { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  bool busy() const { return sqlite3_stmt_busy(s_) != 0; }

 private:
  sqlite3_stmt* s_;
};

Result<bool> SqliteStmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(s_);
  std::string detail = std::string("sqlite: ") + sqlite3_errmsg(db);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return make_error(Errc::kConstraint, std::move(detail));
  if ((rc & 0xff) == SQLITE_BUSY) return make_error(Errc::kBusy, std::move(detail));
  return make_error(Code::kIo, std::move(detail));
}

struct SqlHash {  // transparent: look up by string_view without a copy
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

class SqliteConn final : public Conn {
 public:
  explicit SqliteConn(std::string path) { path_ = std::move(path); }
  ~SqliteConn() override {
    if (own_checkpoints_) {
      (void)settle_db_sync();  // closing may delete the WAL: the copied pages first
      {
        std::lock_guard lk(sync_mu_);
        sync_stop_ = true;
      }
      sync_cv_.notify_all();
      syncer_.join();
      ::close(db_fd_);
      sqlite3_close_v2(guard_);
    }
    cache_.clear();
    for (auto* s : tx_) sqlite3_finalize(s);
    if (db_) sqlite3_close_v2(db_);
  }
  Status open(OpenMode mode);

  Result<Stmt> prepare(std::string_view sql) override;
  Status exec(std::string_view sql) override;
  std::int64_t last_insert_rowid() const override { return sqlite3_last_insert_rowid(db_); }
  int changes() const override { return sqlite3_changes(db_); }
  std::int64_t total_changes() const override { return sqlite3_total_changes64(db_); }
  bool tx_failed() const override { return sqlite3_get_autocommit(db_) != 0; }
  Dialect dialect() const override { return Dialect::kSqlite; }
  Status begin(bool immediate) override {
    return immediate ? run_tx(kBeginImmediate) : run_tx(kBegin);
  }
  Status commit() override;
  Status rollback() override { return run_tx(kRollback); }
  Status checkpoint() override {
    BOOST_OUTCOME_TRY(settle_db_sync());
    return exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  void set_sole_writer() override;
  void add_checkpoint_stats(WriterStats& s) const override {
    if (!own_checkpoints_) return;
    const auto ck = writer_checkpoint_stats();
    s.checkpoints = ck.checkpoints;
    s.checkpoint_waits = ck.commits_waited;
    s.us_checkpoint_wait = ck.us_waited;
  }

 private:
  // The writer's own checkpoints (set_sole_writer), see commit().
  void checkpoint_if_due();
  bool begin_guard();
  void end_guard();
  Status settle_db_sync();
  void sync_loop();
  static constexpr std::uint32_t kCheckpointPages = 1000;  // as SQLite's auto-checkpoint
  bool own_checkpoints_ = false;
  std::uint32_t wal_frames_ = 0;  // the WAL's size after the last COMMIT
  int db_fd_ = -1;                // the database file, for the checkpoint's fdatasync
  // A read transaction held from before the copy until the fsync is done: its
  // WAL read lock makes any other connection's RESTART or TRUNCATE
  // checkpoint (which would drop the copied frames at once) wait or fail.
  sqlite3* guard_ = nullptr;
  bool guard_open_ = false;
  std::thread syncer_;
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  bool sync_pending_ = false, sync_failed_ = false, sync_stop_ = false;

  // BEGIN/COMMIT/ROLLBACK, each compiled once (sqlite3_exec parsed them
  // again for every write batch: its parser's ~2 KiB allocation made glibc
  // consolidate its fast bins on the writer thread, docs/BENCHMARKS.md
  // "Scheduler"), kept apart from cache_ so no lookup hashes their text.
  enum TxStmt { kBegin, kBeginImmediate, kCommit, kRollback, kTxStmts };
  Status run_tx(TxStmt which);
  sqlite3_stmt* tx_[kTxStmts] = {};

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<SqliteStmt>, SqlHash, std::equal_to<>> cache_;
};

Status SqliteConn::open(OpenMode mode) {
  int flags = SQLITE_OPEN_NOMUTEX |
              (mode == OpenMode::kReadOnly ? SQLITE_OPEN_READONLY
                                           : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr) != SQLITE_OK)
    return sqlite_open_error(db_, "cannot open database '" + path_ + "'");
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
  // temp_store=MEMORY: the per-caller SAVEPOINTs of the group commit need
  // statement journals; on disk they cost an open/unlink and a pwrite per page.
  std::string pragmas = "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;";
  if (mode == OpenMode::kReadWrite) {
    // A 64 MiB page cache keeps a group-commit batch from spilling dirty pages
    // to the WAL in the middle of the transaction (seen in the create profile).
    pragmas += "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;";
  }
  return exec(pragmas);
}

// The sole writer's checkpoints (docs/storage.md "The writer's checkpoint").
// SQLite's auto-checkpoint runs inside COMMIT and ends with an fsync of the
// database file, during which the pinned core had nothing to run: every
// caller was queued behind it. Here the COMMIT copies the WAL's frames into
// the database without that fsync (synchronous=OFF for the copy only), a
// thread of this connection runs it while the next batch executes, and the
// next COMMIT waits for it first. That is enough because the WAL is
// overwritten from its start (the copied frames lost) only when a
// transaction writes its first frame, at COMMIT: with cache_spill=OFF no
// frame is written earlier, StateLock keeps any other process from writing
// while the daemon runs, and the guard's read lock (begin_guard) keeps any
// other connection's RESTART or TRUNCATE checkpoint from dropping the
// frames before the fsync.
void SqliteConn::set_sole_writer() {
  if (path_ == ":memory:" || path_.empty()) return;
  db_fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (db_fd_ < 0) return;  // SQLite's own auto-checkpoint stays
  if (!exec("PRAGMA cache_spill=OFF") ||
      sqlite3_open_v2(path_.c_str(), &guard_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    sqlite3_close_v2(guard_);
    guard_ = nullptr;
    ::close(db_fd_);
    db_fd_ = -1;
    return;
  }
  own_checkpoints_ = true;
  // Replaces the auto-checkpoint (itself a wal hook): COMMIT records the WAL's size.
  sqlite3_wal_hook(
      db_,
      [](void* self, sqlite3*, const char*, int frames) {
        static_cast<SqliteConn*>(self)->wal_frames_ = static_cast<std::uint32_t>(frames);
        return SQLITE_OK;
      },
      this);
  syncer_ = std::thread([this] { sync_loop(); });
}

void SqliteConn::sync_loop() {
  std::unique_lock lk(sync_mu_);
  for (;;) {
    sync_cv_.wait(lk, [&] { return sync_pending_ || sync_stop_; });
    if (!sync_pending_) return;
    lk.unlock();
    if (g_sync_delay_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(g_sync_delay_ms.load()));
    const bool failed = ::fdatasync(db_fd_) != 0;
    g_db_syncs.fetch_add(1, std::memory_order_relaxed);
    if (!failed) end_guard();  // failed: held until the COMMIT's own retry succeeds
    lk.lock();
    sync_failed_ = failed;
    sync_pending_ = false;
    sync_cv_.notify_all();
  }
}

Status SqliteConn::settle_db_sync() {
  if (!own_checkpoints_) return ok();
  std::unique_lock lk(sync_mu_);
  if (sync_pending_) {
    g_commits_waited.fetch_add(1, std::memory_order_relaxed);
    const auto from = std::chrono::steady_clock::now();
    sync_cv_.wait(lk, [&] { return !sync_pending_; });
    g_wait_us.fetch_add(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::now() - from)
                                       .count()),
        std::memory_order_relaxed);
  }
  if (sync_failed_) {
    // The copied pages may not be on disk: the WAL must not restart over them.
    if (::fdatasync(db_fd_) != 0)
      return make_error(Code::kIo, "sqlite: fsync of the database after a checkpoint failed");
    sync_failed_ = false;
    end_guard();
  }
  return ok();
}

// A read transaction on guard_, begun while the WAL still holds the frames
// about to be copied, so it takes a WAL read lock (a reader that begins once
// everything is copied reads the database file alone and locks nothing
// another checkpointer waits for).
bool SqliteConn::begin_guard() {
  if (guard_open_) return true;
  if (sqlite3_exec(guard_, "BEGIN; SELECT count(*) FROM sqlite_schema;", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    detail::logger()->warn("wal checkpoint guard not begun reason={}", sqlite3_errmsg(guard_));
    (void)sqlite3_exec(guard_, "ROLLBACK", nullptr, nullptr, nullptr);
    return false;
  }
  guard_open_ = true;
  return true;
}

void SqliteConn::end_guard() {
  if (!guard_open_) return;
  (void)sqlite3_exec(guard_, "COMMIT", nullptr, nullptr, nullptr);
  guard_open_ = false;
}

void SqliteConn::checkpoint_if_due() {
  if (!own_checkpoints_ || wal_frames_ < kCheckpointPages) return;
  wal_frames_ = 0;  // a partial pass (a reader's older snapshot) is retried at the next COMMIT
  if (!begin_guard()) return;  // no pass without the guard: tried again at the next COMMIT
  // synchronous=OFF for the copy only: no fsync of the WAL (every COMMIT
  // made it durable already) nor of the database (the syncer's, below).
  if (!exec("PRAGMA synchronous=OFF")) {
    end_guard();
    return;
  }
  int log = 0, copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
  const Status full = exec("PRAGMA synchronous=FULL");
  if (!full) {
    // Commits without their fsync would be acknowledged: nothing may commit.
    detail::logger()->critical("restoring synchronous=FULL failed reason={}", full.error().detail);
    std::abort();
  }
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    detail::logger()->warn("wal checkpoint failed reason={}", sqlite3_errmsg(db_));
  if (copied <= 0) {
    end_guard();
    return;
  }
  g_checkpoints.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lk(sync_mu_);
    sync_pending_ = true;
  }
  sync_cv_.notify_all();
}

Status SqliteConn::commit() {
  BOOST_OUTCOME_TRY(settle_db_sync());
  BOOST_OUTCOME_TRY(run_tx(kCommit));
  checkpoint_if_due();  // committed already: a checkpoint's failure is retried later
  return ok();
}

Result<Stmt> SqliteConn::prepare(std::string_view sql) {
  check_not_deferred(sql);
  const auto found = cache_.find(sql);
  // A statement still stepping (nested use of the same SQL) gets its own copy.
  if (found != cache_.end() && !found->second->busy()) return Stmt(found->second.get(), false);
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &s, nullptr) != SQLITE_OK) {
    return sqlite_open_error(db_, "prepare failed");
  }
  if (found != cache_.end()) return Stmt(new SqliteStmt(s), true);
  auto entry = std::make_unique<SqliteStmt>(s);
  auto* raw = entry.get();
  cache_.emplace(std::string(sql), std::move(entry));
  return Stmt(raw, false);
}

Status SqliteConn::run_tx(TxStmt which) {
  static constexpr const char* kSql[kTxStmts] = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};
  sqlite3_stmt*& s = tx_[which];
  if (!s && sqlite3_prepare_v3(db_, kSql[which], -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) !=
                SQLITE_OK) {
    s = nullptr;
    return make_error(Code::kIo, std::string("sqlite: ") + sqlite3_errmsg(db_));
  }
  const int rc = sqlite3_step(s);
  // The message before the reset (which may leave another one behind); the
  // code as sqlite3_exec reported it (Code::kIo) so callers see no change.
  std::string msg = rc == SQLITE_DONE ? std::string() : sqlite3_errmsg(db_);
  sqlite3_reset(s);
  if (rc == SQLITE_DONE) return ok();
  return make_error(Code::kIo, "sqlite: " + msg);
}

Status SqliteConn::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return make_error(Code::kIo, "sqlite: " + msg);
  }
  return ok();
}

}  // namespace

void delay_db_sync_for_tests(int ms) { g_sync_delay_ms = ms; }

WriterCheckpointStats writer_checkpoint_stats() {
  return {g_checkpoints.load(std::memory_order_relaxed), g_db_syncs.load(std::memory_order_relaxed),
          g_commits_waited.load(std::memory_order_relaxed),
          g_wait_us.load(std::memory_order_relaxed)};
}

// Before SQLite initialises: no memory statistics (with them on, every
// allocation SQLite makes takes a global mutex: 8 % of a placement's CPU), and
// the page cache that skips empty truncations (storage/sqlite/pcache.cpp: a
// full walk of the writer's cache in every COMMIT after a page split, 9 %).
void configure_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)install_page_cache();
  });
}

Result<std::unique_ptr<Conn>> open(const std::string& path, OpenMode mode) {
  configure_once();
  auto c = std::make_unique<SqliteConn>(path);
  BOOST_OUTCOME_TRY(c->open(mode));
  return std::unique_ptr<Conn>(std::move(c));
}

}  // namespace fc::storage::sqlite

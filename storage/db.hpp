// Storage: connections, statements, transactions, migrations and the
// group-commit writer (docs/storage.md). Conn is the driver interface (the
// shape of PowerDNS's SSql); SQLite (storage/sqlite/) is the default backend,
// PostgreSQL (storage/postgres/) the second.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/asio.hpp"
#include "common/result.hpp"
#include "storage/detail/errc.hpp"

namespace fc::storage {
namespace detail {
class StmtDriver;  // storage/detail/driver.hpp
}  // namespace detail
class DeferredRows;  // storage/deferred.hpp
struct WriterStats;

// SHA-256 as lower-case hex: migration checksums, and the stored form of what
// must never be stored in clear (token hashes, idempotency request
// fingerprints). storage/digest.cpp.
std::string sha256_hex(std::string_view data);

// A prepared statement borrowed from a connection's cache. Resets itself and
// clears its bindings when it goes out of scope. Bind indexes start at 1.
class Stmt {
 public:
  // Only a driver constructs one: a cached statement (owned=false) or one
  // that this Stmt owns and deletes.
  Stmt(detail::StmtDriver* d, bool owned) : d_(d), owned_(owned) {}
  Stmt(Stmt&& o) noexcept : d_(std::exchange(o.d_, nullptr)), owned_(o.owned_) {}
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();

  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind(int i, std::string_view v);
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, double v);
  Stmt& bind(int i, std::nullptr_t);
  template <class T>
  Stmt& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind(i, nullptr);
  }
  template <class... A>
  Stmt& bind_all(const A&... a) {
    int i = 0;
    (bind(++i, a), ...);
    return *this;
  }

  // One step: true when a row is available, false when done.
  Result<bool> step();
  // Steps to completion (for statements without rows).
  Status run();
  // Every remaining row, each made by `row(*this)`: how a store reads a
  // result set into a vector.
  template <class F>
  auto collect(F&& row) -> Result<std::vector<std::decay_t<std::invoke_result_t<F&, Stmt&>>>> {
    std::vector<std::decay_t<std::invoke_result_t<F&, Stmt&>>> out;
    for (;;) {
      BOOST_OUTCOME_TRY(more, step());
      if (!more) return out;
      out.push_back(row(*this));
    }
  }

  std::int64_t col_int(int c) const;
  double col_double(int c) const;
  std::string col_text(int c) const;
  std::optional<std::string> col_opt_text(int c) const;
  std::optional<std::int64_t> col_opt_int(int c) const;
  bool col_null(int c) const;

 private:
  detail::StmtDriver* d_;
  bool owned_;
};

enum class OpenMode { kReadWrite, kReadOnly };
enum class Dialect { kSqlite, kPostgres };

// One connection to the database (a driver: storage/sqlite/, storage/postgres/).
// Not thread-safe: each connection is used by one thread.
class Conn {
 public:
  // SQLite: a file path (or ":memory:").
  static Result<std::unique_ptr<Conn>> open(const std::string& path, OpenMode mode);
  // PostgreSQL: a libpq connection URL or "key=value" string.
  static Result<std::unique_ptr<Conn>> open_postgres(const std::string& url);
  virtual ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // A cached prepared statement (compiled once per connection). Placeholders
  // are `?`, bound by position from 1.
  virtual Result<Stmt> prepare(std::string_view sql) = 0;
  // Runs one or more statements without parameters.
  virtual Status exec(std::string_view sql) = 0;
  // SQLite's rowid of the last INSERT; PostgreSQL has none (use RETURNING).
  virtual std::int64_t last_insert_rowid() const = 0;
  // Rows changed by the last INSERT/UPDATE/DELETE that ran to completion.
  virtual int changes() const = 0;
  // Rows changed by every INSERT/UPDATE/DELETE on this connection so far:
  // the writer tells a set-based caller that failed before writing anything
  // (nothing to undo) from one that must be undone.
  virtual std::int64_t total_changes() const = 0;
  // Inside a transaction: an error has ended it or made it unable to commit
  // (PostgreSQL: aborted until ROLLBACK TO; SQLite: rolled back, e.g. a full
  // disk), so nothing more can run in it.
  virtual bool tx_failed() const = 0;
  virtual Dialect dialect() const = 0;
  // Transactions (PowerDNS startTransaction/commit/rollback); Tx wraps them.
  // immediate: the transaction takes the write lock up front (SQLite BEGIN
  // IMMEDIATE; PostgreSQL SERIALIZABLE, docs/storage.md).
  virtual Status begin(bool immediate) = 0;
  virtual Status commit() = 0;
  virtual Status rollback() = 0;
  // Pipelining (PostgreSQL's pipeline mode; SQLite: nothing to do). While on,
  // Stmt::run() inside a transaction sends the statement without waiting for
  // its answer; the answers are read, in one round trip for all of them, by
  // the next statement that needs one (a step() for rows, a prepare, an
  // exec), by sync() or by commit() (which sends the COMMIT in the same round
  // trip). The first error among them is returned there, naming the
  // statement that failed; the ones after it did not run, and the
  // transaction is failed (tx_failed(): roll back). BEGIN is always sent
  // without waiting: its answer comes with the next statement's.
  virtual void set_pipelined(bool) {}
  virtual Status sync() { return ok(); }
  // This connection is the daemon's one group-commit writer (Database::open):
  // on PostgreSQL its immediate transactions are READ COMMITTED instead of
  // SERIALIZABLE (docs/storage.md "Isolation of the writer").
  virtual void set_sole_writer() {}
  // Called once by Database::close() on the write connection (SQLite: WAL
  // checkpoint).
  virtual Status checkpoint() { return ok(); }
  // The write connection's own checkpoint counters into `s` (SQLite's sole
  // writer; nothing elsewhere). Called from any thread (Database::stats()).
  virtual void add_checkpoint_stats(WriterStats& s) const { (void)s; }
  // The SQLite path, or the PostgreSQL URL without its password.
  const std::string& path() const { return path_; }
  // Non-null while the writer runs a set-based caller (Database::write_set):
  // storage::insert_row appends its row there instead of executing it.
  DeferredRows* deferred() const { return deferred_; }
  void set_deferred(DeferredRows* d) { deferred_ = d; }

 protected:
  Conn() = default;
  // Debug builds: a statement prepared while rows are deferred must not
  // name their tables (nothing reads a deferred row inside the batch).
  void check_not_deferred(std::string_view sql) const;
  std::string path_;
  DeferredRows* deferred_ = nullptr;
};

// RAII transaction: rolls back in its destructor unless commit() ran.
class Tx {
 public:
  explicit Tx(Conn& c, bool immediate = true);
  ~Tx();
  Status begin_status() const { return begin_; }
  Status commit();

 private:
  Conn& c_;
  Status begin_;
  bool done_ = false;
};

struct AppliedMigration {
  std::int64_t version;
  std::string name;
  std::string checksum;
};

// Applies the migrations compiled into the binary, each in its own
// transaction; refuses a database that has a migration this binary does not
// know (a newer binary wrote it) or whose checksum changed.
Result<std::vector<AppliedMigration>> migrate(Conn& c, std::int64_t now_ms);
// Checks without applying: the list of migrations still pending.
Result<std::vector<std::string>> pending_migrations(Conn& c);

enum class BackupMethod { kBackupApi, kVacuumInto };

struct BackupOptions {
  BackupMethod method = BackupMethod::kBackupApi;
  // Backup API: pages per step (< 0: the whole database in one step, one
  // read transaction) and the pause between steps. In WAL mode a reader
  // never blocks the writer; a write between steps restarts the copy, so
  // after max_restarts the rest goes in one step (docs/BENCHMARKS.md).
  int pages_per_step = -1;
  std::chrono::milliseconds pause{2};
  int max_restarts = 3;
};

// What a backup holds, once checked.
struct BackupInfo {
  std::int64_t bytes = 0;
  std::int64_t pages = 0;
  std::int64_t migration_level = 0;  // highest applied migration
  std::string migration_name;        // e.g. "0012_workspace_observed_since"
  std::int64_t duration_ms = 0;
  int restarts = 0;  // backup API copies restarted by concurrent writes
};

// Consistent online copy of the fleetcommand database at `db_path` into
// `dest` while a daemon writes to it (storage/backup.cpp): written to a
// temporary file beside `dest`, made self-contained (no -wal), checked
// (integrity_check, schema_migrations, no migration unknown to this binary),
// fsync'd and renamed, so `dest` never holds a partial backup. Refuses a path
// that is not a fleetcommand database.
Result<BackupInfo> backup_database(const std::string& db_path, const std::string& dest,
                                   const BackupOptions& o = {});
// Checks a backup file: SQLite, integrity, a fleetcommand database, and no
// migration newer than this binary (older levels are fine: serve migrates).
Result<BackupInfo> verify_backup(const std::string& path);
// Verifies `backup` and copies it to `db_path` (temporary file, fsync,
// rename). Refuses (Code::kConflict) when `db_path` or its -wal is not empty.
// The caller holds the state lock (no daemon serves `db_path`).
Result<BackupInfo> restore_database(const std::string& backup, const std::string& db_path);

struct WriterStats {
  std::uint64_t transactions = 0;  // caller transactions committed
  std::uint64_t batches = 0;       // SQLite commits (fsyncs)
  std::uint64_t failed = 0;        // caller transactions rolled back
  std::uint64_t queued = 0;        // waiting right now
  std::uint64_t set_flushes = 0;  // statements of set-based flushes (one per table, per summed key)
  std::uint64_t set_rows = 0;     // rows (and sums) they wrote
  std::uint64_t set_replays = 0;  // set-based runs rolled back and replayed caller by caller
  std::uint64_t set_taken = 0;    // set-based callers whose insert_unique key the flush found taken
  // Where the writer's time goes (wall µs, summed over batches): BEGIN and
  // the fence; the callers' own work (building the rows, their immediate
  // statements); the set-based flushes; the COMMIT (PostgreSQL: the WAL flush).
  std::uint64_t us_begin = 0;
  std::uint64_t us_callers = 0;
  std::uint64_t us_flush = 0;
  std::uint64_t us_commit = 0;
  // SQLite's sole writer's own WAL checkpoints (Conn::add_checkpoint_stats;
  // the counts are process-wide, 0 on PostgreSQL): passes, and the COMMITs
  // that waited for a pass's database fsync before restarting the WAL, with
  // the time they waited.
  std::uint64_t checkpoints = 0;
  std::uint64_t checkpoint_waits = 0;
  std::uint64_t us_checkpoint_wait = 0;
};

using WriteFn = std::function<Status(Conn&)>;

// The one write connection, on its own thread. Transactions submitted while a
// commit is syncing are committed together (group commit), each inside its
// own SAVEPOINT so that one caller's failure rolls back only its own writes.
class Database {
 public:
  struct Options {
    std::string path;  // SQLite file (the default backend)
    std::size_t max_batch = 512;
    std::string postgres_url{};  // non-empty: PostgreSQL instead of SQLite
    // Run first in every batch's transaction, before any caller's writes: an
    // error rolls the whole batch back and every caller gets it. The leader
    // of several daemons checks its lease's fencing token here (app/ha.cpp).
    WriteFn fence{};
    // With a fence: an idle writer still runs it (an empty batch) this often,
    // so that the lease it renews stays held without traffic.
    std::chrono::milliseconds fence_idle{0};
  };
  static Result<std::unique_ptr<Database>> open(const Options& o);
  ~Database();

  // Runs fn inside a group-committed transaction; resumes the caller on its
  // executor once the batch holding it is durable (or rolled back).
  awaitable<Status> write(WriteFn fn);
  // For a write of thousands of rows (a rollout wave, an agent's report of
  // a thousand workspaces): fn runs in a transaction of its own, without the
  // per-caller SAVEPOINT, and an error rolls the transaction back. Inside a
  // large open savepoint SQLite's in-memory statement journal (temp_store=
  // MEMORY) makes every statement cost O(pages written so far), so such a
  // caller took O(rows²) (BENCHMARKS.md "Releases").
  awaitable<Status> write_alone(WriteFn fn);
  // Like write(), for a caller whose insert-only rows go through
  // storage::insert_row (storage/deferred.hpp): consecutive such callers of a
  // batch run without a SAVEPOINT each, their rows are flushed once per table
  // before the next other caller or the COMMIT (insert_unique's rows first: a
  // caller whose key was taken fails alone with its error, add_sum's counters
  // next, one statement per key), and a failure that would
  // touch another caller (a flush error, a caller that fails after writing)
  // rolls back that run and replays it caller by caller in the per-statement
  // shape. So fn must be re-runnable: reset what it captures on entry.
  awaitable<Status> write_set(WriteFn fn);
  // The same, blocking the calling thread (startup, CLI, tests).
  Status write_sync(WriteFn fn);
  // The read connection of the I/O thread (WAL: never waits for the writer).
  Conn& read() { return *reader_; }
  WriterStats stats() const;
  // Stops the writer after it drains its queue; further writes fail.
  void close();

 private:
  struct Impl;
  explicit Database(std::unique_ptr<Impl> impl, std::unique_ptr<Conn> reader);
  enum class Kind : std::uint8_t { kBatched, kAlone, kSet };
  // `done` runs on `ex` when it is set (one post per executor per batch:
  // the writer resumes a batch's callers of one io_context together), on
  // the writer thread when not (write_sync).
  void submit(WriteFn fn, asio::any_io_executor ex, std::function<void(Status)> done,
              Kind kind = Kind::kBatched);
  template <Kind K>
  awaitable<Status> write_impl(WriteFn fn);
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<Conn> reader_;
};

inline awaitable<Status> Database::write(WriteFn fn) {
  return write_impl<Kind::kBatched>(std::move(fn));
}
inline awaitable<Status> Database::write_alone(WriteFn fn) {
  return write_impl<Kind::kAlone>(std::move(fn));
}
inline awaitable<Status> Database::write_set(WriteFn fn) {
  return write_impl<Kind::kSet>(std::move(fn));
}

template <Database::Kind K>
awaitable<Status> Database::write_impl(WriteFn fn) {
  auto initiate = [this, fn = std::move(fn)](auto handler) mutable {
    asio::any_io_executor ex = asio::get_associated_executor(handler);
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    submit(
        std::move(fn), std::move(ex), [h](Status st) { (*h)(std::move(st)); }, K);
  };
  return asio::async_initiate<decltype(use_awaitable), void(Status)>(std::move(initiate),
                                                                     use_awaitable);
}

}  // namespace fc::storage

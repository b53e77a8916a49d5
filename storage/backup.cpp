// Online backup, verification and restore of the SQLite database
// (docs/deploy.md "Backup and restore").
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "storage/db.hpp"
#include "storage/detail/log.hpp"
#include "storage/sqlite/driver.hpp"

namespace fc::storage {

namespace {

using SteadyClock = std::chrono::steady_clock;

struct SqliteHandle {
  sqlite3* db = nullptr;
  ~SqliteHandle() {
    if (db) sqlite3_close_v2(db);
  }
};

Error backup_error(const std::string& what, sqlite3* db) {
  return make_error(Code::kIo, what + (db ? std::string(": ") + sqlite3_errmsg(db) : ""));
}

Status open_handle(SqliteHandle& h, const std::string& path, int flags) {
  sqlite::configure_once();  // the first handle of a `backup` run may be this one
  if (sqlite3_open_v2(path.c_str(), &h.db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK)
    return backup_error("cannot open '" + path + "'", h.db);
  sqlite3_extended_result_codes(h.db, 1);
  sqlite3_busy_timeout(h.db, 5000);
  return ok();
}

// Runs a statement that returns one integer (or text) in its first row.
Result<std::string> query_one(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
    return backup_error(std::string("query failed (") + sql + ")", db);
  std::string out;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW && sqlite3_column_text(s, 0))
    out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return backup_error(std::string("query failed (") + sql + ")", db);
  return out;
}

// The file must be a fleetcommand database: SQLite, with schema_migrations.
Status check_is_fleetcommand(sqlite3* db, const std::string& path) {
  auto n = query_one(db,
                     "SELECT count(*) FROM sqlite_master WHERE type='table' AND "
                     "name='schema_migrations'");
  if (!n)
    return make_error(Code::kInvalidArgument,
                      path + " is not a readable SQLite database (" + n.error().detail + ")");
  if (n.value() != "1")
    return make_error(Code::kInvalidArgument,
                      path + " is not a fleetcommand database (no schema_migrations table)");
  return ok();
}

// PRAGMA integrity_check: "ok", else the first problems it names.
Status check_integrity(sqlite3* db, const std::string& path) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(10)", -1, &s, nullptr) != SQLITE_OK)
    return make_error(Code::kInvalidArgument,
                      path + " failed the integrity check: " + sqlite3_errmsg(db));
  std::string problems;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const auto* t = sqlite3_column_text(s, 0);
    std::string line = t ? reinterpret_cast<const char*>(t) : "";
    if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE)
    return make_error(Code::kInvalidArgument,
                      path + " failed the integrity check: " + sqlite3_errmsg(db));
  if (!problems.empty())
    return make_error(Code::kInvalidArgument, path + " failed the integrity check: " + problems);
  return ok();
}

// Checks an open database and fills what a backup report names.
Status inspect(const std::string& path, BackupInfo& info) {
  SqliteHandle h;
  BOOST_OUTCOME_TRY(open_handle(h, path, SQLITE_OPEN_READONLY));
  BOOST_OUTCOME_TRY(check_is_fleetcommand(h.db, path));
  BOOST_OUTCOME_TRY(check_integrity(h.db, path));
  BOOST_OUTCOME_TRY(level,
                    query_one(h.db, "SELECT coalesce(max(version),0) FROM schema_migrations"));
  BOOST_OUTCOME_TRY(name, query_one(h.db,
                                    "SELECT name FROM schema_migrations ORDER BY version DESC "
                                    "LIMIT 1"));
  info.migration_level = std::stoll(level.empty() ? "0" : level);
  info.migration_name = name;
  return ok();
}

// Migrations newer than this binary, or changed ones, refuse the file.
Status check_known_migrations(const std::string& path) {
  BOOST_OUTCOME_TRY(conn, Conn::open(path, OpenMode::kReadOnly));
  auto pending = pending_migrations(*conn);
  if (!pending) return make_error(Code::kConflict, path + ": " + pending.error().detail);
  return ok();
}

Status fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return make_error(Code::kIo, "cannot open " + path + " to fsync");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return make_error(Code::kIo, "fsync of " + path + " failed");
  return ok();
}

std::string parent_of(const std::string& path) {
  auto p = std::filesystem::path(path).parent_path();
  return p.empty() ? std::string(".") : p.string();
}

// fsync the file, rename it over `dest`, fsync the directory: after a crash
// `dest` is either absent (or its previous version) or the whole new file.
Status publish(const std::string& tmp, const std::string& dest) {
  BOOST_OUTCOME_TRY(fsync_path(tmp, false));
  if (std::rename(tmp.c_str(), dest.c_str()) != 0)
    return make_error(Code::kIo, "cannot rename " + tmp + " to " + dest);
  return fsync_path(parent_of(dest), true);
}

// The backup API: `pages_per_step` pages per step with `pause` between steps
// (each step is a short read transaction), or everything in one step (< 0).
// A write by another connection between steps restarts the copy, so after
// `max_restarts` the rest is copied in one step.
Status copy_with_backup_api(sqlite3* src, sqlite3* dst, const BackupOptions& o, BackupInfo& info) {
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  if (!b) return backup_error("backup init failed", dst);
  int rc = SQLITE_OK;
  int last_remaining = -1;
  int step_pages = o.pages_per_step;
  while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    rc = sqlite3_backup_step(b, step_pages);
    const int remaining = sqlite3_backup_remaining(b);
    if (last_remaining >= 0 && remaining > last_remaining) ++info.restarts;
    last_remaining = remaining;
    if (info.restarts >= o.max_restarts) step_pages = -1;
    if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
      std::this_thread::sleep_for(o.pause);
  }
  info.pages = sqlite3_backup_pagecount(b);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) return backup_error("backup step failed", dst);
  return ok();
}

// VACUUM INTO: one read transaction writes a compacted copy.
Status copy_with_vacuum(sqlite3* src, const std::string& tmp) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(src, "VACUUM INTO ?1", -1, &s, nullptr) != SQLITE_OK)
    return backup_error("VACUUM INTO failed", src);
  sqlite3_bind_text(s, 1, tmp.c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return backup_error("VACUUM INTO failed", src);
  return ok();
}

// Writes the copy to `tmp` as a self-contained file (rollback journal, no
// -wal beside it), synchronously.
Status write_copy(sqlite3* src, const std::string& tmp, const BackupOptions& o, BackupInfo& info) {
  if (o.method == BackupMethod::kVacuumInto) {
    BOOST_OUTCOME_TRY(copy_with_vacuum(src, tmp));
  } else {
    SqliteHandle dst;
    BOOST_OUTCOME_TRY(open_handle(dst, tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
    BOOST_OUTCOME_TRY(copy_with_backup_api(src, dst.db, o, info));
  }
  SqliteHandle out;
  BOOST_OUTCOME_TRY(open_handle(out, tmp, SQLITE_OPEN_READWRITE));
  BOOST_OUTCOME_TRY(query_one(out.db, "PRAGMA journal_mode=DELETE"));
  return ok();
}

void remove_quietly(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-journal", "-wal", "-shm"})
    std::filesystem::remove(path + suffix, ec);
}

std::int64_t file_size(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? -1 : static_cast<std::int64_t>(n);
}

Result<BackupInfo> backup_into_tmp(const std::string& db_path, const std::string& tmp,
                                   const BackupOptions& o) {
  BackupInfo info;
  SqliteHandle src;
  // Read-only, never created: a missing path is an error, not an empty database.
  BOOST_OUTCOME_TRY(open_handle(src, db_path, SQLITE_OPEN_READONLY));
  BOOST_OUTCOME_TRY(check_is_fleetcommand(src.db, db_path));
  BOOST_OUTCOME_TRY(write_copy(src.db, tmp, o, info));
  BOOST_OUTCOME_TRY(inspect(tmp, info));
  BOOST_OUTCOME_TRY(check_known_migrations(tmp));
  info.bytes = file_size(tmp);
  return info;
}

}  // namespace

Result<BackupInfo> backup_database(const std::string& db_path, const std::string& dest,
                                   const BackupOptions& o) {
  const auto started = SteadyClock::now();
  const std::string tmp = dest + ".tmp-" + std::to_string(::getpid());
  remove_quietly(tmp);
  auto info = backup_into_tmp(db_path, tmp, o);
  if (!info) {
    remove_quietly(tmp);
    return info.error();
  }
  if (auto st = publish(tmp, dest); !st) {
    remove_quietly(tmp);
    return st.error();
  }
  info.value().duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started).count();
  detail::logger()->info(
      "backup written path={} bytes={} migration={} duration_ms={} restarts={} method={}", dest,
      info.value().bytes, info.value().migration_name, info.value().duration_ms,
      info.value().restarts, o.method == BackupMethod::kVacuumInto ? "vacuum_into" : "backup_api");
  return info;
}

Result<BackupInfo> verify_backup(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return make_error(Code::kNotFound, path + ": no such file");
  BackupInfo info;
  BOOST_OUTCOME_TRY(inspect(path, info));
  BOOST_OUTCOME_TRY(check_known_migrations(path));
  info.bytes = file_size(path);
  return info;
}

namespace {

// An existing database with content (or a WAL beside it) is never overwritten.
Status check_restore_target(const std::string& db_path) {
  for (const char* suffix : {"", "-wal"}) {
    const std::int64_t n = file_size(db_path + suffix);
    if (n > 0)
      return make_error(Code::kConflict, db_path + suffix +
                                             " exists and is not empty: restore only into an "
                                             "empty state directory");
  }
  return ok();
}

Status copy_file_synced(const std::string& from, const std::string& to) {
  std::error_code ec;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return make_error(Code::kIo, "cannot copy " + from + " to " + to + ": " + ec.message());
  (void)::chmod(to.c_str(), 0600);
  return ok();
}

}  // namespace

Result<BackupInfo> restore_database(const std::string& backup, const std::string& db_path) {
  BOOST_OUTCOME_TRY(info, verify_backup(backup));
  BOOST_OUTCOME_TRY(check_restore_target(db_path));
  std::error_code ec;
  std::filesystem::create_directories(parent_of(db_path), ec);
  if (ec) return make_error(Code::kIo, "cannot create " + parent_of(db_path) + ": " + ec.message());
  for (const char* suffix : {"", "-wal", "-shm", "-journal"})
    std::filesystem::remove(db_path + suffix, ec);
  const std::string tmp = db_path + ".restore-" + std::to_string(::getpid());
  auto st = copy_file_synced(backup, tmp);
  if (st) st = publish(tmp, db_path);
  if (!st) {
    remove_quietly(tmp);
    return st.error();
  }
  detail::logger()->info("backup restored from={} to={} migration={}", backup, db_path,
                         info.migration_name);
  return info;
}

}  // namespace fc::storage

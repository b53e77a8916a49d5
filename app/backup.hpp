// Backup and restore (docs/deploy.md "Backup and restore"): the state lock
// the daemon holds, `fleetcommand backup` and `restore`, and the periodic
// backup thread of `serve`.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "config/config.hpp"

namespace fc::app {

// An advisory lock (flock) on `<database.path>.lock`, held by `serve` for its
// whole life and by `restore` while it writes: restore refuses a state
// directory a daemon is serving, and a daemon does not start on one being
// restored (or served by another daemon).
class StateLock {
 public:
  // nullopt when another process holds it; `error` says why.
  static std::optional<StateLock> try_acquire(const std::string& database_path, std::string& error);
  StateLock(StateLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  StateLock& operator=(StateLock&&) = delete;
  ~StateLock();

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// fleetcommand backup --to FILE [--config PATH] [--method M]; M is
// backup-api (default: one read transaction), backup-api-stepped (256 pages
// per step, 2 ms apart) or vacuum-into, compared in docs/BENCHMARKS.md.
int backup_cmd(const config::Config& cfg, const std::string& to, const std::string& method);
// fleetcommand restore FILE [--config PATH | --state-dir DIR]
int restore_cmd(const config::Config& cfg, const std::string& file,
                const std::optional<std::string>& state_dir);

// backup.interval_s > 0: one backup per interval into backup.dir (keeping
// backup.keep), then backup.upload_command. Runs on its own thread (a backup
// of a large database takes seconds); failures are logged and counted.
class PeriodicBackup {
 public:
  explicit PeriodicBackup(const config::Config& cfg);
  ~PeriodicBackup();
  void start();
  void stop();
  // The backup series for /metrics (Prometheus text format).
  std::string metrics_text() const;

 private:
  void run();
  void once();
  bool upload(const std::string& file);
  void prune();

  std::string db_path_;
  std::string dir_;
  std::int64_t interval_s_ = 0;
  std::int64_t keep_ = 7;
  std::string upload_command_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<std::int64_t> last_success_unix_{0};
  std::atomic<std::int64_t> last_duration_ms_{0};
  std::atomic<std::int64_t> last_size_bytes_{0};
  std::atomic<std::int64_t> successes_{0};
  std::atomic<std::int64_t> failures_{0};
  std::atomic<std::int64_t> upload_failures_{0};
};

}  // namespace fc::app

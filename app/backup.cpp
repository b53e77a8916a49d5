// `fleetcommand backup`, `fleetcommand restore`, the state lock and the
// periodic backup of `serve`.
#include "app/backup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <vector>

#include "app/app.hpp"
#include "app/backend.hpp"
#include "storage/db.hpp"

extern char** environ;

namespace fc::app {

// ---- StateLock ----
std::optional<StateLock> StateLock::try_acquire(const std::string& database_path,
                                                std::string& error) {
  if (!ensure_parent_dir(database_path)) {
    error = "cannot create the directory of " + database_path;
    return std::nullopt;
  }
  const std::string path = database_path + ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot open lock file " + path;
    return std::nullopt;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    error = path + " is locked: a fleetcommand daemon (or a restore) is using " + database_path;
    return std::nullopt;
  }
  return StateLock(fd);
}

StateLock::~StateLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

// ---- fleetcommand backup ----
namespace {
std::optional<storage::BackupOptions> backup_options(const std::string& method) {
  storage::BackupOptions o;
  if (method.empty() || method == "backup-api") return o;
  if (method == "vacuum-into") {
    o.method = storage::BackupMethod::kVacuumInto;
    return o;
  }
  if (method == "backup-api-stepped") {
    o.pages_per_step = 256;
    return o;
  }
  return std::nullopt;
}
}  // namespace

int backup_cmd(const config::Config& cfg, const std::string& to, const std::string& method) {
  auto options = backup_options(method);
  if (to.empty() || !options) {
    std::fprintf(stderr,
                 "backup: --to FILE is required; --method is backup-api, backup-api-stepped or "
                 "vacuum-into\n");
    return kExitUsage;
  }
  if (on_postgres(cfg)) {
    std::fprintf(stderr,
                 "backup: storage.backend is postgres; back it up with PostgreSQL's own tools "
                 "(pg_basebackup, pg_dump; docs/deploy.md)\n");
    return kExitUsage;
  }
  auto info = storage::backup_database(cfg.database_path, to, *options);
  if (!info) {
    std::fprintf(stderr, "backup: failed, nothing written to %s: %s\n", to.c_str(),
                 info.error().detail.c_str());
    return kExitFailure;
  }
  std::printf("backup: %s written and verified (%lld bytes, migration %s, %lld ms, %d restarts)\n",
              to.c_str(), static_cast<long long>(info.value().bytes),
              info.value().migration_name.c_str(), static_cast<long long>(info.value().duration_ms),
              info.value().restarts);
  return kExitOk;
}

// ---- fleetcommand restore ----
int restore_cmd(const config::Config& cfg, const std::string& file,
                const std::optional<std::string>& state_dir) {
  if (on_postgres(cfg)) {
    std::fprintf(stderr,
                 "restore: storage.backend is postgres; a SQLite backup goes into PostgreSQL "
                 "with migrate-storage (docs/storage.md)\n");
    return kExitUsage;
  }
  std::string db_path = cfg.database_path;
  if (state_dir)
    db_path =
        (std::filesystem::path(*state_dir) / std::filesystem::path(cfg.database_path).filename())
            .string();
  std::string why;
  auto lock = StateLock::try_acquire(db_path, why);
  if (!lock) {
    std::fprintf(stderr, "restore: refused: %s\n", why.c_str());
    return kExitFailure;
  }
  auto info = storage::restore_database(file, db_path);
  if (!info) {
    std::fprintf(stderr, "restore: refused: %s\n", info.error().detail.c_str());
    return kExitFailure;
  }
  std::printf(
      "restore: %s restored to %s (migration %s; serve applies newer migrations)\n"
      "restore: private keys in it are sealed: put the key-encryption key "
      "(certs.key_encryption_key_file) in place before starting the daemon\n",
      file.c_str(), db_path.c_str(), info.value().migration_name.c_str());
  return kExitOk;
}

// ---- periodic backup ----
namespace {

constexpr const char* kBackupPrefix = "fleetcommand-";
constexpr const char* kBackupSuffix = ".db";

std::string backup_file_name(std::time_t now) {
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return std::string(kBackupPrefix) + buf + kBackupSuffix;
}

bool is_backup_name(const std::string& n) {
  return n.rfind(kBackupPrefix, 0) == 0 && n.size() > 3 &&
         n.compare(n.size() - 3, 3, kBackupSuffix) == 0;
}

}  // namespace

// The backup.* keys (validated by config/, read from the effective tree);
// backup.dir defaults to backups/ beside the database.
PeriodicBackup::PeriodicBackup(const config::Config& cfg) : db_path_(cfg.database_path) {
  const auto& b = cfg.effective.at("backup");
  interval_s_ = b.at("interval_s").get<std::int64_t>();
  keep_ = b.at("keep").get<std::int64_t>();
  if (b.at("upload_command").is_string())
    upload_command_ = b.at("upload_command").get<std::string>();
  if (b.at("dir").is_string()) {
    dir_ = b.at("dir").get<std::string>();
  } else {
    const auto parent = std::filesystem::path(cfg.database_path).parent_path();
    dir_ = ((parent.empty() ? std::filesystem::path(".") : parent) / "backups").string();
  }
}

PeriodicBackup::~PeriodicBackup() { stop(); }

void PeriodicBackup::start() {
  if (interval_s_ <= 0 || thread_.joinable()) return;
  spdlog::info("periodic backup enabled interval_s={} dir={} keep={} upload={}", interval_s_, dir_,
               keep_, upload_command_.empty() ? "no" : "yes");
  thread_ = std::thread([this] { run(); });
}

void PeriodicBackup::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicBackup::run() {
  for (;;) {
    {
      std::unique_lock lk(mu_);
      if (cv_.wait_for(lk, std::chrono::seconds(interval_s_), [this] { return stopping_; })) return;
    }
    once();
  }
}

void PeriodicBackup::once() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  const std::string file =
      (std::filesystem::path(dir_) / backup_file_name(std::time(nullptr))).string();
  auto info = storage::backup_database(db_path_, file);
  if (!info) {
    failures_.fetch_add(1);
    spdlog::error("periodic backup failed path={} reason={}", file, info.error().detail);
    return;
  }
  successes_.fetch_add(1);
  last_success_unix_.store(static_cast<std::int64_t>(std::time(nullptr)));
  last_duration_ms_.store(info.value().duration_ms);
  last_size_bytes_.store(info.value().bytes);
  prune();
  if (!upload_command_.empty() && !upload(file)) upload_failures_.fetch_add(1);
}

// Keeps the newest `keep_` backups (names sort by time).
void PeriodicBackup::prune() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string n = e.path().filename().string();
    if (e.is_regular_file(ec) && is_backup_name(n)) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  const auto keep = static_cast<std::size_t>(keep_);
  for (std::size_t i = 0; names.size() > keep && i < names.size() - keep; ++i) {
    std::filesystem::remove(std::filesystem::path(dir_) / names[i], ec);
    spdlog::info("old backup removed path={}", (std::filesystem::path(dir_) / names[i]).string());
  }
}

// Runs upload_command with /bin/sh -c and FLEETCOMMAND_BACKUP_FILE; a stop
// request kills it. Its failure is logged, never fatal.
bool PeriodicBackup::upload(const std::string& file) {
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
  env_store.push_back("FLEETCOMMAND_BACKUP_FILE=" + file);
  std::vector<char*> envp;
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = upload_command_;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv, envp.data()) != 0) {
    spdlog::error("backup upload not started path={}", file);
    return false;
  }
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    std::unique_lock lk(mu_);
    if (cv_.wait_for(lk, std::chrono::milliseconds(100), [this] { return stopping_; })) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, &status, 0);
      spdlog::warn("backup upload stopped by shutdown path={}", file);
      return false;
    }
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code != 0) {
    spdlog::error("backup upload failed path={} exit_code={}", file, code);
    return false;
  }
  spdlog::info("backup uploaded path={}", file);
  return true;
}

std::string PeriodicBackup::metrics_text() const {
  std::string o;
  auto line = [&](const char* name, const char* help, const char* type, std::int64_t v) {
    o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
         name + " " + std::to_string(v) + "\n";
  };
  line("fleetcommand_backup_last_success_timestamp_seconds",
       "Unix time of the last periodic backup that was written and verified (0: none yet).",
       "gauge", last_success_unix_.load());
  o += "# HELP fleetcommand_backup_last_duration_seconds Duration of the last successful "
       "backup.\n# TYPE fleetcommand_backup_last_duration_seconds gauge\n"
       "fleetcommand_backup_last_duration_seconds " +
       std::to_string(static_cast<double>(last_duration_ms_.load()) / 1000.0) + "\n";
  line("fleetcommand_backup_last_size_bytes", "Size of the last successful backup.", "gauge",
       last_size_bytes_.load());
  line("fleetcommand_backup_success_total", "Periodic backups written and verified.", "counter",
       successes_.load());
  line("fleetcommand_backup_failures_total", "Periodic backups that failed (nothing kept).",
       "counter", failures_.load());
  line("fleetcommand_backup_upload_failures_total",
       "Runs of backup.upload_command that failed (the backup itself is kept).", "counter",
       upload_failures_.load());
  return o;
}

}  // namespace fc::app

// fleetcommand migrate-storage --from sqlite:PATH --to postgres:URL — a whole
// state from the embedded default into PostgreSQL (docs/storage.md
// "Moving to PostgreSQL"). The copy itself is storage::copy_database.
#include <sys/stat.h>

#include <cstdio>
#include <string>

#include "app/app.hpp"
#include "app/backup.hpp"
#include "common/clock.hpp"
#include "storage/copy.hpp"
#include "storage/db.hpp"

namespace fc::app {
namespace {

constexpr const char* kMigrateUsage =
    "usage: fleetcommand migrate-storage --from sqlite:PATH --to postgres:URL\n"
    "  copies every table of the SQLite database at PATH (stopped daemon) into the empty\n"
    "  PostgreSQL database at URL (postgresql://user@host:port/db) in one transaction\n";

bool strip_prefix(std::string& s, const std::string& prefix) {
  if (s.rfind(prefix, 0) != 0) return false;
  s = s.substr(prefix.size());
  return !s.empty();
}

int usage(const char* why) {
  std::fprintf(stderr, "migrate-storage: %s\n\n%s", why, kMigrateUsage);
  return kExitUsage;
}

}  // namespace

int migrate_storage_cmd(int argc, char** argv) {
  std::string from, to;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--from" && i + 1 < argc) {
      from = argv[++i];
    } else if (a == "--to" && i + 1 < argc) {
      to = argv[++i];
    } else {
      return usage(("unexpected argument '" + a + "'").c_str());
    }
  }
  if (!strip_prefix(from, "sqlite:")) return usage("--from sqlite:PATH is required");
  if (!strip_prefix(to, "postgres:")) return usage("--to postgres:URL is required");
  struct stat sb {};
  if (::stat(from.c_str(), &sb) != 0) return usage(("no SQLite database at " + from).c_str());
  std::string why;
  auto lock = StateLock::try_acquire(from, why);  // a serving daemon keeps writing: refuse
  if (!lock) {
    std::fprintf(stderr, "migrate-storage: %s; stop the daemon first\n", why.c_str());
    return kExitFailure;
  }
  auto src = storage::Conn::open(from, storage::OpenMode::kReadOnly);
  if (!src) return usage(src.error().detail.c_str());
  auto dst = storage::Conn::open_postgres(to);
  if (!dst) {
    std::fprintf(stderr, "migrate-storage: %s\n", dst.error().detail.c_str());  // password redacted
    return kExitFailure;
  }
  SystemClock clock;
  auto report = storage::copy_database(*src.value(), *dst.value(), clock.now_ms());
  if (!report) {
    std::fprintf(stderr, "migrate-storage: %s\n", report.error().detail.c_str());
    return kExitFailure;
  }
  std::int64_t rows = 0;
  for (const auto& t : report.value().tables) {
    std::printf("%-24s %10lld rows  sha256 %s\n", t.table.c_str(), static_cast<long long>(t.rows),
                t.digest.c_str());
    rows += t.rows;
  }
  std::printf("migrate-storage: %zu tables, %lld rows copied to %s and verified in %lld ms\n",
              report.value().tables.size(), static_cast<long long>(rows),
              dst.value()->path().c_str(), static_cast<long long>(report.value().duration_ms));
  return kExitOk;
}

}  // namespace fc::app

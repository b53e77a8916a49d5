// The SQLite driver (the default backend): Conn over sqlite3. Only
// storage/db.cpp (Conn::open) and storage/backup.cpp (its own handles) include this.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "storage/db.hpp"

namespace fc::storage::sqlite {

Result<std::unique_ptr<Conn>> open(const std::string& path, OpenMode mode);

// SQLite's process-wide settings (no memory statistics, the page cache of
// storage/sqlite/pcache.cpp), once, before SQLite initialises: whatever opens
// a sqlite3 handle of its own calls this first (open() does).
void configure_once();

// Process-wide counts of the sole writer's own WAL checkpoints (driver.cpp,
// docs/storage.md "The writer's checkpoint"): passes that copied frames, the
// database fsyncs run on the side, and COMMITs that had to wait for one.
struct WriterCheckpointStats {
  std::uint64_t checkpoints = 0;
  std::uint64_t db_syncs = 0;
  std::uint64_t commits_waited = 0;
  std::uint64_t us_waited = 0;  // what those COMMITs waited, summed (µs)
};
WriterCheckpointStats writer_checkpoint_stats();

// Tests only: every later database fsync of those checkpoints starts `ms` late.
void delay_db_sync_for_tests(int ms);

}  // namespace fc::storage::sqlite

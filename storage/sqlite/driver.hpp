// The SQLite driver (the default backend): Conn over sqlite3. Only
// storage/db.cpp (Conn::open) and storage/backup.cpp (its own handles) include this.
#pragma once
#include <memory>
#include <string>

#include "storage/db.hpp"

namespace fc::storage::sqlite {

Result<std::unique_ptr<Conn>> open(const std::string& path, OpenMode mode);

// SQLite's process-wide settings (no memory statistics, the page cache of
// storage/sqlite/pcache.cpp), once, before SQLite initialises: whatever opens
// a sqlite3 handle of its own calls this first (open() does).
void configure_once();

}  // namespace fc::storage::sqlite

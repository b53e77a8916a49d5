// SQLite's own page cache (pcache1) behind a thin wrapper that skips the
// truncations with nothing to drop (storage/sqlite/pcache.cpp, docs/storage.md
// "The page cache's truncate"). Only the SQLite driver and its tests include this.
#pragma once
#include <cstdint>

namespace fc::storage::sqlite {

// Installs the wrapper as SQLite's page cache, once per process. Must run
// before SQLite initialises (the driver calls it before its first open);
// later it leaves SQLite's default in place and returns false.
bool install_page_cache();

// Process-wide counts since start: truncations handed to pcache1 (pages at
// or above the limit may be cached) and truncations skipped (none can be).
struct PageCacheStats {
  std::uint64_t truncates_forwarded = 0;
  std::uint64_t truncates_skipped = 0;
};
PageCacheStats page_cache_stats();

}  // namespace fc::storage::sqlite

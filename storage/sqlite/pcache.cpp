// SQLite's page cache behind a wrapper that skips empty truncations.
//
// Every COMMIT ends with sqlite3PcacheTruncate(dbSize): pages numbered above
// the database's size are dropped. pcache1 skips the call only when no key
// above the limit was seen since the last truncation ("iMaxKey"). But a
// b-tree page split (balance_nonroot) swaps page numbers through a temporary
// key, the lock-byte page (1 GiB / page size + 1 = 262,145 at 4 KiB), so
// after any split iMaxKey lies far beyond the database and the next COMMIT
// walks the whole hash table: 16,384 buckets and ~16,000 pages for the
// writer's 64 MiB cache, cache misses all the way. Under the placement
// benchmark that walk was 9 % of the daemon's CPU (docs/BENCHMARKS.md
// "Scheduler", session 15), with nothing to drop: the temporary key is
// always moved away before the split returns.
//
// The wrapper keeps its own largest key, leaving that temporary key out
// while no page holds it, and hands a truncation to pcache1 only when a
// page at or above the limit may be cached. Everything else is pcache1
// itself, unchanged.
#include "storage/sqlite/pcache.hpp"

#include <sqlite3.h>

#include <atomic>
#include <mutex>
#include <new>

namespace fc::storage::sqlite {

namespace {

sqlite3_pcache_methods2 g_base{};  // pcache1, as SQLite configured it
std::atomic<std::uint64_t> g_forwarded{0};
std::atomic<std::uint64_t> g_skipped{0};

// SQLite's PENDING_BYTE (its default; changed only by a test-control call
// this process never makes).
constexpr unsigned kPendingByte = 0x40000000u;

// One per pager (a connection's database, or a temporary b-tree). A pager
// is used by one thread at a time, so the fields need no lock.
struct Cache {
  sqlite3_pcache* inner = nullptr;
  unsigned temp_key = 0;  // the lock-byte page: balance_nonroot's temporary page number
  unsigned max_key = 0;   // the largest key fetched or moved to since the last truncation
  unsigned at_temp = 0;   // pages moved to temp_key and not yet moved away
};

Cache* as_cache(sqlite3_pcache* p) { return reinterpret_cast<Cache*>(p); }

sqlite3_pcache* create(int page_size, int extra, int purgeable) {
  auto* c = new (std::nothrow) Cache;
  if (!c) return nullptr;
  c->inner = g_base.xCreate(page_size, extra, purgeable);
  if (!c->inner) {
    delete c;
    return nullptr;
  }
  c->temp_key = page_size > 0 ? kPendingByte / static_cast<unsigned>(page_size) + 1 : 0;
  return reinterpret_cast<sqlite3_pcache*>(c);
}

void cachesize(sqlite3_pcache* p, int n) { g_base.xCachesize(as_cache(p)->inner, n); }

int pagecount(sqlite3_pcache* p) { return g_base.xPagecount(as_cache(p)->inner); }

sqlite3_pcache_page* fetch(sqlite3_pcache* p, unsigned key, int create_flag) {
  Cache* c = as_cache(p);
  sqlite3_pcache_page* page = g_base.xFetch(c->inner, key, create_flag);
  if (page && key > c->max_key) c->max_key = key;
  return page;
}

void unpin(sqlite3_pcache* p, sqlite3_pcache_page* page, int discard) {
  // A discarded page at temp_key would leave at_temp too high: then
  // truncations are forwarded (slower, never wrong). Splits never do that.
  g_base.xUnpin(as_cache(p)->inner, page, discard);
}

void rekey(sqlite3_pcache* p, sqlite3_pcache_page* page, unsigned from, unsigned to) {
  Cache* c = as_cache(p);
  g_base.xRekey(c->inner, page, from, to);
  if (from == c->temp_key && c->at_temp > 0) --c->at_temp;
  if (to == c->temp_key && c->temp_key != 0) {
    ++c->at_temp;
  } else if (to > c->max_key) {
    c->max_key = to;
  }
}

void truncate(sqlite3_pcache* p, unsigned limit) {
  Cache* c = as_cache(p);
  // Drops every page keyed >= limit. None can be cached when limit is above
  // every key fetched or moved to since the last truncation, temp_key aside
  // while no page holds it.
  if (limit > c->max_key && c->at_temp == 0) {
    g_skipped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  g_forwarded.fetch_add(1, std::memory_order_relaxed);
  g_base.xTruncate(c->inner, limit);
  if (limit <= c->max_key) c->max_key = limit > 0 ? limit - 1 : 0;
  if (limit <= c->temp_key) c->at_temp = 0;
}

void destroy(sqlite3_pcache* p) {
  Cache* c = as_cache(p);
  g_base.xDestroy(c->inner);
  delete c;
}

void shrink(sqlite3_pcache* p) {
  if (g_base.xShrink) g_base.xShrink(as_cache(p)->inner);
}

}  // namespace

bool install_page_cache() {
  static std::once_flag once;
  static bool installed = false;
  std::call_once(once, [] {
    sqlite3_pcache_methods2 base{};
    // Before sqlite3_initialize this hands back pcache1's methods.
    if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &base) != SQLITE_OK || !base.xCreate ||
        !base.xTruncate)
      return;
    g_base = base;
    static sqlite3_pcache_methods2 wrapped{};
    wrapped.iVersion = 1;
    wrapped.pArg = base.pArg;
    wrapped.xInit = base.xInit;
    wrapped.xShutdown = base.xShutdown;
    wrapped.xCreate = create;
    wrapped.xCachesize = cachesize;
    wrapped.xPagecount = pagecount;
    wrapped.xFetch = fetch;
    wrapped.xUnpin = unpin;
    wrapped.xRekey = rekey;
    wrapped.xTruncate = truncate;
    wrapped.xDestroy = destroy;
    wrapped.xShrink = shrink;
    installed = sqlite3_config(SQLITE_CONFIG_PCACHE2, &wrapped) == SQLITE_OK;
  });
  return installed;
}

PageCacheStats page_cache_stats() {
  return {g_forwarded.load(std::memory_order_relaxed), g_skipped.load(std::memory_order_relaxed)};
}

}  // namespace fc::storage::sqlite

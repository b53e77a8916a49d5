// dns::Publisher's state (dns/publisher.cpp, dns/provider_sync.cpp); see
// dns/publisher.hpp and docs/dns.md "Publishing".
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/asio.hpp"
#include "common/clock.hpp"
#include "config/config.hpp"
#include "dns/publisher.hpp"
#include "dns/server.hpp"
#include "storage/db.hpp"
#include "storage/jobs.hpp"

namespace fc::dns {

inline constexpr const char* kProviderJob = "dns.provider.sync";

struct Publisher::Impl {
  Impl(asio::io_context& io, const config::Config& cfg, storage::Database& db, const Clock& clock);

  Status start();
  void changed();  // a full pass
  void names_changed(const std::vector<std::string>& names);
  void challenges_changed();
  void schedule();  // starts a pass soon for what is pending
  awaitable<void> settled(std::chrono::milliseconds max);
  void stop();

  awaitable<void> rebuild();
  awaitable<void> publish_delta();  // full: the zone built again and compared
  // Only these workspace names' address records and the challenges' TXT.
  awaitable<void> publish_partial(const std::set<std::string>& names);
  // The published TXT keys (challenges): the zone's TXT owners, for a pass.
  void track_txt(const RrKey& k, bool present);
  awaitable<void> sweep();
  Result<RecordMap> read_desired(std::int64_t now_ms, std::optional<std::int64_t>* next_expiry);
  // What the zone is built from at start and in a full pass: the published
  // names (LabelSets, from the covering index), the challenges' TXT, and with
  // providers configured the whole set as a map for them.
  struct Fresh {
    LabelSets names;
    RecordMap txt;
    RecordMap for_providers;
  };
  Result<Fresh> read_zone(std::int64_t now_ms, std::optional<std::int64_t>* next_expiry);
  Result<std::shared_ptr<const ZoneSnapshot>> build(std::uint32_t serial, const Fresh& f);
  ZoneSpec zone_spec(std::uint32_t serial) const;  // SOA, NS and glue from the config
  // The keys among `candidates` whose RRset the served zone does not have as
  // in `want` (the zone is the publisher's only copy of what it published).
  std::vector<RrKey> changed_keys(const std::set<RrKey>& candidates, const RecordMap& want) const;
  Status record_provider_changes(storage::Conn& c, const RecordMap& next,
                                 const std::vector<RrKey>& keys);
  // What the table wants vs `next` (the whole set): only differences become
  // pending (at start and in a full pass).
  Status reconcile_providers(storage::Conn& c, const RecordMap& next);
  void arm_expiry(std::optional<std::int64_t> at_ms);
  void attach_jobs(storage::JobRunner& jobs);
  awaitable<storage::JobOutcome> sync_provider(storage::Job job);
  awaitable<Result<bool>> push_batch(const Rfc2136Target& p);

  asio::io_context& io_;
  const config::Config& cfg_;
  storage::Database& db_;
  const Clock& clock_;
  Server server_;
  asio::steady_timer timer_, expiry_, sweeper_;
  asio::steady_timer pass_done_;  // never expires; cancelled after each pass to wake settled()
  storage::JobRunner* jobs_ = nullptr;
  std::vector<Rfc2136Target> providers_;
  std::set<RrKey> txt_keys_;  // the TXT keys the served zone has (challenges)
  bool pending_ = false;
  // What the next pass must read: everything, or only these names and/or
  // the challenges (a pass with more names than kMaxPartial reads everything).
  bool full_pending_ = false, challenges_pending_ = false;
  std::set<std::string> names_pending_;
  static constexpr std::size_t kMaxPartial = 20000;
  std::uint64_t full_passes_ = 0, partial_passes_ = 0;
  bool running_ = false;
  std::uint64_t passes_started_ = 0, passes_done_ = 0;  // a pass takes all pending changes
  bool stopped_ = false;
  std::uint32_t serial_ = 0;
};

}  // namespace fc::dns

// Feeds the embedded DNS server and the external DNS providers from the
// database (docs/dns.md, "Daemon wiring"):
//  - the zone is built once at start, then after each commit that changed
//    what DNS publishes (coalesced) the new record set is compared with the
//    previous one in memory and only the difference is applied
//    (ZoneSnapshot::apply) and swapped in atomically;
//  - the SOA serial is persisted ('dns.serial' in settings) so it strictly
//    increases on every change, also across restarts;
//  - each external RFC 2136 provider gets the same records through a durable
//    reconciler (table dns_provider_records, job kind "dns.provider.sync").
#pragma once
#include <chrono>
#include <compare>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/asio.hpp"
#include "common/clock.hpp"
#include "config/config.hpp"
#include "dns/server.hpp"
#include "storage/db.hpp"
#include "storage/jobs.hpp"

namespace fc::scheduler { class Service; }

namespace fc::app {

using dns::RrKey;
using dns::RrValue;
using dns::RecordMap;
using dns::PublishedName;
using dns::ChallengeRow;
using dns::ProviderRow;
using dns::desired_records;
using dns::diff_records;
using dns::name_in_zone;
using dns::provider_ops;
using dns::zone_changes;
using dns::zone_records;

// --- External providers --------------------------------------------------------
struct ProviderConf {
  std::string id;  // "<server>/<zone>"
  std::string server, zone;
  std::optional<dns::TsigKey> key;
  std::chrono::milliseconds retry_base{2000};
};
Result<std::vector<ProviderConf>> parse_providers(const nlohmann::json& list);

inline constexpr const char* kProviderJob = "dns.provider.sync";

// --- The publisher ---------------------------------------------------------------
class DnsPublisher {
 public:
  DnsPublisher(asio::io_context& io, const config::Config& cfg, storage::Database& db, const Clock& clock);
  // Registers the provider sync handler; call before jobs.start().
  void attach_jobs(storage::JobRunner& jobs);
  // Binds the server and publishes the first zone.
  Status start();
  // Something changed (workspaces, regions, dns_challenges rows): recompute
  // soon, coalescing bursts into one delta.
  void changed();
  // Returns once every change signalled before the call is served (or after
  // `max`): what the ACME solvers wait for before the CA looks up a name.
  awaitable<void> settled(std::chrono::milliseconds max);
  void stop();
  dns::Server& server() { return server_; }

 private:
  awaitable<void> rebuild();
  awaitable<void> publish_delta();
  awaitable<void> sweep();
  Result<RecordMap> read_desired(std::int64_t now_ms, std::optional<std::int64_t>* next_expiry);
  Result<std::shared_ptr<const dns::ZoneSnapshot>> build(std::uint32_t serial, const RecordMap& m);
  Result<std::shared_ptr<const dns::ZoneSnapshot>> next_snapshot(std::uint32_t serial, const RecordMap& next,
                                                                 const std::vector<RrKey>& keys);
  Status record_provider_changes(storage::Conn& c, const RecordMap& next, const std::vector<RrKey>& keys);
  Status reconcile_providers_at_start(storage::Conn& c, const RecordMap& next);
  void arm_expiry(std::optional<std::int64_t> at_ms);
  awaitable<storage::JobOutcome> sync_provider(storage::Job job);
  awaitable<Result<bool>> push_batch(const ProviderConf& p);

  asio::io_context& io_;
  const config::Config& cfg_;
  storage::Database& db_;
  const Clock& clock_;
  dns::Server server_;
  asio::steady_timer timer_, expiry_, sweeper_;
  asio::steady_timer pass_done_;  // never expires; cancelled after each pass to wake settled()
  storage::JobRunner* jobs_ = nullptr;
  std::vector<ProviderConf> providers_;
  RecordMap current_;
  bool pending_ = false;
  bool running_ = false;
  std::uint64_t passes_started_ = 0, passes_done_ = 0;  // a pass takes all pending changes
  bool stopped_ = false;
  std::uint32_t serial_ = 0;
};

}  // namespace fc::app

// DNS publishing (library fc_dns_publisher, docs/dns.md "Publishing"): feeds
// the embedded server and the external RFC 2136 providers from the database.
// A third root header next to codec.hpp and server.hpp because it is a
// separate library: fc_dns (codec, server, resolver, update client) knows no
// storage, this one reads the scheduler and owns the dns_* tables.
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/asio.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "dns/server.hpp"

namespace fc::config {
struct Config;
}
namespace fc::storage {
class Conn;
class Database;
class JobRunner;
}  // namespace fc::storage

namespace fc::dns {

// One external provider's sync state of one RRset (table dns_provider_records,
// kept by the RFC 2136 provider sync). `provider` is "server/zone".
struct ProviderRecordState {
  std::string state;  // pending | synced | failed
  std::optional<std::string> last_error;
  std::optional<std::int64_t> synced_at;  // ms since the epoch
};
// nullopt while the provider has no row for it yet (dns/store.cpp).
Result<std::optional<ProviderRecordState>> provider_record_state(storage::Conn& c,
                                                                 const std::string& provider,
                                                                 const std::string& name,
                                                                 const std::string& type);

// The zone built at start, then after each commit that changed what DNS
// publishes (coalesced) only the difference applied and swapped in; the SOA
// serial persisted so that it strictly increases, also across restarts; each
// external provider fed by a durable reconciler (job kind "dns.provider.sync").
// `io`, `cfg`, `db` and `clock` must outlive it.
class Publisher final : public ZoneNotifier {
 public:
  Publisher(asio::io_context& io, const config::Config& cfg, storage::Database& db,
            const Clock& clock);
  ~Publisher() override;
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Registers the provider sync handler; call before jobs.start().
  void attach_jobs(storage::JobRunner& jobs);
  // Binds the server and publishes the first zone.
  Status start();
  void stop();
  Server& server();

  // ZoneNotifier: the scheduler's and the certificates' side of the publisher.
  void changed() override;
  void names_changed(const std::vector<std::string>& workspace_names) override;
  void challenges_changed() override;
  awaitable<void> settled(std::chrono::milliseconds max) override;
  awaitable<Status> put_challenge(std::string name, std::string value,
                                  std::int64_t expires_at_ms) override;
  awaitable<Status> remove_challenge(std::string name, std::string value) override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fc::dns

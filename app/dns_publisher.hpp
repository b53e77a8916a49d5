// Feeds the embedded DNS server from the database: the zone is rebuilt after
// each commit that changed what DNS publishes (coalesced), and swapped in
// atomically. The SOA serial is persisted so it strictly increases, also
// across restarts.
#pragma once
#include <memory>

#include "common/asio.hpp"
#include "common/clock.hpp"
#include "config/config.hpp"
#include "dns/server.hpp"
#include "storage/db.hpp"

namespace fc::app {

class DnsPublisher {
 public:
  DnsPublisher(asio::io_context& io, const config::Config& cfg, storage::Database& db, const Clock& clock);
  // Binds the server and publishes the first zone.
  Status start();
  // Something changed: rebuild soon (coalesces bursts into one rebuild).
  void changed();
  void stop();
  dns::Server& server() { return server_; }

 private:
  awaitable<void> rebuild();
  Result<std::shared_ptr<const dns::ZoneSnapshot>> build(std::uint32_t serial);
  asio::io_context& io_;
  const config::Config& cfg_;
  storage::Database& db_;
  const Clock& clock_;
  dns::Server server_;
  asio::steady_timer timer_;
  bool pending_ = false;
  bool stopped_ = false;
  std::uint32_t serial_ = 0;
};

}  // namespace fc::app

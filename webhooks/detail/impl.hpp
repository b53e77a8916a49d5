// The webhooks service's private state (one I/O thread, no locks).
#pragma once
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/ids.hpp"
#include "events/events.hpp"
#include "storage/db.hpp"
#include "webhooks/detail/sender.hpp"
#include "webhooks/detail/store.hpp"
#include "webhooks/service.hpp"
#include "webhooks/signature.hpp"

namespace fc::webhooks {

// True when `type` passes an endpoint's filters ([] = everything; "family.*").
bool matches(const std::vector<std::string>& filters, const std::string& type);

// One endpoint being delivered to. Lanes hold a shared_ptr, so a deleted
// endpoint's lanes end on their own once `active` is false.
struct EndpointState {
  store::EndpointRow row;
  std::vector<std::string> secrets;      // opened: current first, then the old one in its grace
  Signer signer;                         // those secrets' keys, set up once (empty: unusable)
  std::optional<detail::Target> target;  // row.e.url split once (nullopt: unusable)
  std::vector<std::unique_ptr<asio::steady_timer>> lane_timers;
  bool active = true;
};

struct Service::Impl {
  asio::io_context& io;
  storage::Database& db;
  const Clock& clock;
  Options o;
  Sealer sealer;
  IdGenerator ids;
  std::mt19937_64 rng{std::random_device{}()};
  std::map<std::string, std::shared_ptr<EndpointState>> endpoints;
  asio::steady_timer dispatch_timer;
  asio::steady_timer retention_timer;
  bool running = false;
  Stats stats;
  // /metrics: attempts by endpoint and outcome since start, and the retention's totals.
  struct Counters {
    std::uint64_t delivered = 0, http_error = 0, network_error = 0, refused = 0, retries = 0;
  };
  std::map<std::string, Counters> counters;
  Pruned pruned_total;

  Impl(asio::io_context& i, storage::Database& d, const Clock& c, Options opt, Sealer s)
      : io(i),
        db(d),
        clock(c),
        o(std::move(opt)),
        sealer(std::move(s)),
        dispatch_timer(i),
        retention_timer(i) {}

  // Takes an endpoint row into memory and, when enabled, starts its lanes.
  void adopt(store::EndpointRow row);
  void load_secrets(EndpointState& ep, const store::EndpointRow& row);
  // Stops an endpoint's lanes (deleted or disabled).
  void halt(EndpointState& ep);
  void wake(EndpointState& ep);
  Delivery delivery_for(const std::string& endpoint, const events::Event& ev, std::int64_t now);
  int lane_of(const std::string& workspace_id) const;

  awaitable<void> dispatch_loop();
  awaitable<void> retention_loop();
  awaitable<Result<Pruned>> prune_once();
  awaitable<void> dispatch(std::shared_ptr<EndpointState> ep, std::int64_t last);
  awaitable<void> lane_loop(std::shared_ptr<EndpointState> ep, int lane);
  struct Outcome {
    std::int64_t delivery_id = 0;
    bool ok = false;
    std::optional<int> status;
    std::string error;
    std::int64_t attempts = 0;  // after this one
    std::int64_t at = 0;
  };
  awaitable<Outcome> attempt(EndpointState& ep, detail::Sender& sender, const store::Due& d);
  awaitable<void> record(std::shared_ptr<EndpointState> ep, std::vector<Outcome> outcomes);
  std::int64_t retry_delay_ms(std::int64_t attempts);
};

}  // namespace fc::webhooks

// fc::probes::Service — the live checks' loop (docs/probes.md): every
// workspace hostname and every active custom domain probed about every
// probes.interval_s (jittered), at most probes.rate_per_s probes started per
// second and probes.per_region_concurrency in flight per region; each result
// stored in probe_results. Runs on the one I/O thread.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>  // before common/asio.hpp, which uses std::optional without including it
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/asio.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "probes/probe.hpp"

namespace fc::storage {
class Database;
}

namespace fc::probes {

struct Options {
  bool enabled = true;
  std::int64_t interval_s = 60;
  std::int64_t rate_per_s = 10;
  std::int64_t per_region_concurrency = 4;
  std::int64_t timeout_ms = 5000;  // per step
  std::uint16_t https_port = 443;
  std::string path = "/api/info";
  std::string ca_bundle;               // "" = the system store
  std::vector<std::string> resolvers;  // host:port (resolver.servers)
  std::string zone = "fleet.test";     // workspace hostnames are <name>.<zone>
};

// What SIGHUP may change while the loop runs (app/daemon.cpp apply_live).
struct Pacing {
  std::int64_t interval_s = 60;
  std::int64_t rate_per_s = 10;
  std::int64_t per_region_concurrency = 4;
};

class Service {
 public:
  Service(asio::io_context& io, storage::Database& db, const Clock& clock, Options o);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Loads the trust anchors (probes.ca_bundle or the system store, plus the
  // internal issuer's root from the database): call after certs' init.
  Status init();
  // Starts the round loop when probes.enabled; stop() ends it.
  void start();
  void stop();
  // Applies new pacing at once: a probe waiting for its token or for a slot
  // and the wait between rounds are re-evaluated with the new values.
  void set_pacing(Pacing p);

  // Probes `hostname` now (a workspace hostname or a custom domain of
  // `workspace_id`) and stores the result.
  awaitable<Result<LiveResult>> probe_now(std::string hostname, std::string workspace_id);
  // The `live` object of the API for a hostname: {"status":"unknown",
  // "step":null,"detail":null,"checked_at":null,"failures":0} before its first probe.
  static nlohmann::json view(const std::optional<LiveResult>& r);
  // view() of the stored result (read connection).
  nlohmann::json view_of(const std::string& hostname);
  // fleetcommand_probe_* series for GET /metrics (Prometheus text).
  std::string metrics_text();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fc::probes

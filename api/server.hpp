// The HTTP listener (Boost.Beast, coroutines): keep-alive, body and header
// limits, read timeouts against slow clients, a connection cap, optional TLS.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/http.hpp"
#include "common/asio.hpp"
#include "common/result.hpp"

namespace fc::config {
struct Config;
}

namespace fc::api {

struct HttpServerOptions {
  std::string name = "api";  // for logs: api, acme_http
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;     // 0: any free port
  std::string tls_cert_file;  // both set: TLS
  std::string tls_key_file;
  int max_connections = 4096;
  std::chrono::seconds read_timeout{10};  // a whole request must arrive within this
  std::chrono::seconds idle_timeout{60};  // keep-alive connection without a request
  std::uint64_t body_limit = 1024 * 1024;
  std::uint32_t header_limit = 16 * 1024;
};

// The two listeners as configured (`api.*`, `acme_http.listen`): the
// daemon's own and a standby's (app/ha.cpp) are the same.
HttpServerOptions api_listener_options(const config::Config& cfg);
HttpServerOptions acme_listener_options(const config::Config& cfg);

// Called once per answered request (access log, metrics).
using Observer = std::function<void(const Request&, const Response&, std::chrono::nanoseconds)>;

class HttpServer {
 public:
  HttpServer(asio::io_context& io, const Router& router, HttpServerOptions o, Observer observe);
  ~HttpServer();
  // Binds the listener; the error names the address.
  Status listen();
  std::uint16_t port() const;
  void start();
  // Graceful shutdown, step 1: no new connections.
  void stop_accepting();
  // Step 2: closes connections that are between requests; the others close
  // after their current response.
  void close_idle();
  int active_requests() const;
  int connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace fc::api

namespace fc::config {
struct Config;
}
namespace fc::storage {
class Database;
}
namespace fc {
class Clock;
class IdGenerator;
}  // namespace fc
namespace fc::scheduler {
class Service;
}
namespace fc::certs {
class Service;
}
namespace fc::dns {
class Server;
}
namespace fc::domains {
class Service;
}
namespace fc::tenants {
class Service;
}
namespace fc::probes {
class Service;
}
namespace fc::releases {
class Service;
}
namespace fc::webhooks {
class Service;
}

namespace fc::api {

namespace detail {
struct Context;
}

// The API service: the router with every route, the token store, metrics and
// the two listeners (API and HTTP-01 responder).
class Service {
 public:
  Service(asio::io_context& io, const config::Config& cfg, storage::Database& db,
          const Clock& clock, scheduler::Service& sched);
  ~Service();
  // Loads state from the database and registers routes.
  Status init();
  // Mints the first admin token when no token exists yet; returns it once.
  awaitable<Result<std::string>> bootstrap_admin();
  bool has_tokens() const;
  // The certificates service behind /v1/certificates; call before init()
  // (defined in detail/cert_routes.cpp).
  void set_certs(certs::Service* certs);
  // The embedded DNS server GET /v1/dns/records reads (defined in detail/dns_routes.cpp).
  void set_dns(dns::Server* server);
  // Custom domains behind /v1/domains; call before init() (detail/domain_routes.cpp).
  void set_domains(domains::Service* domains);
  // More series appended to /metrics (Prometheus text), e.g. the daemon's
  // periodic backup; called on the I/O thread (detail/system_routes.cpp).
  void set_extra_metrics(std::function<std::string()> fn);
  // Live checks: `live` on workspaces and domains, POST /v1/domains/{hostname}/probe
  // and their /metrics series; call before init() (detail/domain_routes.cpp).
  // Tenants, plans and usage (docs/tenants.md); before init().
  void set_tenants(tenants::Service* tenants);
  void set_probes(probes::Service* probes);
  // Releases, channels and rollouts behind /v1/releases, /v1/channels,
  // /v1/rollouts, and the `release` of workspaces; call before init()
  // (detail/release_routes.cpp).
  void set_releases(releases::Service* releases);
  // Webhook endpoints behind /v1/webhooks; call before init() (detail/event_routes.cpp).
  void set_webhooks(webhooks::Service* webhooks);
  // Binds both listeners; the error names the address.
  Status listen();
  void start();
  std::uint16_t api_port() const;
  std::uint16_t acme_http_port() const;
  void set_ready(bool r);
  // Applies a new api.rate_limit.requests_per_second without a restart (SIGHUP).
  void set_rate_limit(std::int64_t requests_per_second);
  // Graceful shutdown: stop accepting, wake long-polls, close idle connections.
  void begin_shutdown();
  int active_requests() const;
  // Background chores (token last-use flush); call about once a second.
  awaitable<void> tick();
  const Router& router() const;
  // The HTTP-01 listener's routes (tests compare both with api/openapi/openapi.yaml).
  const Router& acme_router() const;

 private:
  std::unique_ptr<detail::Context> ctx_;
  std::unique_ptr<HttpServer> api_;
  std::unique_ptr<HttpServer> acme_;
};

}  // namespace fc::api

namespace fc::storage {
class Conn;
}
namespace fc::api {
// Offline: inserts a new admin token (inside the caller's transaction) and
// returns it; the running daemon sees it on its next start.
Result<std::string> mint_admin_token(storage::Conn& c, std::int64_t now_ms, IdGenerator& ids);
}  // namespace fc::api

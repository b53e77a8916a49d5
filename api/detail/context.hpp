// What every handler can reach. Owned by api::Service.
#pragma once
#include <functional>
#include <memory>
#include <unordered_map>

#include "api/detail/metrics.hpp"
#include "api/detail/metrics_history.hpp"
#include "api/detail/rate_limit.hpp"
#include "api/detail/tokens.hpp"
#include "api/http.hpp"
#include "common/clock.hpp"
#include "common/ids.hpp"
#include "config/config.hpp"
#include "storage/db.hpp"

namespace fc::scheduler {
class Service;
struct Workspace;
}  // namespace fc::scheduler
namespace fc::tenants {
class Service;
struct Tenancy;
}  // namespace fc::tenants
namespace fc::certs {
class Service;
}
namespace fc::dns {
class Server;
}
namespace fc::domains {
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

namespace fc::api::detail {

struct Context {
  asio::io_context& io;
  const config::Config& cfg;
  storage::Database& db;
  const Clock& clock;
  IdGenerator ids;
  TokenStore tokens;
  Metrics metrics;
  MetricsHistory history;  // the last hour per minute (GET /v1/metrics/history)
  Router router;
  Router acme_router;
  scheduler::Service* scheduler = nullptr;
  certs::Service* certs = nullptr;      // certificates (set by the daemon before init)
  dns::Server* dns_server = nullptr;    // the embedded DNS server (set by the daemon)
  domains::Service* domains = nullptr;  // custom domains (set by the daemon before init)
  // More /metrics series (the daemon's periodic backup), set before init.
  std::function<std::string()> extra_metrics;
  probes::Service* probes = nullptr;      // live checks (set by the daemon before init)
  tenants::Service* tenants = nullptr;    // tenants, plans, usage (set by the daemon before init)
  releases::Service* releases = nullptr;  // releases and rollouts (set before init)
  webhooks::Service* webhooks = nullptr;  // /v1/webhooks (set by the daemon before init)
  bool ready = false;
  bool shutting_down = false;
  RequestRateLimiter rate;  // per token

  Context(asio::io_context& i, const config::Config& c, storage::Database& d, const Clock& k)
      : io(i), cfg(c), db(d), clock(k), rate(c.api_rate_limit_rps) {}
};

void register_system_routes(Context& ctx);
// /metrics series to alert on (alert_metrics.cpp): per-region heartbeat age,
// certificates by time to expiry and the earliest expiry.
std::string alert_metrics_text(Context& ctx);
void register_region_routes(Context& ctx);
void register_workspace_routes(Context& ctx);
void register_agent_routes(Context& ctx);
void register_cert_routes(Context& ctx);       // needs ctx.certs
void register_acme_http_routes(Context& ctx);  // HTTP-01 answers on acme_router
void register_dns_routes(Context& ctx);
void register_domain_routes(Context& ctx);          // needs ctx.domains
void register_openapi_routes(Context& ctx);         // /v1/openapi.json, /v1/docs
void register_release_routes(Context& ctx);         // needs ctx.releases
void register_console_routes(Context& ctx);         // /ui, /ui/{asset} (docs/console.md)
void register_metrics_history_route(Context& ctx);  // /v1/metrics/history
// The `live` object of a hostname (workspace_routes.cpp).
nlohmann::json live_json(Context& ctx, const std::string& hostname);

// Idempotency-Key: the stored response for (scope, key), or a 409 when the
// key was used with another body; nullopt when the key is new.
std::optional<Response> lookup_idempotent(Context& ctx, const std::string& scope,
                                          const std::string& key, const std::string& body_hash);
Status store_idempotent(storage::Conn& c, const std::string& scope, const std::string& key,
                        const std::string& body_hash, int status, const std::string& response,
                        std::int64_t now);
void register_token_routes(Context& ctx);
// /v1/tenants, /v1/plans, suspend/resume, /v1/usage (tenant_routes.cpp).
void register_tenant_routes(Context& ctx);
// A workspace's view (workspace_routes.cpp): scheduler::Service::workspace_view
// on the read connection, the same view the workspace.* events carry.
nlohmann::json workspace_json(Context& ctx, const scheduler::Workspace& w);
// What a token may see of a workspace (`key`: id or name), for the handlers
// of kAdminOrTenant routes: "" = no restriction (admin); a per-workspace
// tenant token: its workspace; a tenant-wide token: the workspace's id when it
// belongs to the tenant, else a value that matches no workspace.
std::string viewer_for(Context& ctx, const Request& r, const std::string& key);
// The same for routes by a custom domain's hostname (its workspace decides).
std::string viewer_for_host(Context& ctx, const Request& r, const std::string& hostname);
// A tenants::Errc as a 422 naming its field; other errors by the error model.
Response tenants_failed(const Error& e, const std::string& request_id);
// /v1/events, and /v1/webhooks when ctx.webhooks is set (event_routes.cpp).
void register_event_routes(Context& ctx);

}  // namespace fc::api::detail

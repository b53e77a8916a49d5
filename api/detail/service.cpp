#include <spdlog/spdlog.h>

#include "api/detail/access_log.hpp"
#include "api/detail/context.hpp"
#include "api/detail/scope_tokens.hpp"
#include "api/detail/status_routes.hpp"
#include "api/server.hpp"
#include "scheduler/service.hpp"

namespace fc::api {

using detail::Context;

Service::Service(asio::io_context& io, const config::Config& cfg, storage::Database& db,
                 const Clock& clock, scheduler::Service& sched)
    : ctx_(std::make_unique<Context>(io, cfg, db, clock)) {
  ctx_->scheduler = &sched;
}

Service::~Service() = default;

Status Service::init() {
  BOOST_OUTCOME_TRY(ctx_->tokens.load(ctx_->db.read()));
  auto* ctx = ctx_.get();
  ctx->router.set_authenticator([ctx](const std::string& token) {
    return ctx->tokens.authenticate(token, ctx->clock.now_ms(), &ctx->db.read());
  });
  ctx->router.set_rate_limiter(
      [ctx](const Principal& p) { return ctx->rate.check(p.token_id, ctx->clock.now_ms()); });
  detail::register_system_routes(*ctx);
  detail::register_openapi_routes(*ctx);
  detail::register_console_routes(*ctx);
  detail::register_metrics_history_route(*ctx);
  detail::register_token_routes(*ctx);
  detail::register_region_routes(*ctx);
  detail::register_workspace_routes(*ctx);
  detail::register_agent_routes(*ctx);
  if (ctx->certs) detail::register_cert_routes(*ctx);
  detail::register_acme_http_routes(*ctx);
  detail::register_dns_routes(*ctx);
  if (ctx->domains) detail::register_domain_routes(*ctx);
  if (ctx->releases) detail::register_release_routes(*ctx);
  detail::register_event_routes(*ctx);
  detail::register_status_routes(*ctx);  // the domain route only with ctx->domains
  detail::register_tenant_routes(*ctx);
  ctx->scheduler->add_scope_listener(detail::token_scope_listener(ctx->tokens));
  return ok();
}

bool Service::has_tokens() const { return !ctx_->tokens.empty(); }

awaitable<Result<std::string>> Service::bootstrap_admin() {
  auto minted = detail::mint(TokenKind::kAdmin, "", "", ctx_->clock.now_ms(), ctx_->ids);
  bool created = false;
  auto st = co_await ctx_->db.write([&](storage::Conn& c) -> Status {
    // Only on an empty token table, checked inside the transaction.
    BOOST_OUTCOME_TRY(count, detail::count_tokens(c));
    if (count > 0) return ok();
    BOOST_OUTCOME_TRY(detail::insert_token(c, minted.record));
    created = true;
    return ok();
  });
  if (!st) co_return st.error();
  if (!created) co_return std::string();
  ctx_->tokens.add(minted.record);
  co_return minted.token;
}

HttpServerOptions api_listener_options(const config::Config& cfg) {
  HttpServerOptions a;
  a.name = "api";
  a.host = cfg.api_listen.host;
  a.port = cfg.api_listen.port;
  a.tls_cert_file = cfg.api_tls_cert_file;
  a.tls_key_file = cfg.api_tls_key_file;
  a.max_connections = static_cast<int>(cfg.api_max_connections);
  a.read_timeout = std::chrono::seconds(cfg.api_read_timeout_s);
  a.idle_timeout = std::chrono::seconds(cfg.api_idle_timeout_s);
  return a;
}

// The HTTP-01 responder: the API's limits, its own address, never TLS.
HttpServerOptions acme_listener_options(const config::Config& cfg) {
  HttpServerOptions h = api_listener_options(cfg);
  h.name = "acme_http";
  h.host = cfg.acme_http_listen.host;
  h.port = cfg.acme_http_listen.port;
  h.tls_cert_file.clear();
  h.tls_key_file.clear();
  return h;
}

Status Service::listen() {
  const auto& cfg = ctx_->cfg;
  auto* ctx = ctx_.get();
  auto observe = [ctx](const Request& req, const Response& resp, std::chrono::nanoseconds d) {
    ctx->metrics.observe(req.route, req.method, resp.status, d);
    ctx->history.record(ctx->clock.now_ms(), req.route, req.method, resp.status);
    detail::access_log(req, resp, d);
  };
  api_ = std::make_unique<HttpServer>(ctx_->io, ctx_->router, api_listener_options(cfg), observe);
  BOOST_OUTCOME_TRY(api_->listen());
  acme_ = std::make_unique<HttpServer>(ctx_->io, ctx_->acme_router, acme_listener_options(cfg),
                                       observe);
  BOOST_OUTCOME_TRY(acme_->listen());
  return ok();
}

void Service::start() {
  api_->start();
  acme_->start();
  const auto& cfg = ctx_->cfg;
  spdlog::info("listening api={}://{}:{} acme_http=http://{}:{}",
               cfg.api_tls_cert_file.empty() ? "http" : "https", cfg.api_listen.host, api_->port(),
               cfg.acme_http_listen.host, acme_->port());
}

std::uint16_t Service::api_port() const { return api_ ? api_->port() : 0; }
std::uint16_t Service::acme_http_port() const { return acme_ ? acme_->port() : 0; }
void Service::set_ready(bool r) { ctx_->ready = r; }
void Service::set_rate_limit(std::int64_t requests_per_second) {
  ctx_->rate.set_rate(requests_per_second);
}
const Router& Service::router() const { return ctx_->router; }
const Router& Service::acme_router() const { return ctx_->acme_router; }

void Service::begin_shutdown() {
  ctx_->shutting_down = true;
  ctx_->scheduler->shutdown();
  if (api_) api_->stop_accepting();
  if (acme_) acme_->stop_accepting();
  if (api_) api_->close_idle();
  if (acme_) acme_->close_idle();
}

int Service::active_requests() const {
  return (api_ ? api_->active_requests() : 0) + (acme_ ? acme_->active_requests() : 0);
}

awaitable<void> Service::tick() {
  auto used = ctx_->tokens.take_dirty();
  if (used.empty()) co_return;
  auto st =
      co_await ctx_->db.write([&](storage::Conn& c) { return detail::write_last_used(c, used); });
  if (!st) {
    spdlog::warn("token last-use flush failed tokens={} code={} detail={}", used.size(),
                 st.error().name(), st.error().detail);
  }
}

}  // namespace fc::api

namespace fc::api {
Result<std::string> mint_admin_token(storage::Conn& c, std::int64_t now_ms, IdGenerator& ids) {
  auto m = detail::mint(TokenKind::kAdmin, "", "", now_ms, ids);
  BOOST_OUTCOME_TRY(detail::insert_token(c, m.record));
  return m.token;
}
}  // namespace fc::api

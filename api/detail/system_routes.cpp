// /healthz, /readyz, /metrics, and the token endpoints.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "api/detail/context.hpp"
#include "common/clock.hpp"
#include "storage/jobs.hpp"

namespace fc::api::detail {

using nlohmann::json;

namespace {

std::string gauges_text(Context& ctx) {
  std::string o;
  auto ws = ctx.db.stats();
  auto line = [&](const char* name, const char* help, const char* type, double v) {
    o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
         std::to_string(v) + "\n";
  };
  line("fleetcommand_db_transactions_total", "Write transactions committed through the group-commit writer.",
       "counter", static_cast<double>(ws.transactions));
  line("fleetcommand_db_commits_total", "SQLite commits (one fsync each) made by the writer.", "counter",
       static_cast<double>(ws.batches));
  line("fleetcommand_db_failed_transactions_total", "Write transactions rolled back.", "counter",
       static_cast<double>(ws.failed));
  line("fleetcommand_db_write_queue", "Write transactions waiting for the writer.", "gauge",
       static_cast<double>(ws.queued));
  auto g = storage::gauges(ctx.db.read(), ctx.clock.now_ms());
  if (g) {
    o += "# HELP fleetcommand_jobs Jobs in the durable queue by state.\n# TYPE fleetcommand_jobs gauge\n";
    o += "fleetcommand_jobs{state=\"queued\"} " + std::to_string(g.value().queued) + "\n";
    o += "fleetcommand_jobs{state=\"leased\"} " + std::to_string(g.value().leased) + "\n";
    o += "fleetcommand_jobs{state=\"dead\"} " + std::to_string(g.value().dead) + "\n";
    line("fleetcommand_jobs_due", "Queued jobs whose run time has come.", "gauge",
         static_cast<double>(g.value().due));
  }
  o += "# HELP fleetcommand_build_info Build information.\n# TYPE fleetcommand_build_info gauge\n";
  o += "fleetcommand_build_info{version=\"" FC_VERSION "\"} 1\n";
  return o;
}

json token_json(const TokenRecord& r) {
  return {{"id", r.id},
          {"kind", kind_name(r.kind)},
          {"region", r.region.empty() ? json(nullptr) : json(r.region)},
          {"workspace_id", r.workspace_id.empty() ? json(nullptr) : json(r.workspace_id)},
          {"created_at", format_rfc3339(r.created_at)},
          {"last_used_at", r.last_used_at ? json(format_rfc3339(*r.last_used_at)) : json(nullptr)}};
}

}  // namespace

void register_system_routes(Context& ctx) {
  ctx.router.add("GET", "/healthz", Scope::kPublic, [](Request&) -> awaitable<Response> {
    co_return json_response(200, {{"status", "ok"}});
  });
  ctx.router.add("GET", "/readyz", Scope::kPublic, [&ctx](Request&) -> awaitable<Response> {
    if (!ctx.ready || ctx.shutting_down)
      co_return problem(503, "not-ready", "Service Unavailable",
                        ctx.shutting_down ? "shutting down" : "starting");
    co_return json_response(200, {{"status", "ready"}});
  });
  auto metrics = [&ctx](Request&) -> awaitable<Response> {
    Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = ctx.metrics.render() + gauges_text(ctx);
    co_return r;
  };
  ctx.router.add("GET", "/metrics", ctx.cfg.api_metrics_require_admin ? Scope::kAdmin : Scope::kPublic,
                 metrics);
}

void register_token_routes(Context& ctx) {
  ctx.router.add("GET", "/v1/tokens", Scope::kAdmin, [&ctx](Request&) -> awaitable<Response> {
    json items = json::array();
    for (const auto& t : ctx.tokens.list()) items.push_back(token_json(t));
    co_return json_response(200, {{"items", items}});
  });
  ctx.router.add("DELETE", "/v1/tokens/{id}", Scope::kAdmin, [&ctx](Request& r) -> awaitable<Response> {
    std::string id = r.params["id"];
    bool found = false;
    auto st = co_await ctx.db.write([&](storage::Conn& c) -> Status {
      BOOST_OUTCOME_TRY(s, c.prepare("DELETE FROM tokens WHERE id = ?"));
      BOOST_OUTCOME_TRY(s.bind(1, id).run());
      found = c.changes() > 0;
      return ok();
    });
    if (!st) co_return problem_from(st.error(), r.request_id);
    if (!found) co_return problem(404, "not-found", "Not Found", "no token " + id);
    ctx.tokens.remove(id);
    spdlog::info("token revoked id={} by={}", id, r.principal->token_id);
    co_return no_content();
  });
}

std::optional<int> rate_limit(Context& ctx, const Principal& p) {
  double rps = static_cast<double>(ctx.cfg.api_rate_limit_rps);
  if (rps <= 0) return std::nullopt;
  auto now = ctx.clock.now_ms();
  auto& b = ctx.rate[p.token_id];
  if (b.last_ms == 0) b.tokens = rps;  // a full bucket of one second
  b.tokens = std::min(rps, b.tokens + (now - b.last_ms) * rps / 1000.0);
  b.last_ms = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  return static_cast<int>(std::ceil((1.0 - b.tokens) / rps));
}

namespace {
// Request paths come from the network: escape what could forge a log line.
std::string log_safe(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || c == '"' || c == '\\' || c == ' ') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%%%02X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

void access_log(const Request& req, const Response& resp, std::chrono::nanoseconds d) {
  static auto logger = spdlog::default_logger()->clone("access");
  logger->info("request_id={} remote={} method={} path={} route={} status={} bytes={} duration_ms={:.3f} token={}",
               req.request_id, req.remote, log_safe(req.method), log_safe(req.path), req.route.empty() ? "-" : req.route,
               resp.status, resp.body.size(), std::chrono::duration<double, std::milli>(d).count(),
               req.principal ? req.principal->token_id : "-");
}

}  // namespace fc::api::detail

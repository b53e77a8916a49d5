// /healthz, /readyz, /metrics and /v1/version.
#include "api/detail/context.hpp"
#include "api/server.hpp"
#include "common/clock.hpp"
#include "common/log_sink.hpp"
#include "dns/server.hpp"
#include "domains/service.hpp"
#include "probes/service.hpp"
#include "releases/service.hpp"
#include "scheduler/service.hpp"
#include "storage/jobs.hpp"
#include "webhooks/service.hpp"

namespace fc::api::detail {

using nlohmann::json;

namespace {

std::string gauges_text(Context& ctx) {
  std::string o;
  auto ws = ctx.db.stats();
  auto line = [&](const char* name, const char* help, const char* type, double v) {
    o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
         name + " " + std::to_string(v) + "\n";
  };
  line("fleetcommand_db_transactions_total",
       "Write transactions committed through the group-commit writer.", "counter",
       static_cast<double>(ws.transactions));
  line("fleetcommand_db_commits_total", "SQLite commits (one fsync each) made by the writer.",
       "counter", static_cast<double>(ws.batches));
  line("fleetcommand_db_failed_transactions_total", "Write transactions rolled back.", "counter",
       static_cast<double>(ws.failed));
  line("fleetcommand_db_write_queue", "Write transactions waiting for the writer.", "gauge",
       static_cast<double>(ws.queued));
  line("fleetcommand_db_set_flushes_total",
       "Statements of set-based group commits (one per table per batch, one per region summed).",
       "counter", static_cast<double>(ws.set_flushes));
  line("fleetcommand_db_set_rows_total", "Rows those multi-row inserts wrote.", "counter",
       static_cast<double>(ws.set_rows));
  line("fleetcommand_db_set_replays_total",
       "Set-based runs rolled back and replayed caller by caller (a flush failed).", "counter",
       static_cast<double>(ws.set_replays));
  line("fleetcommand_db_set_taken_total",
       "Set-based creates whose name the batch's insert found taken (a 409 without a replay).",
       "counter", static_cast<double>(ws.set_taken));
  o += "# HELP fleetcommand_db_writer_seconds_total Wall time of the group-commit writer's "
       "batches by phase (begin: BEGIN and the fence; callers: their work; flush: the set-based "
       "flushes; commit: COMMIT).\n# TYPE fleetcommand_db_writer_seconds_total counter\n";
  for (const auto& [phase, us] : {std::pair<const char*, std::uint64_t>{"begin", ws.us_begin},
                                  {"callers", ws.us_callers},
                                  {"flush", ws.us_flush},
                                  {"commit", ws.us_commit}})
    o += std::string("fleetcommand_db_writer_seconds_total{phase=\"") + phase + "\"} " +
         std::to_string(static_cast<double>(us) / 1e6) + "\n";
  line("fleetcommand_db_checkpoints_total",
       "WAL checkpoint passes of the SQLite writer (copies into the database file).", "counter",
       static_cast<double>(ws.checkpoints));
  line("fleetcommand_db_checkpoint_waits_total",
       "SQLite COMMITs that waited for a checkpoint's database fsync before restarting the WAL.",
       "counter", static_cast<double>(ws.checkpoint_waits));
  line("fleetcommand_db_checkpoint_wait_seconds_total", "Time those COMMITs waited.", "counter",
       static_cast<double>(ws.us_checkpoint_wait) / 1e6);
  line("fleetcommand_log_lines_dropped_total",
       "Log lines below warn dropped because the log buffer was full (a slow stderr reader).",
       "counter", static_cast<double>(fc::log::dropped_lines()));
  auto g = storage::gauges(ctx.db.read(), ctx.clock.now_ms());
  if (g) {
    o += "# HELP fleetcommand_jobs Jobs in the durable queue by state.\n# TYPE fleetcommand_jobs "
         "gauge\n";
    o += "fleetcommand_jobs{state=\"queued\"} " + std::to_string(g.value().queued) + "\n";
    o += "fleetcommand_jobs{state=\"leased\"} " + std::to_string(g.value().leased) + "\n";
    o += "fleetcommand_jobs{state=\"dead\"} " + std::to_string(g.value().dead) + "\n";
    line("fleetcommand_jobs_due", "Queued jobs whose run time has come.", "gauge",
         static_cast<double>(g.value().due));
  }
  if (ctx.scheduler != nullptr) {
    o += "# HELP fleetcommand_workspace_phase_transitions_total Changes of the phase (or "
         "generation) agents report, by the phase entered.\n# TYPE "
         "fleetcommand_workspace_phase_transitions_total counter\n";
    for (const auto& [phase, n] : ctx.scheduler->phase_transitions()) {
      o += "fleetcommand_workspace_phase_transitions_total{phase=\"" + phase + "\"} " +
           std::to_string(n) + "\n";
    }
  }
  if (ctx.dns_server != nullptr) {
    const auto d = ctx.dns_server->stats();
    auto labelled = [&](const char* name, const char* help, const char* label,
                        std::initializer_list<std::pair<const char*, std::uint64_t>> values) {
      o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
      for (const auto& [value, n] : values)
        o += std::string(name) + "{" + label + "=\"" + value + "\"} " + std::to_string(n) + "\n";
    };
    labelled("fleetcommand_dns_queries_total", "Queries received by the embedded DNS server.",
             "transport", {{"udp", d.udp_queries}, {"tcp", d.tcp_queries}});
    labelled("fleetcommand_dns_answer_cache_total",
             "UDP queries answered from the answer cache (hit) or by the full path (miss).",
             "result", {{"hit", d.cache_hits}, {"miss", d.cache_misses}});
    labelled("fleetcommand_dns_rate_limited_total",
             "Responses held back by response rate limiting: dropped, or slipped (sent truncated).",
             "action", {{"dropped", d.rate_limited}, {"slipped", d.slipped}});
    line("fleetcommand_dns_dropped_total",
         "Queries not answered: oversized, undecodable, responses, or over the TCP cap.", "counter",
         static_cast<double>(d.dropped));
    line("fleetcommand_dns_transfers_total", "Zone transfers (AXFR, IXFR) served.", "counter",
         static_cast<double>(d.transfers));
  }
  o += "# HELP fleetcommand_build_info Build information.\n# TYPE fleetcommand_build_info gauge\n";
  o += "fleetcommand_build_info{version=\"" FC_VERSION "\"} 1\n";
  return o;
}

}  // namespace

}  // namespace fc::api::detail

namespace fc::api {
void Service::set_extra_metrics(std::function<std::string()> fn) {
  ctx_->extra_metrics = std::move(fn);
}
}  // namespace fc::api

namespace fc::api::detail {

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
  // Public: a client (fleetcommand ctl) checks the API major before anything else.
  ctx.router.add("GET", "/v1/version", Scope::kPublic, [](Request&) -> awaitable<Response> {
    co_return json_response(200, {{"version", FC_VERSION}, {"api", "v1"}});
  });
  auto metrics = [&ctx](Request&) -> awaitable<Response> {
    Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = ctx.metrics.render() + gauges_text(ctx);
    if (ctx.domains != nullptr) r.body += ctx.domains->metrics_text();
    if (ctx.extra_metrics) r.body += ctx.extra_metrics();
    if (ctx.probes != nullptr) r.body += ctx.probes->metrics_text();
    if (ctx.webhooks != nullptr) r.body += ctx.webhooks->metrics_text();
    if (ctx.releases != nullptr) r.body += ctx.releases->metrics_text();
    r.body += alert_metrics_text(ctx);
    co_return r;
  };
  ctx.router.add("GET", "/metrics",
                 ctx.cfg.api_metrics_require_admin ? Scope::kAdmin : Scope::kPublic, metrics);
}

}  // namespace fc::api::detail

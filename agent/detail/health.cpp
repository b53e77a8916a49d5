#include "agent/detail/health.hpp"

namespace fc::agent {
namespace {

// The phases a workspace record can hold (deleted ones are dropped), so the
// gauge's series are stable from the first scrape.
constexpr const char* kHealthPhases[] = {"provisioning", "progressing", "running",
                                         "degraded",     "suspended",   "failed"};

std::string health_seconds(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  if (ms <= 0) return "0";
  std::string frac = std::to_string(ms % 1000);
  return std::to_string(ms / 1000) + "." + std::string(3 - frac.size(), '0') + frac;
}

void health_family(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void health_sample(std::string& out, const char* name, const std::string& labels,
                   const std::string& value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ' + value + '\n';
}

// A counter family with one series per result.
void health_results(std::string& out, const char* name, const char* help,
                    std::initializer_list<std::pair<const char*, std::uint64_t>> results) {
  health_family(out, name, "counter", help);
  for (const auto& [result, n] : results)
    health_sample(out, name, std::string("result=\"") + result + "\"", std::to_string(n));
}

HealthReply health_text(unsigned status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body)};
}

HealthReply readyz(const AgentMetrics& m) {
  if (m.snapshot_source.empty())
    return health_text(503,
                       "not ready: no snapshot yet (none in --state-dir, none fetched from the "
                       "control plane)\n");
  return health_text(200, "ready: snapshot revision=" + std::to_string(m.revision) +
                              " source=" + m.snapshot_source + "\n");
}

HealthReply healthz(const AgentMetrics& m, std::chrono::seconds window,
                    std::chrono::steady_clock::time_point now) {
  std::chrono::nanoseconds last{m.last_progress_ns.load(std::memory_order_relaxed)};
  auto idle = now.time_since_epoch() - last;
  auto idle_s = std::chrono::duration_cast<std::chrono::seconds>(idle).count();
  if (idle > window)
    return health_text(503, "stalled: the sync loop made no progress for " +
                                std::to_string(idle_s) + " s (limit " +
                                std::to_string(window.count()) + " s)\n");
  return health_text(200, "ok: last progress " + std::to_string(idle_s) + " s ago\n");
}

}  // namespace

void AgentMetrics::tick() {
  last_progress_ns.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                         std::memory_order_relaxed);
}

std::chrono::seconds liveness_window(int poll_wait_s, int apply_timeout_s) {
  return std::chrono::seconds(poll_wait_s + 10 + apply_timeout_s + 30);
}

// One family after another, in the order of docs/agent.md's table.
std::string render_agent_metrics(const AgentMetrics& m,
                                 std::chrono::system_clock::time_point wall) {
  std::string o;
  health_results(o, "fleetcommand_agent_applies_total", "Workspace applies and deletes by result.",
                 {{"ok", m.applies_ok}, {"failed", m.applies_failed}});
  health_results(o, "fleetcommand_agent_reports_total",
                 "Status reports (POST /v1/agent/status) by result.",
                 {{"sent", m.reports_sent}, {"failed", m.reports_failed}});
  health_results(o, "fleetcommand_agent_polls_total",
                 "Assignment polls (GET /v1/agent/assignments) by result.",
                 {{"ok", m.polls_ok}, {"failed", m.polls_failed}});
  health_family(o, "fleetcommand_agent_observation_rounds_total", "counter",
                "Runs of --status-command.");
  health_sample(o, "fleetcommand_agent_observation_rounds_total", "",
                std::to_string(m.observation_rounds));
  health_family(o, "fleetcommand_agent_revision", "gauge",
                "Assignment revision of the held snapshot (0: none).");
  health_sample(o, "fleetcommand_agent_revision", "", std::to_string(m.revision));
  health_family(o, "fleetcommand_agent_ready", "gauge", "1 once the agent holds a snapshot.");
  health_sample(o, "fleetcommand_agent_ready", "", m.snapshot_source.empty() ? "0" : "1");
  health_family(o, "fleetcommand_agent_snapshot_age_seconds", "gauge",
                "Seconds since the held snapshot was last known current (absent: none).");
  if (!m.snapshot_source.empty()) {
    auto age = std::chrono::duration_cast<std::chrono::seconds>(wall - m.snapshot_at).count();
    health_sample(o, "fleetcommand_agent_snapshot_age_seconds", "",
                  std::to_string(age < 0 ? 0 : age));
  }
  health_family(o, "fleetcommand_agent_last_successful_poll_timestamp_seconds", "gauge",
                "Unix time of the last successful assignment poll (0: never).");
  health_sample(o, "fleetcommand_agent_last_successful_poll_timestamp_seconds", "",
                health_seconds(m.last_poll_ok));
  health_family(o, "fleetcommand_agent_workspaces", "gauge",
                "Workspaces of the region by the phase last observed.");
  for (const char* p : kHealthPhases) {
    auto it = m.phases.find(p);
    health_sample(o, "fleetcommand_agent_workspaces", std::string("phase=\"") + p + "\"",
                  std::to_string(it == m.phases.end() ? 0 : it->second));
  }
  return o;
}

HealthReply health_reply(std::string_view method, std::string_view target, const AgentMetrics& m,
                         std::chrono::seconds window, std::chrono::steady_clock::time_point now,
                         std::chrono::system_clock::time_point wall) {
  std::string_view path = target.substr(0, target.find('?'));
  bool known = path == "/healthz" || path == "/readyz" || path == "/metrics";
  if (!known) return health_text(404, "not found; try /healthz, /readyz or /metrics\n");
  if (method != "GET" && method != "HEAD") return health_text(405, "only GET and HEAD\n");
  if (path == "/healthz") return healthz(m, window, now);
  if (path == "/readyz") return readyz(m);
  return {200, "text/plain; version=0.0.4; charset=utf-8", render_agent_metrics(m, wall)};
}

}  // namespace fc::agent

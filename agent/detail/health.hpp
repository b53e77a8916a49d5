// `--health-listen ADDR` (docs/agent.md "Health and metrics"): /healthz,
// /readyz and /metrics for a kubelet's probes and Prometheus. The figures are
// kept by the loop on the I/O thread; only the progress tick is also written
// from the apply thread, hence atomic.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "agent/detail/cli.hpp"
#include "common/asio.hpp"
#include "common/result.hpp"

namespace spdlog {
class logger;
}

namespace fc::agent {

struct AgentMetrics {
  std::uint64_t applies_ok = 0, applies_failed = 0;    // apply and delete results per workspace
  std::uint64_t reports_sent = 0, reports_failed = 0;  // POST /v1/agent/status calls
  std::uint64_t polls_ok = 0, polls_failed = 0;        // GET /v1/agent/assignments calls
  std::uint64_t observation_rounds = 0;                // --status-command runs
  std::int64_t revision = 0;
  // The held snapshot: "" none yet, "restored" from --state-dir, "fetched".
  std::string snapshot_source;
  // When the held snapshot was last known current: the last successful poll,
  // or state.json's modification time when restored.
  std::chrono::system_clock::time_point snapshot_at{};
  std::chrono::system_clock::time_point last_poll_ok{};  // epoch = never
  std::map<std::string, std::uint64_t> phases;           // workspaces by last observed phase
  // steady_clock nanoseconds of the last step of the sync loop (poll answered,
  // apply or delete command finished, report sent): liveness.
  std::atomic<std::int64_t> last_progress_ns{0};

  void tick();
};

// The sync loop is live while it made progress within this window: one
// long-poll (wait + 10 s margin), one apply/delete/status command (its
// timeout), and 30 s of slack. A loop that stopped stepping for longer is
// stuck (e.g. a wedged child process the timeout did not kill).
std::chrono::seconds liveness_window(int poll_wait_s, int apply_timeout_s);

struct HealthReply {
  unsigned status = 200;
  std::string content_type;
  std::string body;
};

// The whole HTTP surface as a pure function: GET (or HEAD) of /healthz,
// /readyz, /metrics; 405 for another method on them, 404 for anything else.
HealthReply health_reply(std::string_view method, std::string_view target, const AgentMetrics& m,
                         std::chrono::seconds window, std::chrono::steady_clock::time_point now,
                         std::chrono::system_clock::time_point wall);

// Prometheus text exposition format 0.0.4 (valid for `promtool check metrics`).
std::string render_agent_metrics(const AgentMetrics& m, std::chrono::system_clock::time_point wall);

// The listener, on the agent's io_context. Each connection: one request with
// the daemon's parser limits (1 MiB body, 16 KiB headers), 10 s to arrive,
// one answer, closed; at most 64 connections at once.
class HealthServer {
 public:
  HealthServer(asio::io_context& io, ListenAddr addr, const AgentMetrics& metrics,
               std::chrono::seconds window, std::shared_ptr<spdlog::logger> log);
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;
  // Binds and starts accepting; errors name the address. Port 0 (tests only:
  // --health-listen refuses it) binds a free port, see port().
  Status listen();
  std::uint16_t port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace fc::agent

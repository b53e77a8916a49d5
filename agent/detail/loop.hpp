// The agent loop (docs/agent.md "Loop"): heartbeat, long-poll, fetch
// certificates, apply through the engine, persist, report; backoff on failure.
#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "agent/detail/cli.hpp"
#include "agent/detail/engine.hpp"
#include "agent/detail/health.hpp"
#include "agent/detail/state.hpp"
#include "client/async.hpp"
#include "common/asio.hpp"

namespace fc::agent {

class Loop {
 public:
  // `metrics` is written by the loop (on the I/O thread) and read by the
  // health listener.
  Loop(Options opts, Engine& engine, StateStore& store, client::AsyncClient& http,
       std::shared_ptr<spdlog::logger> log, AgentMetrics& metrics);
  // Waits for an apply still running on the pool: it uses state_ and certs_,
  // which are destroyed after this body (seen by ASan as a heap-use-after-free
  // when SIGTERM arrived during an apply).
  ~Loop() { pool_.join(); }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Runs until stopped (or one round with --once); sets exit_code().
  awaitable<void> run();
  int exit_code() const { return exit_code_; }

 private:
  awaitable<void> heartbeat_loop();
  awaitable<Status> heartbeat();
  awaitable<Result<proto::AssignmentsResponse>> poll(std::int64_t since, int wait_s);
  awaitable<Status> fetch_certificates(std::vector<proto::CertificateRef> refs);
  awaitable<Status> report();
  awaitable<Status> round();
  awaitable<Status> apply(proto::AssignmentsResponse resp);
  awaitable<void> observe_cluster();
  void note(const std::vector<proto::WorkspaceStatus>& statuses);  // log + queue for report
  awaitable<void> sleep(std::chrono::milliseconds d);
  Status check_http(const Result<client::Response>& r, const char* what) const;
  void drop_unused_certificates();
  void restore();  // state, certificate cache, statuses to re-report
  void count_phases();
  void note_snapshot(const char* source, std::chrono::system_clock::time_point at);

  Options opts_;
  Engine& engine_;
  StateStore& store_;
  client::AsyncClient& http_;
  std::shared_ptr<spdlog::logger> log_;
  AgentMetrics& metrics_;
  asio::thread_pool pool_{1};  // blocking work: apply commands, fsync
  AgentState state_;
  CertCache certs_;
  std::map<std::string, proto::WorkspaceStatus> pending_;  // statuses not yet reported
  int exit_code_ = 0;
  std::chrono::steady_clock::time_point last_observation_{};
  bool applied_any_ = false;  // statuses changed by an apply since the last observation
};

}  // namespace fc::agent

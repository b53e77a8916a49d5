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
#include "agent/detail/http_client.hpp"
#include "agent/detail/state.hpp"
#include "common/asio.hpp"

namespace fc::agent {

// Next delay of an exponential backoff: doubles from `first`, capped at `cap`.
std::chrono::milliseconds next_backoff(std::chrono::milliseconds prev,
                                       std::chrono::milliseconds first,
                                       std::chrono::milliseconds cap);

class Loop {
 public:
  Loop(Options opts, Engine& engine, StateStore& store, HttpClient& http,
       std::shared_ptr<spdlog::logger> log);
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
  Status check_http(const Result<HttpResponse>& r, const char* what) const;
  void drop_unused_certificates();
  void restore();  // state, certificate cache, statuses to re-report

  Options opts_;
  Engine& engine_;
  StateStore& store_;
  HttpClient& http_;
  std::shared_ptr<spdlog::logger> log_;
  asio::thread_pool pool_{1};  // blocking work: apply commands, fsync
  AgentState state_;
  CertCache certs_;
  std::map<std::string, proto::WorkspaceStatus> pending_;  // statuses not yet reported
  int exit_code_ = 0;
  std::chrono::steady_clock::time_point last_observation_{};
  bool applied_any_ = false;  // statuses changed by an apply since the last observation
};

}  // namespace fc::agent

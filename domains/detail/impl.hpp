// Internals of domains::Service shared by its source files.
#pragma once
#include <random>

#include <spdlog/spdlog.h>

#include "common/ids.hpp"
#include "dns/codec.hpp"
#include "domains/detail/token_bucket.hpp"
#include "domains/service.hpp"
#include "scheduler/service.hpp"
#include "storage/db.hpp"
#include "storage/jobs.hpp"

namespace fc::domains {

inline constexpr const char* kCheckJob = "domain.check";

// The component's own logger ("domains"), a clone of the default one.
inline std::shared_ptr<spdlog::logger> logger() {
  static auto l = [] {
    auto existing = spdlog::get("domains");
    if (existing) return existing;
    auto created = spdlog::default_logger()->clone("domains");
    spdlog::register_logger(created);
    return created;
  }();
  return l;
}

struct Answer {
  std::string error;  // "" or the reason the lookup failed
  std::vector<dns::Record> records;
};

struct Service::Impl {
  asio::io_context& io;
  storage::Database& db;
  const Clock& clock;
  scheduler::Service& sched;
  Options o;
  CertPort certs;
  IdGenerator ids;
  storage::JobRunner* jobs = nullptr;
  int checks_in_flight = 0;
  detail::TokenBucket bucket;
  std::int64_t last_sweep_ms = 0;

  Impl(asio::io_context& i, storage::Database& d, const Clock& c, scheduler::Service& s, Options opt)
      : io(i), db(d), clock(c), sched(s), o(std::move(opt)), bucket(o.queries_per_second, o.queries_per_second) {}
  std::int64_t now() const { return clock.now_ms(); }
  std::string new_token();
  std::string delegate_name(const Domain& d) const;
  Result<Domain> visible(const std::string& hostname, const std::string& viewer_ws);
  Status enqueue_check(storage::Conn& c, const Domain& d, std::int64_t run_at);
  void poke();
  // Re-reads the row inside the transaction and applies `fn` when it is
  // still live; false when it was deleted meanwhile.
  awaitable<Result<bool>> save(std::string id, std::function<void(Domain&)> fn);
  awaitable<void> refresh(std::string workspace_id);

  // verifier.cpp
  awaitable<storage::JobOutcome> run_check(storage::Job j);
  awaitable<std::chrono::seconds> step(Domain d);
  awaitable<Answer> lookup(std::string name, dns::RrType type);
  awaitable<Observed> observe(const Domain& d);
  Result<Expected> expected(const Domain& d);
  awaitable<std::chrono::seconds> verify(Domain d);
  awaitable<std::chrono::seconds> preflight_and_order(Domain d);
  awaitable<std::optional<std::string>> preflight(const Domain& d, bool& dns01);
  awaitable<std::chrono::seconds> follow_certificate(Domain d);
  awaitable<std::chrono::seconds> recheck(Domain d);
  awaitable<void> deliver(std::string workspace_id, std::string cert_id);
  std::chrono::seconds retry_delay(const Domain& d) const;
};

}  // namespace fc::domains

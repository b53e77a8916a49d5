// probes::Service::Impl, shared by service.cpp (the loop) and targets.cpp
// (what is probed, views, metrics).
#pragma once
#include <spdlog/spdlog.h>

#include <map>
#include <random>
#include <set>

#include "common/asio.hpp"
#include "common/token_bucket.hpp"
#include "probes/detail/check.hpp"
#include "probes/service.hpp"
#include "storage/db.hpp"

namespace fc::probes {

// The component's own logger ("probes"), a clone of the default one.
inline std::shared_ptr<spdlog::logger> probes_logger() {
  static auto l = [] {
    auto existing = spdlog::get("probes");
    if (existing) return existing;
    auto created = spdlog::default_logger()->clone("probes");
    spdlog::register_logger(created);
    return created;
  }();
  return l;
}

struct Service::Impl {
  asio::io_context& io;
  storage::Database& db;
  const Clock& clock;
  Options o;
  std::unique_ptr<detail::Checker> checker;
  bool stopped = false;
  bool running = false;
  asio::steady_timer sleeper{io};     // between rounds and for the rate cap
  asio::steady_timer slot_freed{io};  // cancelled whenever a probe ends
  BucketState bucket{};
  std::map<std::string, std::int64_t> in_flight;  // by region
  std::mt19937_64 rng{std::random_device{}()};
  std::map<std::string, std::string> fingerprint_cache;  // "<cert id>:<version>" → SHA-256
  // Counters for /metrics: probes by result (pass|fail) and step.
  std::map<std::pair<std::string, std::string>, std::uint64_t> results;
  std::uint64_t rounds = 0;
  std::size_t last_targets = 0;
  // Hostnames being probed right now: one probe of a name at a time.
  std::set<std::string> busy_hosts;

  Impl(asio::io_context& i, storage::Database& d, const Clock& c, Options opts)
      : io(i), db(d), clock(c), o(std::move(opts)) {}

  awaitable<void> loop();
  awaitable<void> round();
  awaitable<void> pace();
  awaitable<void> wait_for_slot(const std::string& region);
  awaitable<void> run_one(detail::Target t);
  awaitable<Result<LiveResult>> probe(detail::Target t);
  awaitable<void> claim_host(const std::string& hostname);
  // Every hostname to probe now: workspace hostnames published in DNS and
  // active custom domains, each with the leaves fleetcommand issued for it.
  Result<std::vector<detail::Target>> targets();
  std::map<std::string, std::vector<std::string>> issued_fingerprints(storage::Conn& c);
};

}  // namespace fc::probes

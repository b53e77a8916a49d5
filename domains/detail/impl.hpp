// Internals of domains::Service shared by its source files.
#pragma once
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include "common/ids.hpp"
#include "common/token_bucket.hpp"
#include "dns/codec.hpp"
#include "domains/service.hpp"
#include "scheduler/service.hpp"
#include "storage/db.hpp"
#include "storage/jobs.hpp"

namespace fc::domains {

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

// domains.queries_per_second (an integer ≥ 1 in the config) with a burst of one query.
inline BucketRate query_rate(double per_second) {
  return BucketRate::per_second(std::max<std::int64_t>(1, std::llround(per_second)), 1);
}

struct Answer {
  std::string error;  // "" or the reason the lookup failed
  std::vector<dns::Record> records;
};

// The verifier's resolver client (lookup.cpp): what it asked and heard, for
// /metrics.
struct LookupStats {
  std::map<std::string, std::uint64_t> queries;  // by resolver (host:port)
  std::map<std::string, std::uint64_t> answers;  // by rcode, or "timeout"/"error"
  std::uint64_t cached = 0;                      // lookups answered from a cached answer (TTL)
  std::uint64_t coalesced = 0;                   // lookups that joined the same query in flight
  std::uint64_t early_checks = 0;  // pending checks pulled forward into spare capacity
};
// One (name, type): the answer while its TTL runs (a negative one for the
// SOA's negative TTL, RFC 2308), or the query in flight that others join.
struct CachedLookup {
  Answer answer;
  std::int64_t until_ms = 0;
  bool pending = true;
  std::unique_ptr<asio::steady_timer> ready;  // cancelled when the answer is in
};

// What domains needs from certs::Service, bound by set_certs() (an empty
// function: no certificate service).
struct CertInfo {
  std::string id;
  std::string status;  // pending|valid|renewing|failed|expired
  std::optional<std::int64_t> not_after_ms;
  std::optional<std::string> last_error;
  std::int64_t version = 0;
};
struct CertPort {
  // dns01_delegate: "" for HTTP-01, else "<id>._acme.<zone>".
  std::function<awaitable<Result<std::string>>(
      std::vector<std::string> hostnames, std::string workspace_id, std::string dns01_delegate)>
      ensure;
  std::function<Result<CertInfo>(const std::string& id)> get;
  std::function<awaitable<Status>(std::string id)> stop_renewing;
  std::function<awaitable<Status>(std::string id)> resume_renewing;  // points at us again
  std::function<awaitable<Status>(std::string id)> remove;
};
CertPort cert_port(certs::Service& c);

struct Service::Impl {
  asio::io_context& io;
  storage::Database& db;
  const Clock& clock;
  scheduler::Service& sched;
  Options o;
  CertPort certs;
  IdGenerator ids;
  // The verifier's own scheduler (verifier.cpp): domains in flight, those
  // whose check was asked for while in flight, and the loop's wake-up timer.
  std::set<std::string> in_flight;
  std::set<std::string> asked_again;
  std::set<std::string> early_ids;      // checks started before their time
  std::set<std::string> keep_schedule;  // early checks that found nothing
  asio::steady_timer wake;
  bool started = false;
  bool stopping = false;
  // Per resolver, burst of one query: no resolver gets more than the cap in
  // any one-second window. Lookups go to the resolver with the earliest slot.
  std::vector<TokenBucket> buckets;
  std::map<std::string, std::shared_ptr<CachedLookup>> answers;  // "type name" → answer
  LookupStats lookup_stats;
  std::size_t next_resolver = 0;
  std::int64_t last_sweep_ms = 0;
  // Workspaces whose row was removed since the last sweep (the scheduler's
  // scope listener, shared: the scheduler may outlive this service), and
  // whether the full sweep of every live claim ran since start.
  std::shared_ptr<std::vector<std::string>> removed_workspaces =
      std::make_shared<std::vector<std::string>>();
  bool swept_all = false;

  Impl(asio::io_context& i, storage::Database& d, const Clock& c, scheduler::Service& s,
       Options opt)
      : io(i),
        db(d),
        clock(c),
        sched(s),
        o(std::move(opt)),
        wake(i),
        buckets(std::max<std::size_t>(1, o.resolvers.size()),
                TokenBucket(query_rate(o.queries_per_second))) {}
  std::int64_t now() const { return clock.now_ms(); }
  std::string new_token();
  std::string delegate_name(const Domain& d) const;
  Result<Domain> visible(const std::string& hostname, const std::string& viewer_ws);
  // Inside a write transaction: check `d` no later than `run_at`.
  Status enqueue_check(storage::Conn& c, const Domain& d, std::int64_t run_at);
  void poke();  // wakes the verifier loop
  // Re-reads the row inside the transaction and applies `fn` when it is
  // still live; false when it was deleted meanwhile.
  awaitable<Result<bool>> save(std::string id, std::function<void(Domain&)> fn);
  // Appends the lifecycle events of a change (domain.verified, .active, …).
  Status emit_transitions(storage::Conn& c, const Domain& before, const Domain& after);
  // save() where nothing else depends on the write: a failure is logged
  // (id=… step=… reason=…) and the next check retries.
  awaitable<void> save_logged(std::string id, std::string step, std::function<void(Domain&)> fn);
  awaitable<void> refresh(std::string workspace_id);

  // verifier.cpp
  awaitable<void> check_loop();
  std::int64_t start_due_checks();
  void start_early_checks(int room);
  void start_check(const std::string& id, bool early);
  awaitable<void> run_check(std::string id);
  awaitable<std::chrono::milliseconds> check_once(std::string id);
  awaitable<std::chrono::seconds> step(Domain d);
  // lookup.cpp
  awaitable<Answer> lookup(std::string name, dns::RrType type);
  awaitable<Answer> ask_resolver(dns::Name name, dns::RrType type, std::int64_t& ttl_ms);
  std::size_t pick_resolver();
  void forget_expired_answers();
  awaitable<Observed> observe(const Domain& d);
  Result<Expected> expected(const Domain& d);
  awaitable<std::chrono::seconds> verify(Domain d);
  awaitable<std::chrono::seconds> preflight_and_order(Domain d, bool routing_checked = false);
  awaitable<std::chrono::seconds> preflight_failed(Domain d, std::string why);
  awaitable<std::chrono::seconds> preflight_retry(Domain d, std::string why);
  awaitable<std::chrono::seconds> ordered(Domain d, std::string cert, bool dns01);
  awaitable<PreflightResult> preflight(const Domain& d, bool routing_checked);
  awaitable<std::chrono::seconds> follow_certificate(Domain d);
  awaitable<std::chrono::seconds> recheck(Domain d);
  awaitable<std::chrono::seconds> come_back(Domain d, Evaluation ev);
  awaitable<void> resume_renewal(Domain d);
  awaitable<void> deliver(std::string workspace_id, std::string cert_id);
  awaitable<void> activate_running();
  awaitable<void> release(Domain d);
  std::chrono::seconds retry_delay(const Domain& d) const;
};

}  // namespace fc::domains

// fc::domains::Service — custom-domain claims, the verifier job, pre-flight
// checks, certificate ordering through the certificate service, delivery in
// the workspace's assignment and periodic re-checks (docs/domains.md).
// Runs on the one I/O thread.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "certs/service.hpp"
#include "common/asio.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "domains/domain.hpp"
#include "scheduler/service.hpp"

namespace fc::storage {
class Conn;
class Database;
}  // namespace fc::storage
namespace fc::scheduler {
class Service;
}

namespace fc::domains {

struct Domain {
  std::string id;
  std::string hostname;
  std::string workspace_id;
  State state = State::kPendingVerification;
  std::string token;
  std::optional<std::int64_t> verified_at;
  std::string routing_type = "CNAME";
  bool routing_ok = false;
  std::string routing_found;
  std::optional<std::string> challenge;  // http-01 | dns-01
  std::optional<std::string> certificate_id;
  std::optional<std::int64_t> cert_generation;
  bool routed = false;
  std::optional<std::string> last_error;
  std::int64_t attempts = 0;
  std::optional<std::int64_t> last_checked_at;
  std::optional<std::int64_t> moved_at;
  std::optional<std::int64_t> deleted_at;
  std::optional<std::int64_t> reserved_until;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct Options {
  std::string zone = "fleet.test";
  std::vector<std::string> resolvers;  // host:port
  std::int64_t recheck_interval_s = 3600;
  std::int64_t max_per_workspace = 20;
  std::int64_t moved_grace_s = 86400;
  std::int64_t reservation_s = 2592000;
  std::int64_t verify_base_s = 60;
  std::vector<std::string> caa_identities;  // of the first ACME issuer
  int max_concurrent_checks = 8;   // domains checked at once (domains.max_concurrent_checks)
  double queries_per_second = 50;  // cap per resolver (domains.queries_per_second)
  std::chrono::milliseconds resolver_timeout{2000};
  // A lower limit for one workspace (its plan's max_custom_domains,
  // docs/tenants.md), read inside the claim's transaction; empty = none.
  std::function<Result<std::optional<std::int64_t>>(storage::Conn&, const std::string& ws)>
      workspace_limit;
};

// The verification pacing a SIGHUP reload may change (app/, docs/domains.md
// "Verification and limits"): the rest of Options needs a restart.
struct Pacing {
  std::int64_t recheck_interval_s = 3600;
  std::int64_t verify_base_s = 60;
  int max_concurrent_checks = 8;
  double queries_per_second = 50;
};

// Also what the scheduler (routed hostnames and certificates of an
// assignment) and certs (a new certificate version) call back into.
class Service final : public scheduler::AssignmentExtras, public certs::IssuedListener {
 public:
  Service(asio::io_context& io, storage::Database& db, const Clock& clock,
          scheduler::Service& sched, Options o);
  ~Service() override;
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // The certificate service behind claimed domains; registers this service
  // as its issued listener. `certs` must outlive this service.
  void set_certs(certs::Service* certs);
  // Starts the verifier loop (docs/domains.md "Verification and limits"): it
  // checks due domains (domains.next_check_at), the longest-waiting first, at
  // most max_concurrent_checks at once, every lookup paced by the query cap.
  void start();
  void stop();
  // Applies new pacing from now on: checks already running finish; backoffs
  // already scheduled keep their time; a new query cap starts full buckets.
  void set_pacing(const Pacing& p);

  // `viewer_ws`: "" for admins, else the tenant's workspace (others → 404).
  awaitable<Result<Domain>> claim(std::string workspace_id, std::string hostname,
                                  std::string viewer_ws);
  Result<std::vector<Domain>> list(const std::string& workspace_id, const std::string& viewer_ws);
  Result<Domain> get(const std::string& hostname, const std::string& viewer_ws);
  // Admins' list of every workspace's claims (GET /v1/domains): by id after
  // `after`, of one status ("" any), hostname prefix `q` ("" any).
  Result<std::vector<Domain>> list_all(const std::string& status, const std::string& q, int limit,
                                       const std::string& after);
  awaitable<Status> check_now(std::string hostname, std::string viewer_ws);
  awaitable<Status> remove(std::string hostname, std::string viewer_ws);
  // The verifier's series for GET /metrics (Prometheus text): queries by
  // resolver, answers by rcode, cached and coalesced lookups, checks due and
  // in flight.
  std::string metrics_text();
  // The API view (API.md "Custom domains").
  nlohmann::json view(const Domain& d) const;

  // Periodic work (about once a second): `active` once the agent runs the
  // generation carrying the certificate; claims of deleted workspaces become
  // reservations; ended reservations are purged.
  awaitable<void> tick();
  // certs::IssuedListener: deliver the new certificate version.
  void certificate_issued(const std::string& cert_id, const std::string& workspace_id) override;
  // scheduler::AssignmentExtras: routed hostnames, and the certificate refs of
  // the workspace except those of unrouted domains (assignment_extras below).
  void add_to_assignment(storage::Conn& c, const std::string& workspace_id,
                         std::vector<std::string>& hostnames,
                         nlohmann::json& certificates) override;

  // When the scheduler serves an assignment: adds the routed hostnames of
  // the workspace's domains, and lists the certificates of its unrouted
  // domains (not verified yet, or moved past the grace period), which the
  // assignment must not carry.
  static Status assignment_extras(storage::Conn& c, const std::string& workspace_id,
                                  std::vector<std::string>& hostnames,
                                  std::vector<std::string>& withheld_cert_ids);

  // (hostname, workspace id) of every `active` domain, for the live checks.
  // The custom domains a workspace holds (claimed, not deleted): what its
  // plan's max_custom_domains counts.
  static Result<std::int64_t> in_use(storage::Conn& c, const std::string& workspace_id);
  static Result<std::vector<std::pair<std::string, std::string>>> active_hostnames(
      storage::Conn& c);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fc::domains

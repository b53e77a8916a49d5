// certs::Service internals shared by service.cpp (store, API side) and
// issue.cpp (the job handler that runs orders).
#pragma once
#include <array>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "certs/acme.hpp"
#include "certs/detail/retry_policy.hpp"
#include "certs/detail/store.hpp"
#include "certs/pki.hpp"
#include "certs/service.hpp"
#include "common/ids.hpp"
#include "dns/server.hpp"
#include "storage/db.hpp"
#include "storage/jobs.hpp"

namespace fc::certs {

inline constexpr const char* kOrderJob = "cert.order";

struct IssuerConfig {
  std::string type;  // acme | internal
  std::string name;  // "acme:<directory>" | "internal"
  AcmeConfig acme;
  detail::BudgetLimits budgets;
  std::int64_t validity_s = 90LL * 24 * 3600;  // internal issuer: leaf lifetime
};

Result<std::vector<IssuerConfig>> parse_issuers(const nlohmann::json& list);

// What a new order is placed with: the names, and for a renewal at the CA
// that issued the current version its ARI id as `replaces` (RFC 9773 §5);
// `ari_renewal` when that CA's suggested window has started (budget-exempt).
struct OrderInputs {
  OrderState state;
  bool ari_renewal = false;
};
OrderInputs order_inputs(const detail::CertRow& row, const std::string& issuer_name,
                         std::int64_t now);

// A renewalInfo answer applied to the row: a window → renew_after inside it
// (plan_renewal), the window stored, next request after Retry-After (1-24 h);
// no renewalInfo at this CA → no more requests; a failed request → again in
// 1 h, renew_after unchanged. `u` is the jitter draw in [0, 1).
void apply_ari_answer(detail::CertRow& row, const CertInfo& cert,
                      const Result<std::optional<RenewalInfo>>& answer, std::int64_t now, double u);

// A zone whose primary takes RFC 2136 updates (dns.providers[], parsed by
// dns::parse_rfc2136_targets; updates go through dns::update).
using Rfc2136Zone = dns::Rfc2136Target;
// The zone whose primary gets the TXT for `owner`: the longest provider zone
// containing it; nullptr for names in the platform zone (embedded server).
const Rfc2136Zone* match_rfc2136_zone(const std::vector<Rfc2136Zone>& zones,
                                      const std::string& platform_zone, const std::string& owner);

// One authoritative server of an external zone, asked directly for the DNS-01
// TXT before the CA validates (dns01_propagation.cpp): `label` names it in
// errors ("ns2.customer.test (192.0.2.2:53)"), `addr` is host:port.
struct AuthServer {
  std::string label;
  std::string addr;
};
// The zone's nameservers as configured, else its NS set from the primary
// with each host's addresses (primary's answer, else the system resolver).
awaitable<Result<std::vector<AuthServer>>> authoritative_servers(asio::io_context& io,
                                                                 Rfc2136Zone z);

struct Service::Impl {
  asio::io_context& io;
  storage::Database& db;
  const Clock& clock;
  ServiceOptions o;
  std::array<std::uint8_t, 32> kek{};
  std::vector<IssuerConfig> issuers;
  std::vector<Rfc2136Zone> rfc2136;
  std::optional<InternalCa> internal_ca;
  std::map<std::int64_t, std::unique_ptr<AcmeClient>> clients;
  std::set<std::string> in_flight;
  std::set<std::string> kicked;  // renew_now while its job ran
  // Jobs that found every order slot taken, oldest certificate id first.
  std::set<std::string> slot_waiters_renewal, slot_waiters_new;
  storage::JobRunner* jobs = nullptr;
  dns::ZoneNotifier* zone = nullptr;  // set_zone(); the two below call it
  std::function<void()> dns_changed;
  std::function<awaitable<void>()> dns_settled;
  std::vector<IssuedListener*> issued;
  IdGenerator ids;
  std::mt19937_64 rng{std::random_device{}()};

  std::shared_ptr<bool> alive = std::make_shared<bool>(true);  // false once destroyed

  Impl(asio::io_context& i, storage::Database& d, const Clock& c, ServiceOptions opt)
      : io(i), db(d), clock(c), o(std::move(opt)) {}
  ~Impl() { *alive = false; }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Result<std::string> seal_text(std::string_view plain);
  Result<std::string> open_text(const std::string& sealed_b64);
  Status load_kek();
  Status load_internal_ca();
  Status enqueue_now(storage::Conn& c, const std::string& id, std::int64_t run_at);
  // Order slots (max_orders_in_flight): a job that finds none waits; a slot
  // that frees wakes the oldest waiting renewal, else the oldest new order.
  storage::JobOutcome wait_for_slot(const std::string& id, bool renewal);
  void take_slot(const std::string& id);
  void release_slot(const std::string& id);
  awaitable<void> wake_job(std::string id);

  // issue.cpp
  awaitable<storage::JobOutcome> run_job(storage::Job j);
  awaitable<storage::JobOutcome> run_order(detail::CertRow row);
  awaitable<storage::JobOutcome> run_acme(detail::CertRow row, std::int64_t idx);
  awaitable<storage::JobOutcome> step_failed(detail::CertRow row, const AcmeClient& cl, Error e);
  awaitable<storage::JobOutcome> order_done(detail::CertRow row, OrderState st, std::int64_t idx);
  awaitable<storage::JobOutcome> store_issued(detail::CertRow row, std::string chain,
                                              std::string key, const std::string& issuer);
  // `soft`: an invalid order whose validation the CA could not reach or
  // resolve (order_done): the order is over, the certificate stays pending.
  awaitable<storage::JobOutcome> record_failure(detail::CertRow row, const Error& e,
                                                detail::ErrorClass cls,
                                                std::optional<std::int64_t> retry_after_s,
                                                bool soft = false);
  awaitable<Result<AcmeClient*>> client(std::int64_t idx);
  Result<OrderState> load_order(const detail::CertRow& row);
  awaitable<Status> persist_step(detail::CertRow& row, const OrderState& st,
                                 const std::string& prev_url, std::int64_t idx);
  std::optional<storage::JobOutcome> not_due(detail::CertRow& row, std::int64_t now);

  // renewal_job.cpp
  std::optional<std::int64_t> issuer_by_name(const std::string& name) const;
  awaitable<void> check_ari(detail::CertRow& row, std::int64_t now);
  awaitable<std::optional<storage::JobOutcome>> reserve_order(detail::CertRow& row,
                                                              std::int64_t idx, std::int64_t now);
  awaitable<void> order_invalid(const detail::CertRow& row, std::int64_t idx);

  // dns01_rfc2136.cpp: the external zone for a challenge owner name (nullptr:
  // the platform zone or no provider), and one TXT add/delete there.
  const Rfc2136Zone* rfc2136_zone_for(const std::string& owner) const;
  awaitable<Status> rfc2136_txt(const Rfc2136Zone& z, std::string owner, std::string value,
                                bool add);
  awaitable<void> sweep_external_txt();
  // dns01_propagation.cpp: returns once every authoritative server of `z`
  // serves TXT `value` at `owner`; after z.propagation_timeout an error that
  // names each lagging server and what it answered.
  awaitable<Status> wait_propagated(const Rfc2136Zone& z, std::string owner, std::string value);
  // certificate.expiring (docs/events.md), checked once a minute.
  awaitable<void> announce_expiring();
  std::int64_t expiring_checked_at = 0;
  std::int64_t next_txt_sweep = 0;
};

}  // namespace fc::certs

// certs::Service internals shared by service.cpp (store, API side) and
// issue.cpp (the job handler that runs orders).
#pragma once
#include <array>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "certs/acme.hpp"
#include "certs/detail/store.hpp"
#include "certs/pki.hpp"
#include "certs/service.hpp"
#include "common/ids.hpp"
#include "storage/db.hpp"
#include "storage/jobs.hpp"

namespace fc::certs {

inline constexpr const char* kOrderJob = "cert.order";

struct IssuerConfig {
  std::string type;  // acme | internal
  std::string name;  // "acme:<directory>" | "internal"
  AcmeConfig acme;
  detail::BudgetLimits budgets;
};

Result<std::vector<IssuerConfig>> parse_issuers(const nlohmann::json& list);

struct Service::Impl {
  asio::io_context& io;
  storage::Database& db;
  const Clock& clock;
  ServiceOptions o;
  std::array<std::uint8_t, 32> kek{};
  std::vector<IssuerConfig> issuers;
  std::optional<InternalCa> internal_ca;
  std::map<std::int64_t, std::unique_ptr<AcmeClient>> clients;
  std::set<std::string> in_flight;
  std::set<std::string> kicked;  // renew_now while its job ran
  // Jobs that found every order slot taken, oldest certificate id first.
  std::set<std::string> slot_waiters_renewal, slot_waiters_new;
  storage::JobRunner* jobs = nullptr;
  std::function<void()> dns_changed;
  std::function<awaitable<void>()> dns_settled;
  std::vector<std::function<void(const std::string&, const std::string&)>> issued;
  IdGenerator ids;
  std::mt19937_64 rng{std::random_device{}()};

  Impl(asio::io_context& i, storage::Database& d, const Clock& c, ServiceOptions opt)
      : io(i), db(d), clock(c), o(std::move(opt)) {}

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
  awaitable<storage::JobOutcome> store_issued(detail::CertRow row, std::string chain, std::string key,
                                              const std::string& issuer);
  awaitable<storage::JobOutcome> record_failure(detail::CertRow row, const Error& e, bool drop_order,
                                                std::optional<std::int64_t> retry_after_s);
  awaitable<Result<AcmeClient*>> client(std::int64_t idx);
  Result<OrderState> load_order(const detail::CertRow& row);
  awaitable<Status> persist_step(detail::CertRow& row, const OrderState& st, const std::string& prev_url,
                                 std::int64_t idx);
  std::optional<storage::JobOutcome> not_due(detail::CertRow& row, std::int64_t now);
};

}  // namespace fc::certs

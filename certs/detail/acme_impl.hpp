// The inside of AcmeClient, shared by acme_client.cpp (transport, account,
// revocation, ARI) and acme_order.cpp (the order steps).
#pragma once
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <set>

#include "certs/acme.hpp"
#include "certs/detail/acme_wire.hpp"
#include "certs/detail/https.hpp"
#include "certs/detail/jws.hpp"

namespace fc::certs {

std::shared_ptr<spdlog::logger> certs_logger();

struct AcmeClient::Impl {
  Impl(AcmeConfig c, const Clock& clk, std::unique_ptr<detail::HttpsClient> h, detail::EcKey k)
      : cfg(std::move(c)),
        clock(&clk),
        http(std::move(h)),
        key(std::move(k)),
        kid(cfg.account_url) {}

  AcmeConfig cfg;
  const Clock* clock;
  std::unique_ptr<detail::HttpsClient> http;
  detail::EcKey key;
  std::string kid;  // account URL once known
  std::optional<detail::Directory> dir;
  std::vector<std::string> nonces;
  std::optional<Problem> last_problem;
  int bad_nonce_retries = 0;
  // authz URLs whose answer this process has presented; after a restart a
  // responded challenge is presented again (solvers may keep it in memory).
  std::set<std::string> presented_here;

  // transport (acme_client.cpp)
  awaitable<Result<detail::Directory>> directory();
  awaitable<Result<std::string>> take_nonce();
  void keep_nonce(const detail::HttpResponse& r);
  Error fail(const detail::HttpResponse& r);
  // RFC 8555 §6.2: signed POST; badNonce retried with the fresh nonce (§6.5).
  awaitable<Result<detail::HttpResponse>> post(std::string url,
                                               std::optional<nlohmann::json> payload, bool with_jwk,
                                               std::string accept = {});
  awaitable<Result<detail::HttpResponse>> post_as_get(std::string url, std::string accept = {});
  awaitable<Result<AccountResult>> account(bool only_return_existing);
  awaitable<Status> ensure_account();
  // Sets st.polls and st.retry_after_ms after a response that may leave the
  // order waiting: no wait once it is ready/valid/invalid, else the schedule.
  void schedule_poll(OrderState& st, OrderStatus prev_status, const detail::HttpResponse& r) const;
  Result<OrderState> take_order(OrderState st, const detail::HttpResponse& r) const;

  // order steps (acme_order.cpp)
  awaitable<Result<OrderState>> advance(OrderState st, std::vector<Solver*> solvers);
  awaitable<Result<OrderState>> new_order(OrderState st);
  awaitable<Result<OrderState>> refresh_order(OrderState st);
  awaitable<Result<OrderState>> authorize(OrderState st, std::vector<Solver*> solvers);
  awaitable<Result<OrderState>> respond(OrderState st, detail::Authorization authz,
                                        std::string authz_url, std::vector<Solver*> solvers);
  awaitable<Result<OrderState>> finalize(OrderState st);
  awaitable<Result<OrderState>> download(OrderState st, std::vector<Solver*> solvers);
  awaitable<Result<OrderState>> diagnose_invalid(OrderState st, std::vector<Solver*> solvers);
  awaitable<Status> present_again(ChallengeRecord rec, std::vector<Solver*> solvers);
  awaitable<void> cleanup_all(OrderState& st, std::vector<Solver*> solvers);
};

}  // namespace fc::certs

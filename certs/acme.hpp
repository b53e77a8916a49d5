// fc::certs::AcmeClient — RFC 8555 ACME with ES256 account keys, EAB, nonce
// pool with transparent badNonce retry, HTTP-01/DNS-01 through solvers,
// Retry-After, alternate chains, revocation and ARI (RFC 9773).
//
// Orders are resumable: step() takes a persisted OrderState and advances it by
// one idempotent step (cert-manager's acmeorders sync). Persist the returned
// state before calling step() again; a restarted daemon resumes the same order.
// See docs/certs.md for the state machine.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <optional>  // common/asio.hpp uses std::optional without including it
#include "certs/pki.hpp"

#include "common/asio.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace fc::certs {

// Answers challenges. HTTP-01 serves key_authorization at
// /.well-known/acme-challenge/<token>; DNS-01 publishes TXT
// dns01_txt_value(key_authorization) at _acme-challenge.<domain>.
class Solver {
 public:
  virtual ~Solver() = default;
  virtual std::string type() const = 0;  // "http-01" or "dns-01"
  virtual awaitable<Status> present(std::string domain, std::string token,
                                    std::string key_authorization) = 0;
  virtual awaitable<Status> cleanup(std::string domain, std::string token,
                                    std::string key_authorization) = 0;
};

// RFC 8555 §8.4: base64url(SHA-256(key authorization)).
std::string dns01_txt_value(std::string_view key_authorization);

struct ExternalAccountBinding {
  std::string kid;
  std::string hmac_key_b64url;  // as CAs hand it out
};

struct AcmeConfig {
  std::string directory_url;
  std::string ca_bundle;             // extra trust anchors for the CA's HTTPS
  std::string account_key_pem;       // ES256 (P-256); required
  std::string account_url;           // known account (kid); else looked up/created
  std::vector<std::string> contact;  // "mailto:…"
  bool terms_of_service_agreed = true;
  std::optional<ExternalAccountBinding> eab;
  std::string preferred_chain_issuer_cn;  // pick the chain whose top issuer CN matches
  KeyType certificate_key_type = KeyType::kEcdsaP256;
  int max_bad_nonce_retries = 10;
  std::chrono::milliseconds request_timeout{15000};
  std::size_t body_limit = 1 << 20;
  // While an authorization or the order stays pending/processing: wait
  // first_poll, then twice as long each time, up to max_poll; never sooner
  // than the CA's Retry-After (detail::poll_delay_ms).
  std::chrono::milliseconds first_poll{50};
  std::chrono::milliseconds max_poll{60000};
};

// How run_order waits between steps; tests inject one that does not sleep.
using Sleeper = std::function<awaitable<void>(std::chrono::milliseconds)>;
Sleeper timer_sleeper();

struct AccountResult {
  std::string url;
  std::string status;
  bool created = false;
};

class AcmeClient {
 public:
  static Result<std::unique_ptr<AcmeClient>> create(AcmeConfig config, const Clock& clock);
  ~AcmeClient();
  AcmeClient(const AcmeClient&) = delete;
  AcmeClient& operator=(const AcmeClient&) = delete;

  // RFC 8555 §7.3: create (or find) the account of the configured key. With
  // only_return_existing, an unknown key fails with accountDoesNotExist.
  awaitable<Result<AccountResult>> account(bool only_return_existing);
  // One idempotent step; see docs/certs.md. Solvers in order of preference.
  awaitable<Result<OrderState>> step(OrderState st, std::vector<Solver*> solvers);
  // step() until finished or `max_steps`, waiting retry_after_ms in between.
  // `persist` (may be empty) sees every intermediate state.
  awaitable<Result<OrderState>> run_order(OrderState st, std::vector<Solver*> solvers,
                                          Sleeper sleep, int max_steps,
                                          std::function<void(const OrderState&)> persist = {});
  // RFC 8555 §7.6, signed with the account key.
  awaitable<Status> revoke(std::string certificate_pem, std::optional<int> reason);
  // RFC 9773: nullopt when the directory has no renewalInfo.
  awaitable<Result<std::optional<RenewalInfo>>> renewal_info(std::string certificate_pem);

  // The problem document of the most recent failed request, if any.
  const std::optional<Problem>& last_problem() const;
  int bad_nonce_retries() const;
  const std::string& account_url() const;

 private:
  struct Impl;
  explicit AcmeClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fc::certs

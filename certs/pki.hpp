// fc::certs — keys, CSRs, certificate facts, sealing at rest, the internal CA,
// renewal timing and the ACME order state. Plain values and pure functions:
// no Asio, SQLite or OpenSSL types (STYLE.md "Layout"). See docs/certs.md.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "certs/detail/errc.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace fc::certs {

enum class KeyType { kEcdsaP256, kRsa2048 };

// ---- base64url (RFC 4648 §5, no padding; RFC 7515 §2) ----
std::string base64url_encode(std::span<const std::uint8_t> data);
std::string base64url_encode(std::string_view data);
// Strict: rejects padding, whitespace, characters outside the alphabet and a
// trailing group of one character or with non-zero unused bits.
Result<std::vector<std::uint8_t>> base64url_decode(std::string_view text);

// ---- keys and CSRs ----
Result<std::string> generate_key_pem(KeyType type);  // PKCS#8 PEM
// CSR (RFC 2986) for `dns_names` (the first is also the subject CN), signed by
// the key, DER-encoded. ACME wants base64url of this (RFC 8555 §7.4).
Result<std::vector<std::uint8_t>> make_csr_der(std::string_view key_pem,
                                               const std::vector<std::string>& dns_names);

// ---- certificates ----
struct CertInfo {
  SysTime not_before{};
  SysTime not_after{};
  std::vector<std::string> dns_names;  // subjectAltName dNSName entries
  std::string subject_cn;
  std::string issuer_cn;
  std::string serial_hex;  // upper-case hex, no separators
  std::string ari_id;      // RFC 9773 §4.1; empty when there is no AKI
};
// Splits a PEM bundle into one PEM block per certificate (order kept).
Result<std::vector<std::string>> split_pem_chain(std::string_view pem);
// Facts about the first certificate of a chain (the leaf).
Result<CertInfo> parse_leaf(std::string_view chain_pem);
// issuer CN of the last certificate of the chain ("topmost"), used to pick a
// preferred chain the way certbot's --preferred-chain does.
Result<std::string> top_issuer_cn(std::string_view chain_pem);

// ---- sealing private keys at rest: AES-256-GCM ----
// Output: nonce(12) ‖ ciphertext ‖ tag(16). `key32` must be 32 bytes.
Result<std::string> seal(std::span<const std::uint8_t> key32, std::string_view plaintext);
// Same with a caller-chosen 12-byte nonce (tests, known-answer vectors).
Result<std::string> seal_with_nonce(std::span<const std::uint8_t> key32,
                                    std::span<const std::uint8_t> nonce12,
                                    std::string_view plaintext);
// Fails (kCrypto) on a wrong key, a truncated or tampered box.
Result<std::string> open(std::span<const std::uint8_t> key32, std::string_view sealed);

// ---- internal CA (issuer type "internal") ----
struct InternalCa {
  std::string root_cert_pem;
  std::string root_key_pem;  // the store seals this at rest
};
// A new root: ECDSA P-256, valid from now-1h for 10 years, CA:TRUE.
Result<InternalCa> create_internal_ca(SysTime now, std::string_view common_name);
// A leaf (serverAuth, SANs from the CSR; 90 days unless `validity` says
// otherwise, backdated by min(1 h, validity/10)) for a DER CSR whose
// signature verifies. Returns the chain PEM, leaf first, then the root.
inline constexpr std::chrono::seconds kInternalLeafValidity{90LL * 24 * 3600};
Result<std::string> issue_from_csr(const InternalCa& ca, std::span<const std::uint8_t> csr_der,
                                   SysTime now,
                                   std::chrono::seconds validity = kInternalLeafValidity);
struct IssuedCert {
  std::string chain_pem;
  std::string key_pem;
};
Result<IssuedCert> issue_with_new_key(const InternalCa& ca, const std::vector<std::string>& names,
                                      SysTime now, KeyType type,
                                      std::chrono::seconds validity = kInternalLeafValidity);

// ---- renewal timing (pure; time is a parameter) ----
// RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial DER content).
std::string ari_cert_id(std::span<const std::uint8_t> aki_key_id,
                        std::span<const std::uint8_t> serial_der);
// The instant `ratio` of the way through the lifetime (default 2/3).
SysTime renewal_time_by_ratio(SysTime not_before, SysTime not_after, double ratio = 2.0 / 3.0);
bool in_renewal_window(SysTime not_before, SysTime not_after, SysTime now,
                       double ratio = 2.0 / 3.0);
// RFC 9773 §4.2: a time uniformly inside [start, end); `u` in [0, 1) is the
// caller's random draw. An inverted window collapses to `start`.
SysTime pick_in_window(SysTime start, SysTime end, double u);
struct RenewalInfo {
  SysTime window_start{};
  SysTime window_end{};
  std::string explanation_url;
  std::optional<std::int64_t> retry_after_s;  // when to ask again
};
// When to renew: inside the ARI window when there is one (a window already
// over means now), else at `ratio` of the lifetime. `u` as in pick_in_window.
SysTime choose_renewal_time(const CertInfo& cert, const std::optional<RenewalInfo>& ari,
                            SysTime now, double u, double ratio = 2.0 / 3.0);
// The daemon's renewal decision after each renewalInfo answer (or none).
// With a window: keep `current` when it is still ahead and inside the window
// (no churn on every poll), else a uniform time inside it (RFC 9773 §4.2),
// never before `now`. Without one: keep `current`, else `ratio` of the
// lifetime minus up to 5 % of the lifetime (jitter `u`, so renewals of
// certificates issued together do not storm).
SysTime plan_renewal(const CertInfo& cert, const std::optional<RenewalInfo>& ari,
                     std::optional<SysTime> current, SysTime now, double u,
                     double ratio = 2.0 / 3.0);
// When to ask for renewalInfo again (RFC 9773 §4.3): the CA's Retry-After
// bounded to [1 h, 24 h], 6 h when it sent none; after a failed request 1 h.
std::chrono::seconds ari_poll_interval(std::optional<std::int64_t> retry_after_s, bool failed);

// ---- ACME problem documents (RFC 8555 §6.7, RFC 9457) ----
struct Subproblem {
  std::string type;
  std::string detail;
  std::string identifier;  // the DNS name it is about
};
struct Problem {
  std::string type;  // e.g. urn:ietf:params:acme:error:rateLimited
  std::string detail;
  int status = 0;  // HTTP status it came with
  std::vector<Subproblem> subproblems;
  std::optional<std::int64_t> retry_after_s;
  // Worth retrying later (rate limit, server trouble, bad nonce); the rest
  // are terminal for the order, as in cert-manager's acmeorders sync.
  bool retryable() const;
  // The CA no longer knows the resource asked for (404 other than
  // accountDoesNotExist, e.g. an order a restarted CA forgot): resuming its
  // URL can never succeed, a new one must be created.
  bool resource_gone() const;
};
// Maps a problem to one of the Errc::kCa* codes; `detail` keeps type, status, detail,
// subproblems and retry_after so that nothing the CA said is lost.
Error problem_error(const Problem& p);

// ---- the persisted ACME order (resumable, one idempotent step at a time) ----
// RFC 8555 §7.1.6 order status; kNone before newOrder. Text only at the wire
// and storage boundary: parse gives nullopt for anything else, and
// parse_order_status(order_status_name(s)) == s.
enum class OrderStatus { kNone, kPending, kReady, kProcessing, kValid, kInvalid };
std::optional<OrderStatus> parse_order_status(std::string_view text);
std::string_view order_status_name(OrderStatus s);  // kNone → ""
struct ChallengeRecord {
  std::string authz_url;
  std::string domain;
  std::string type;  // http-01 | dns-01
  std::string url;
  std::string token;
  std::string key_authorization;
  bool responded = false;
};
struct OrderState {
  // inputs
  std::vector<std::string> identifiers;  // DNS names
  std::string replaces;                  // ARI id of the certificate this renews
  // progress, written by AcmeClient::step
  std::string account_url;
  OrderStatus status = OrderStatus::kNone;
  std::string order_url;
  std::string finalize_url;
  std::string certificate_url;
  std::vector<std::string> authorization_urls;
  std::vector<ChallengeRecord> challenges;
  std::string key_pem;              // certificate key, generated before finalize
  std::string certificate_pem;      // chosen chain, leaf first
  std::optional<Problem> error;     // why the order became invalid
  std::int64_t retry_after_ms = 0;  // how long to wait before the next step
  int steps = 0;
  int polls = 0;  // consecutive steps that left the order pending/processing (poll schedule)

  bool finished() const;  // valid with a certificate, or invalid
};
std::string serialize_order_state(const OrderState& st);
Result<OrderState> parse_order_state(std::string_view json);

}  // namespace fc::certs

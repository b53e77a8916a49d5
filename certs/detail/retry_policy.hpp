// What the order job does after a failed attempt (docs/certs.md "Failures and
// backoff"): one pure function of the attempt count, the error's class, the
// CA's Retry-After, the time and the issuer list; no I/O, clock or randomness
// (the jitter draw is an input). Table-tested in retry_policy_test.cpp.
#pragma once
#include <cstdint>
#include <optional>

#include "common/result.hpp"

namespace fc::certs::detail {

// cert-manager's acmeorders split: an ACME 4xx (and any failure of our own
// with the order, e.g. a chain we cannot parse) is terminal for the order, so
// it is dropped and the next attempt places a new one; server trouble, rate
// limits, time-outs and I/O keep the order to resume it.
enum class ErrorClass { kRetryable, kTerminal };

// A failed step of the ACME client: `resource_gone` is Problem::resource_gone()
// of its last problem (an order the CA forgot cannot be resumed).
ErrorClass classify_acme_error(Code code, bool resource_gone);

enum class RetryAction {
  kResume,    // retry the same order at `at_ms`
  kNewOrder,  // drop the order; a new one at `at_ms`
  kFallBack,  // drop the order; the next issuer takes over at once
};

struct RetryInput {
  std::int64_t failures = 1;         // failed attempts in a row, this one included (>= 1)
  std::int64_t issuer_failures = 1;  // of those, with the current issuer
  ErrorClass error = ErrorClass::kRetryable;
  std::optional<std::int64_t> retry_after_s;  // the CA's Retry-After, if any
  std::int64_t now_ms = 0;
  std::int64_t issuer_index = 0;  // the issuer that failed
  std::int64_t issuer_count = 1;
  std::int64_t failures_before_fallback = 3;
  double jitter_u = 0.5;  // the caller's uniform draw in [0, 1)
};

struct RetryDecision {
  RetryAction action = RetryAction::kResume;
  std::int64_t delay_ms = 0;
  std::int64_t at_ms = 0;         // now_ms + delay_ms
  std::int64_t issuer_index = 0;  // the issuer of the next attempt
};

// Backoff 1 s·2^(failures−1), capped at 1 h, times 0.9 + 0.2·jitter_u (±10 %),
// never sooner than Retry-After (RFC 8555 §6.6, RFC 9110 §10.2.3). After
// `failures_before_fallback` failures in a row with one issuer, the next one
// in the list (if any) takes over with no delay.
RetryDecision decide_retry(const RetryInput& in);

}  // namespace fc::certs::detail

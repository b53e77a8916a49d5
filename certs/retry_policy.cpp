// The retry policy of the order job (certs/detail/retry_policy.hpp).
#include "certs/detail/retry_policy.hpp"

#include <algorithm>
#include <cmath>

namespace fc::certs::detail {

namespace {

constexpr double kFirstDelayMs = 1000.0;
constexpr double kMaxDelayMs = 3600.0 * 1000.0;
constexpr std::int64_t kMaxDoublings = 30;

}  // namespace

ErrorClass classify_acme_error(Code code, bool resource_gone) {
  switch (code) {
    case Code::kNotFound:  // an order the CA forgot: place a new one
      return resource_gone ? ErrorClass::kTerminal : ErrorClass::kRetryable;
    case Code::kUnavailable:
    case Code::kTimeout:
    case Code::kRateLimited:
    case Code::kIo: return ErrorClass::kRetryable;
    default: return ErrorClass::kTerminal;
  }
}

RetryDecision decide_retry(const RetryInput& in) {
  RetryDecision d;
  d.issuer_index = in.issuer_index;
  if (in.issuer_failures >= in.failures_before_fallback && in.issuer_index + 1 < in.issuer_count) {
    d.action = RetryAction::kFallBack;
    d.issuer_index = in.issuer_index + 1;
    d.at_ms = in.now_ms;
    return d;
  }
  d.action = in.error == ErrorClass::kTerminal ? RetryAction::kNewOrder : RetryAction::kResume;
  const auto doublings = std::clamp<std::int64_t>(in.failures - 1, 0, kMaxDoublings);
  double delay =
      std::min(kMaxDelayMs, kFirstDelayMs * std::pow(2.0, static_cast<double>(doublings)));
  delay *= 0.9 + 0.2 * std::clamp(in.jitter_u, 0.0, 1.0);
  if (in.retry_after_s) delay = std::max(delay, static_cast<double>(*in.retry_after_s) * 1000.0);
  d.delay_ms = static_cast<std::int64_t>(delay);
  d.at_ms = in.now_ms + d.delay_ms;
  return d;
}

}  // namespace fc::certs::detail

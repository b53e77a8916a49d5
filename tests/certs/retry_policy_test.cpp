// The order job's retry policy (certs/retry_policy.cpp), table-driven like
// Kubernetes' least_allocated_test.go: one row per situation.
#include "certs/detail/retry_policy.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>
#include "certs/test_util.hpp"

using namespace fc::certs::detail;
using fc::Code;

namespace {

using fc::certs::test::kNow;

}  // namespace

TEST_SUITE("certs") {
  TEST_CASE("retry policy: classify ACME errors as cert-manager does") {
    struct Row {
      Code code;
      bool gone;
      ErrorClass want;
    };
    const std::vector<Row> table{
        {Code::kUnavailable, false, ErrorClass::kRetryable},  // 5xx, badNonce, connect
        {Code::kTimeout, false, ErrorClass::kRetryable},
        {Code::kRateLimited, false, ErrorClass::kRetryable},
        {Code::kIo, false, ErrorClass::kRetryable},
        {Code::kNotFound, false, ErrorClass::kRetryable},        // accountDoesNotExist: re-register
        {Code::kNotFound, true, ErrorClass::kTerminal},          // an order the CA forgot
        {Code::kInvalidArgument, false, ErrorClass::kTerminal},  // other ACME 4xx
        {Code::kForbidden, false, ErrorClass::kTerminal},
        {Code::kConflict, false, ErrorClass::kTerminal},
        {Code::kParse, false, ErrorClass::kTerminal},
        {Code::kCrypto, false, ErrorClass::kTerminal},
    };
    for (const auto& r : table) {
      CAPTURE(fc::code_name(r.code));
      CAPTURE(r.gone);
      CHECK(classify_acme_error(r.code, r.gone) == r.want);
    }
  }

  TEST_CASE("retry policy: backoff, jitter, Retry-After, fallback") {
    struct Row {
      std::string what;
      RetryInput in;
      RetryAction action;
      std::int64_t delay_ms;
      std::int64_t issuer;
    };
    const auto retryable = ErrorClass::kRetryable;
    const auto terminal = ErrorClass::kTerminal;
    // RetryInput: failures, issuer_failures, class, retry_after_s, now, issuer, count, fallback, u
    const std::vector<Row> table{
        {"first failure: 1 s",
         {1, 1, retryable, {}, kNow, 0, 1, 3, 0.5},
         RetryAction::kResume,
         1000,
         0},
        {"doubles", {2, 2, retryable, {}, kNow, 0, 1, 3, 0.5}, RetryAction::kResume, 2000, 0},
        {"fifth: 16 s", {5, 5, retryable, {}, kNow, 0, 1, 3, 0.5}, RetryAction::kResume, 16000, 0},
        {"capped at 1 h",
         {13, 13, retryable, {}, kNow, 0, 1, 3, 0.5},
         RetryAction::kResume,
         3600000,
         0},
        {"huge count stays capped",
         {1000, 9, retryable, {}, kNow, 0, 1, 3, 0.5},
         RetryAction::kResume,
         3600000,
         0},
        {"jitter low end -10 %",
         {3, 3, retryable, {}, kNow, 0, 1, 3, 0.0},
         RetryAction::kResume,
         3600,
         0},
        {"jitter high end +10 %",
         {3, 3, retryable, {}, kNow, 0, 1, 3, 1.0},
         RetryAction::kResume,
         4400,
         0},
        {"Retry-After longer wins",
         {1, 1, retryable, 120, kNow, 0, 1, 3, 0.5},
         RetryAction::kResume,
         120000,
         0},
        {"Retry-After shorter loses",
         {5, 2, retryable, 1, kNow, 0, 2, 3, 0.5},
         RetryAction::kResume,
         16000,
         0},
        {"Retry-After beyond the cap honoured",
         {1, 1, retryable, 7200, kNow, 0, 1, 3, 0.5},
         RetryAction::kResume,
         7200000,
         0},
        {"terminal: new order after backoff",
         {2, 2, terminal, {}, kNow, 0, 2, 3, 0.5},
         RetryAction::kNewOrder,
         2000,
         0},
        {"third failure with issuer 0 of 2: fall back now",
         {3, 3, retryable, 600, kNow, 0, 2, 3, 0.5},
         RetryAction::kFallBack,
         0,
         1},
        {"terminal also falls back",
         {3, 3, terminal, {}, kNow, 0, 3, 3, 0.5},
         RetryAction::kFallBack,
         0,
         1},
        {"second issuer counts its own failures",
         {5, 2, retryable, {}, kNow, 1, 3, 3, 0.5},
         RetryAction::kResume,
         16000,
         1},
        {"last issuer never falls back",
         {4, 4, retryable, {}, kNow, 1, 2, 3, 0.5},
         RetryAction::kResume,
         8000,
         1},
        {"fallback after 1 when configured",
         {1, 1, terminal, {}, kNow, 0, 2, 1, 0.5},
         RetryAction::kFallBack,
         0,
         1},
    };
    for (const auto& r : table) {
      CAPTURE(r.what);
      const RetryDecision d = decide_retry(r.in);
      CHECK(d.action == r.action);
      CHECK(d.delay_ms == r.delay_ms);
      CHECK(d.at_ms == kNow + r.delay_ms);
      CHECK(d.issuer_index == r.issuer);
    }
  }
}

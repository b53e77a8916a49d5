// certs' own error codes (common/result.hpp "ErrorDomain"): what the CA
// answered (an RFC 8555 §6.7 problem, sorted by how to react to it) and the
// few failures that only certificates have. The API maps them to HTTP in
// api/detail/problem.cpp.
#pragma once
#include <cstddef>
#include <iterator>

#include "common/result.hpp"

namespace fc::certs {

enum class Errc : std::uint8_t {
  kCaRateLimited = 1,  // rateLimited or 429
  kCaUnavailable,      // a retryable problem (badNonce, serverInternal, 5xx)
  kCaNotFound,         // the account or the order is unknown to the CA
  kCaForbidden,        // unauthorized, externalAccountRequired, 403
  kCaConflict,         // alreadyRevoked, 409
  kCaRejected,         // any other problem: the CA refuses this request
  kCaProtocol,         // the CA's answer breaks RFC 8555 (a missing header)
  kOrderInvalid,       // the order went invalid (a challenge failed)
  kSealBroken,         // a sealed key does not open: wrong key or tampered
};

inline constexpr ErrcEntry kErrcEntries[] = {
    {"ca_rate_limited", Code::kRateLimited}, {"ca_unavailable", Code::kUnavailable},
    {"ca_not_found", Code::kNotFound},       {"ca_forbidden", Code::kForbidden},
    {"ca_conflict", Code::kConflict},        {"ca_rejected", Code::kInvalidArgument},
    {"ca_protocol", Code::kUnavailable},     {"order_invalid", Code::kInvalidArgument},
    {"seal_broken", Code::kCrypto},
};
static_assert(std::size(kErrcEntries) == static_cast<std::size_t>(Errc::kSealBroken));
inline constexpr ErrorDomain kErrorDomain{"certs", kErrcEntries};
constexpr const ErrorDomain& error_domain(Errc) { return kErrorDomain; }

}  // namespace fc::certs

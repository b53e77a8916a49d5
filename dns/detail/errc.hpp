// dns's own error codes (common/result.hpp "ErrorDomain"): what a peer DNS
// server answered to our RFC 2136 updates. The API maps them to HTTP in
// api/detail/problem.cpp.
#pragma once
#include <cstddef>
#include <iterator>

#include "common/result.hpp"

namespace fc::dns {

enum class Errc : std::uint8_t {
  kNotAuth = 1,      // NOTAUTH, or the server rejected our TSIG (RFC 8945 §5.2)
  kBadResponseTsig,  // the answer's TSIG is missing, unexpected or does not verify
  kUpdateRejected,   // the server answered the update with another error rcode
};

inline constexpr ErrcEntry kErrcEntries[] = {
    {"not_auth", Code::kUnauthorized},
    {"bad_response_tsig", Code::kUnauthorized},
    {"update_rejected", Code::kUnavailable},
};
static_assert(std::size(kErrcEntries) == static_cast<std::size_t>(Errc::kUpdateRejected));
inline constexpr ErrorDomain kErrorDomain{"dns", kErrcEntries};
constexpr const ErrorDomain& error_domain(Errc) { return kErrorDomain; }

}  // namespace fc::dns

// Typed states at the certs storage/wire boundary: the status of an ACME
// authorization and challenge (RFC 8555 §7.1.6) and our stored certificate
// status. Each has a parse (text → enum, nullopt for anything else) and a
// name (enum → the text stored or sent); comparisons in code use the enum.
// The order status (OrderStatus) is public, beside OrderState in pki.hpp.
#pragma once
#include <optional>
#include <string_view>

#include "certs/pki.hpp"

namespace fc::certs::detail {

// RFC 8555 §7.1.6 authorization states.
enum class AuthzStatus { kPending, kValid, kInvalid, kDeactivated, kExpired, kRevoked };
std::optional<AuthzStatus> parse_authz_status(std::string_view text);
std::string_view authz_status_name(AuthzStatus s);

// RFC 8555 §7.1.6 challenge states.
enum class ChallengeStatus { kPending, kProcessing, kValid, kInvalid };
std::optional<ChallengeStatus> parse_challenge_status(std::string_view text);
std::string_view challenge_status_name(ChallengeStatus s);

// certificates.status (migration 0005), shown by the API as its name:
// pending (no version yet), valid, renewing (a valid version remains while a
// new one is ordered or retried), failed (no version, last attempt failed),
// expired.
enum class CertStatus { kPending, kValid, kRenewing, kFailed, kExpired };
std::optional<CertStatus> parse_cert_status(std::string_view text);
std::string_view cert_status_name(CertStatus s);

}  // namespace fc::certs::detail

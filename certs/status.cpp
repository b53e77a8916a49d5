// Names of the typed states (certs/detail/status.hpp, OrderStatus in
// pki.hpp): one table per enum, read both ways, so that parse(name(s)) == s.
#include "certs/detail/status.hpp"

#include <array>
#include <utility>

namespace fc::certs {

namespace {

template <class E, std::size_t N>
std::optional<E> parse_in(const std::array<std::pair<E, std::string_view>, N>& table,
                          std::string_view text) {
  for (const auto& [e, name] : table)
    if (name == text) return e;
  return std::nullopt;
}

template <class E, std::size_t N>
std::string_view name_in(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [x, name] : table)
    if (x == e) return name;
  return "unknown";  // unreachable: every enumerator is in its table (status_test.cpp)
}

// RFC 8555 §7.1.6; kNone (before newOrder) is stored as "".
constexpr std::array<std::pair<OrderStatus, std::string_view>, 6> kOrder{{
    {OrderStatus::kNone, ""},
    {OrderStatus::kPending, "pending"},
    {OrderStatus::kReady, "ready"},
    {OrderStatus::kProcessing, "processing"},
    {OrderStatus::kValid, "valid"},
    {OrderStatus::kInvalid, "invalid"},
}};

constexpr std::array<std::pair<detail::AuthzStatus, std::string_view>, 6> kAuthz{{
    {detail::AuthzStatus::kPending, "pending"},
    {detail::AuthzStatus::kValid, "valid"},
    {detail::AuthzStatus::kInvalid, "invalid"},
    {detail::AuthzStatus::kDeactivated, "deactivated"},
    {detail::AuthzStatus::kExpired, "expired"},
    {detail::AuthzStatus::kRevoked, "revoked"},
}};

constexpr std::array<std::pair<detail::ChallengeStatus, std::string_view>, 4> kChallenge{{
    {detail::ChallengeStatus::kPending, "pending"},
    {detail::ChallengeStatus::kProcessing, "processing"},
    {detail::ChallengeStatus::kValid, "valid"},
    {detail::ChallengeStatus::kInvalid, "invalid"},
}};

constexpr std::array<std::pair<detail::CertStatus, std::string_view>, 5> kCert{{
    {detail::CertStatus::kPending, "pending"},
    {detail::CertStatus::kValid, "valid"},
    {detail::CertStatus::kRenewing, "renewing"},
    {detail::CertStatus::kFailed, "failed"},
    {detail::CertStatus::kExpired, "expired"},
}};

}  // namespace

std::optional<OrderStatus> parse_order_status(std::string_view text) {
  return parse_in(kOrder, text);
}
std::string_view order_status_name(OrderStatus s) { return name_in(kOrder, s); }

namespace detail {

std::optional<AuthzStatus> parse_authz_status(std::string_view text) {
  return parse_in(kAuthz, text);
}
std::string_view authz_status_name(AuthzStatus s) { return name_in(kAuthz, s); }

std::optional<ChallengeStatus> parse_challenge_status(std::string_view text) {
  return parse_in(kChallenge, text);
}
std::string_view challenge_status_name(ChallengeStatus s) { return name_in(kChallenge, s); }

std::optional<CertStatus> parse_cert_status(std::string_view text) { return parse_in(kCert, text); }
std::string_view cert_status_name(CertStatus s) { return name_in(kCert, s); }

}  // namespace detail

}  // namespace fc::certs

// Parsers for what an ACME CA sends (RFC 8555 §7.1). Every field is untrusted:
// wrong types, missing members and junk give an Error, never a crash.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "certs/detail/status.hpp"
#include "certs/pki.hpp"

namespace fc::certs::detail {

struct Directory {
  std::string new_nonce, new_account, new_order, revoke_cert, key_change;
  std::string renewal_info;  // RFC 9773 §3; empty when the CA has no ARI
  std::string terms_of_service;
  bool external_account_required = false;
};

struct Challenge {
  std::string type, url, token;
  ChallengeStatus status = ChallengeStatus::kPending;
  std::optional<Problem> error;
};

struct Authorization {
  std::string identifier;  // DNS name
  AuthzStatus status = AuthzStatus::kPending;
  bool wildcard = false;
  std::vector<Challenge> challenges;
};

struct Order {
  OrderStatus status = OrderStatus::kPending;
  std::vector<std::string> identifiers;
  std::vector<std::string> authorizations;
  std::string finalize;
  std::string certificate;
  std::optional<Problem> error;
};

struct Link {
  std::string url;
  std::string rel;
};

Result<Directory> parse_directory(std::string_view body);
Result<Order> parse_order(std::string_view body);
Result<Authorization> parse_authorization(std::string_view body);
Result<Challenge> parse_challenge(std::string_view body);
// A problem document; a body that is not one still yields a Problem with the
// HTTP status and a generic type, so that callers always have something.
Problem parse_problem(std::string_view body, int http_status);
Result<RenewalInfo> parse_renewal_info(std::string_view body);
// Link header values (RFC 8288), possibly several per header line.
std::vector<Link> parse_links(const std::vector<std::string>& header_values);
// Retry-After (RFC 9110 §10.2.3): delay-seconds or an IMF-fixdate.
std::optional<std::int64_t> parse_retry_after(std::string_view value, SysTime now);
Result<SysTime> parse_rfc3339(std::string_view text);
// Polling an authorization or order that is still pending/processing.
struct PollSchedule {
  std::int64_t first_ms = 50;   // wait before the first poll (values < 1 count as 1)
  std::int64_t max_ms = 60000;  // cap on the schedule's own growth
};
// How long to wait before the n-th poll in a row of an unchanged status
// (n >= 1; smaller counts as 1): first_ms * 2^(n-1) capped by max_ms, and never
// sooner than the CA's Retry-After when it sent a valid one (RFC 8555 §7.5.1
// and §7.4: "Retry-After" tells the client when to poll again). A Retry-After
// beyond max_ms is honoured too (parse_retry_after caps it at 7 days).
std::int64_t poll_delay_ms(std::string_view retry_after, SysTime now, int n, PollSchedule s);

// RFC 8555 §6.7 error types.
inline constexpr std::string_view kErrPrefix = "urn:ietf:params:acme:error:";
bool is_problem_type(std::string_view type, std::string_view short_type);
bool is_problem_type(const Problem& p, std::string_view short_type);

}  // namespace fc::certs::detail

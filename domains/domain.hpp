// The pure core of custom domains (docs/domains.md): hostname normalisation
// (UTS #46 / IDNA2008 through libidn2), CAA evaluation (RFC 8659), the
// verification backoff, and the evaluation of what the resolver saw into the
// status a portal shows. No I/O, clock or randomness.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "domains/detail/errc.hpp"

namespace fc::domains {

// The hostname's overall state (API.md "Custom domains"). kDeleted rows are
// kept only as reservations.
enum class State { kPendingVerification, kIssuing, kActive, kFailed, kMoved, kDeleted };
const char* state_name(State s);
std::optional<State> parse_state(std::string_view s);

// Lower case, no trailing dot, U-labels to A-labels; Code::kInvalidArgument
// with the reason ("a wildcard is not allowed", …) when the name is not a
// valid public DNS name or lies inside `platform_zone`.
Result<std::string> normalize_hostname(std::string_view input, std::string_view platform_zone);

// min(base × 1.05^attempt, 4 h): about 60 s, 63 s, 66 s, … for base 60 s
// (DESIGN.md "Custom domain"); attempt starts at 0.
std::chrono::seconds verify_backoff(std::int64_t attempt, std::chrono::seconds base);

// One CAA record (RFC 8659 §4.1).
struct CaaRecord {
  std::uint8_t flags = 0;
  std::string tag;
  std::string value;
};
struct CaaVerdict {
  bool allowed = true;
  std::string reason;  // when !allowed: names CAA, the owner and the values
};
// Evaluates the relevant CAA set (the first non-empty set found climbing from
// the name, found at `owner`) for an issuer known by `identities`. An empty
// set allows everyone; with no identities any issue property forbids.
CaaVerdict evaluate_caa(const std::string& owner, const std::vector<CaaRecord>& set,
                        const std::vector<std::string>& identities, bool wildcard);

// The outcome of one DNS lookup, as the verifier saw it.
struct Lookup {
  std::string error;                // "" or "SERVFAIL", "timeout", …
  std::vector<std::string> values;  // TXT strings joined, CNAME targets, addresses
};

struct Expected {
  std::string host;                    // chat.customer.com
  std::string token;                   // fc-verify=…
  std::string cname_target;            // <workspace>.<zone>
  std::vector<std::string> addresses;  // the region's ingress (apex names)
};
struct Observed {
  Lookup txt;    // _fleetcommand.<host> TXT
  Lookup cname;  // <host> CNAME
  Lookup addrs;  // <host> A + AAAA (asked only when there is no CNAME)
};
struct Evaluation {
  bool ownership_ok = false;
  bool routing_ok = false;
  std::string routing_type = "CNAME";  // "A" for apex names answered by addresses
  std::string routing_found;           // what we saw, "" for none
  std::optional<std::string> last_error;
};
std::string txt_name(const std::string& host);  // _fleetcommand.<host>
Evaluation evaluate(const Expected& e, const Observed& o);

// `_acme-challenge.<host>` as found during pre-flight: a CNAME to our
// delegation name selects DNS-01; another CNAME or any TXT is a conflict.
struct AcmeChallengeCheck {
  bool conflict = false;
  bool delegated = false;
  std::string message;  // when conflict
};
AcmeChallengeCheck evaluate_acme_challenge(const std::string& host,
                                           const std::string& delegate_name, const Lookup& cname,
                                           const Lookup& txt);

// Formats `"a", "b"` or `none`.
std::string quoted_list(const std::vector<std::string>& v);

}  // namespace fc::domains

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

// What a step of the state machine concluded (docs/domains.md "Transient and
// definitive errors"): kPass, kRetry — a transient error (the resolver timed
// out, answered SERVFAIL/REFUSED/…, refused the connection, sent a truncated
// or garbled answer): the domain keeps its state, `last_error` says what
// failed, the step runs again with backoff — or kFail, a definitive answer
// (a CAA set that forbids our CA, a conflicting _acme-challenge record,
// routing that points elsewhere, a name that cannot be asked): `failed`.
enum class Outcome { kPass, kRetry, kFail };
// The class of a lookup's `error`: "" → kPass; "bad name" (a name that is
// not a valid DNS name: no resolver can answer it) → kFail; anything else —
// "timeout", an rcode other than NOERROR/NXDOMAIN, a transport or parse
// error — says nothing about the customer's records → kRetry.
Outcome lookup_outcome(std::string_view error);
// The state a domain in `current` takes after its pre-flight: unchanged on
// kRetry, `failed` on kFail, `issuing` on kPass.
State state_after_preflight(State current, Outcome o);

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
  // Routing could not be decided: no routing record was seen and a routing
  // lookup failed transiently (lookup_outcome kRetry). Not evidence of a move.
  bool routing_lookup_failed = false;
  std::string routing_type = "CNAME";  // "A" for apex names answered by addresses
  std::string routing_found;           // what we saw, "" for none
  std::optional<std::string> last_error;
};
std::string txt_name(const std::string& host);  // _fleetcommand.<host>
Evaluation evaluate(const Expected& e, const Observed& o);

// `_acme-challenge.<host>` as found during pre-flight: a CNAME to our
// delegation name selects DNS-01; another CNAME or any TXT is a conflict; a
// lookup that failed transiently is neither (`transient`: retry).
struct AcmeChallengeCheck {
  bool conflict = false;
  bool delegated = false;
  std::string message;  // when conflict or transient
  bool transient = false;
};
AcmeChallengeCheck evaluate_acme_challenge(const std::string& host,
                                           const std::string& delegate_name, const Lookup& cname,
                                           const Lookup& txt);

// The pre-flight's conclusion (issuing.cpp): the reason is `last_error`.
struct PreflightResult {
  Outcome outcome = Outcome::kPass;
  std::string reason;  // when not kPass
  bool dns01 = false;  // _acme-challenge is delegated to us
};
// One step of the CAA climb (RFC 8659 §3) at `owner`, whose CAA lookup gave
// `error` and `set`: nullopt when the set is empty (ask the parent next),
// else the pre-flight's CAA verdict — kPass (allowed), kFail (forbidden:
// evaluate_caa's reason), kRetry ("CAA lookup for <owner> failed (<error>)").
std::optional<PreflightResult> caa_step(const std::string& owner, const std::string& error,
                                        const std::vector<CaaRecord>& set,
                                        const std::vector<std::string>& identities);

// Formats `"a", "b"` or `none`.
std::string quoted_list(const std::vector<std::string>& v);

}  // namespace fc::domains

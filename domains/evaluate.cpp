// Status evaluation, CAA (RFC 8659) and the verification backoff.
#include <algorithm>
#include <cmath>

#include "domains/domain.hpp"

namespace fc::domains {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return s;
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

std::string strip_dot(std::string s) {
  while (!s.empty() && s.back() == '.') s.pop_back();
  return lower(std::move(s));
}

// RFC 8659 §4.2: issuer-domain-name, then optional ";" parameters.
std::string issuer_of(const std::string& value) {
  return lower(trim(value.substr(0, value.find(';'))));
}

std::string lookup_found(const Lookup& l) {
  if (!l.error.empty()) return "lookup failed (" + l.error + ")";
  return l.values.empty() ? "none" : quoted_list(l.values);
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace

const char* state_name(State s) {
  switch (s) {
    case State::kPendingVerification: return "pending_verification";
    case State::kIssuing: return "issuing";
    case State::kActive: return "active";
    case State::kFailed: return "failed";
    case State::kMoved: return "moved";
    case State::kDeleted: return "deleted";
  }
  return "failed";
}

std::optional<State> parse_state(std::string_view s) {
  for (auto st : {State::kPendingVerification, State::kIssuing, State::kActive, State::kFailed,
                  State::kMoved, State::kDeleted}) {
    if (s == state_name(st)) return st;
  }
  return std::nullopt;
}

Outcome lookup_outcome(std::string_view error) {
  if (error.empty()) return Outcome::kPass;
  if (error == "bad name") return Outcome::kFail;
  return Outcome::kRetry;
}

State state_after_preflight(State current, Outcome o) {
  switch (o) {
    case Outcome::kPass: return State::kIssuing;
    case Outcome::kFail: return State::kFailed;
    case Outcome::kRetry: return current;
  }
  return current;
}

std::optional<PreflightResult> caa_step(const std::string& owner, const std::string& error,
                                        const std::vector<CaaRecord>& set,
                                        const std::vector<std::string>& identities) {
  if (auto o = lookup_outcome(error); o != Outcome::kPass)
    return PreflightResult{o, "CAA lookup for " + owner + " failed (" + error + ")", false};
  if (set.empty()) return std::nullopt;
  auto v = evaluate_caa(owner, set, identities, false);
  if (!v.allowed) return PreflightResult{Outcome::kFail, v.reason, false};
  return PreflightResult{};
}

std::chrono::seconds verify_backoff(std::int64_t attempt, std::chrono::seconds base) {
  constexpr double kCap = 4 * 3600.0;
  double n = static_cast<double>(std::clamp<std::int64_t>(attempt, 0, 1000));
  double v = std::min(static_cast<double>(base.count()) * std::pow(1.05, n), kCap);
  return std::chrono::seconds(static_cast<std::int64_t>(std::max(v, 1.0)));
}

std::string quoted_list(const std::vector<std::string>& v) {
  if (v.empty()) return "none";
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "\"" : ", \"") + s + "\"";
  return out;
}

std::string txt_name(const std::string& host) { return "_fleetcommand." + host; }

CaaVerdict evaluate_caa(const std::string& owner, const std::vector<CaaRecord>& set,
                        const std::vector<std::string>& identities, bool wildcard) {
  std::vector<std::string> issue, issuewild;
  for (const auto& r : set) {
    auto tag = lower(r.tag);
    if (tag == "issue")
      issue.push_back(r.value);
    else if (tag == "issuewild")
      issuewild.push_back(r.value);
    else if ((r.flags & 0x80) && tag != "iodef" && tag != "contactemail" && tag != "contactphone")
      // RFC 8659 §4.1: an unknown property with the critical flag forbids issuance.
      return {false,
              "CAA at " + owner + ": unknown critical property \"" + r.tag + "\" forbids issuance"};
  }
  // RFC 8659 §4.3: for a wildcard, issuewild takes precedence when present.
  const auto& relevant = (wildcard && !issuewild.empty()) ? issuewild : issue;
  if (relevant.empty()) return {true, ""};
  for (const auto& v : relevant) {
    auto who = issuer_of(v);
    if (who.empty()) continue;  // ";" alone: nobody may issue
    for (const auto& id : identities) {
      if (lower(id) == who) return {true, ""};
    }
  }
  std::string tag = (wildcard && !issuewild.empty()) ? "issuewild" : "issue";
  std::string ours = identities.empty() ? "no CAA identity configured for the issuer"
                                        : "ours: " + join(identities, ", ");
  return {false, "CAA at " + owner + " forbids our CA: " + tag + " " + quoted_list(relevant) +
                     " (" + ours + ")"};
}

namespace {

void check_routing(const Expected& e, const Observed& o, Evaluation& ev,
                   std::vector<std::string>& errors) {
  auto want = strip_dot(e.cname_target);
  if (!o.cname.values.empty()) {
    ev.routing_type = "CNAME";
    ev.routing_found = strip_dot(o.cname.values.front());
    ev.routing_ok = ev.routing_found == want;
    if (!ev.routing_ok)
      errors.push_back("CNAME " + e.host + ": expected \"" + want + "\", found " +
                       quoted_list({ev.routing_found}));
    return;
  }
  std::vector<std::string> addrs = o.addrs.values;
  if (!addrs.empty() && !e.addresses.empty()) {
    // Apex names cannot carry a CNAME: their A/AAAA must be our ingress.
    ev.routing_type = "A";
    ev.routing_found = join(addrs, ", ");
    ev.routing_ok = std::all_of(addrs.begin(), addrs.end(), [&](const std::string& a) {
      return std::find(e.addresses.begin(), e.addresses.end(), a) != e.addresses.end();
    });
    if (!ev.routing_ok)
      errors.push_back("A/AAAA " + e.host + ": expected " + join(e.addresses, ", ") + ", found " +
                       ev.routing_found);
    return;
  }
  ev.routing_type = "CNAME";
  ev.routing_found = addrs.empty() ? "" : join(addrs, ", ");
  // Nothing routing-worthy seen, and a lookup that could have shown it failed.
  ev.routing_lookup_failed = lookup_outcome(o.cname.error) == Outcome::kRetry ||
                             (addrs.empty() && lookup_outcome(o.addrs.error) == Outcome::kRetry);
  const Lookup& shown = o.cname.error.empty() ? o.addrs : o.cname;
  std::string found = !shown.error.empty() ? lookup_found(shown)
                      : addrs.empty()      ? "none"
                                           : "A/AAAA " + ev.routing_found;
  errors.push_back("CNAME " + e.host + ": expected \"" + want + "\", found " + found);
}

}  // namespace

Evaluation evaluate(const Expected& e, const Observed& o) {
  Evaluation ev;
  std::vector<std::string> errors;
  ev.ownership_ok = o.txt.error.empty() && std::find(o.txt.values.begin(), o.txt.values.end(),
                                                     e.token) != o.txt.values.end();
  if (!ev.ownership_ok)
    errors.push_back("TXT " + txt_name(e.host) + ": expected \"" + e.token + "\", found " +
                     lookup_found(o.txt));
  check_routing(e, o, ev, errors);
  if (!errors.empty()) ev.last_error = join(errors, "; ");
  return ev;
}

AcmeChallengeCheck evaluate_acme_challenge(const std::string& host,
                                           const std::string& delegate_name, const Lookup& cname,
                                           const Lookup& txt) {
  std::string name = "_acme-challenge." + host;
  AcmeChallengeCheck out;
  // A failed lookup is no conflict: transient ones are retried, "bad name"
  // (no resolver can answer it) is definitive.
  auto failed = [](const Lookup& l, std::string msg) {
    const bool transient = lookup_outcome(l.error) == Outcome::kRetry;
    return AcmeChallengeCheck{!transient, false, std::move(msg), transient};
  };
  if (!cname.error.empty()) return failed(cname, "CNAME " + name + ": " + lookup_found(cname));
  if (!cname.values.empty()) {
    auto target = strip_dot(cname.values.front());
    if (target == strip_dot(delegate_name)) return {false, true, ""};
    return {true, false,
            "CNAME " + name + ": expected none or \"" + strip_dot(delegate_name) + "\", found " +
                quoted_list({target}) + " (a conflicting _acme-challenge record)"};
  }
  if (!txt.error.empty()) return failed(txt, "TXT " + name + ": " + lookup_found(txt));
  if (!txt.values.empty())
    return {true, false,
            "TXT " + name + ": expected none, found " + quoted_list(txt.values) +
                " (a conflicting _acme-challenge record)"};
  return out;
}

}  // namespace fc::domains

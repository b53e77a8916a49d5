// The domain chain: OwnershipVerified → RoutingOK → PreflightOK →
// CertificateIssued → CertificateDelivered → Live (docs/status.md "Domain").
// The verifier and the pre-flight record what they saw as `last_error`, in
// the shapes domains/evaluate.cpp writes ("TXT <name>: expected …, found …",
// "CAA at <owner> forbids our CA: issue "x" (ours: y)", …); the segments are
// read back here, and tests/status/ builds them with the domains core so the
// two cannot drift apart.
#include <algorithm>

#include "status/detail/chain.hpp"

namespace fc::status {

using detail::make;
using detail::opt_ms;

namespace {

// The "; "-separated segment of `error` that starts with `prefix`, or "".
std::string segment(const std::optional<std::string>& error, const std::string& prefix) {
  if (!error) return "";
  std::size_t pos = 0;
  while (pos <= error->size()) {
    auto end = error->find("; ", pos);
    auto part = error->substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (part.rfind(prefix, 0) == 0) return part;
    if (end == std::string::npos) break;
    pos = end + 2;
  }
  return "";
}

// Text between `open` and the next `close` after it, or "".
std::string between(const std::string& s, const std::string& open, const std::string& close) {
  auto a = s.find(open);
  if (a == std::string::npos) return "";
  a += open.size();
  auto b = s.find(close, a);
  return b == std::string::npos ? s.substr(a) : s.substr(a, b - a);
}

std::int64_t gen(const DomainFacts& f) { return f.workspace.generation; }

Condition ownership(const DomainFacts& f) {
  const std::string txt = "_fleetcommand." + f.hostname;
  const std::string create = "create TXT " + txt + " with value " + f.token;
  if (f.verified_at_ms)
    return make("OwnershipVerified", Truth::kTrue, "TxtFound", "TXT " + txt + " holds the token",
                f.verified_at_ms, gen(f));
  if (!f.last_checked_at_ms) {
    auto c = make("OwnershipVerified", Truth::kUnknown, "NotCheckedYet",
                  "TXT " + txt + " has not been checked yet", opt_ms(f.created_at_ms), gen(f));
    c.fix = create;
    return c;
  }
  auto seg = segment(f.last_error, "TXT " + txt + ":");
  if (seg.empty())  // the TXT was right; routing held verification back
    return make("OwnershipVerified", Truth::kTrue, "TxtFound",
                "TXT " + txt + " holds the token (verification waits for routing)",
                f.last_checked_at_ms, gen(f));
  if (seg.find("found lookup failed") != std::string::npos) {
    auto c = make("OwnershipVerified", Truth::kUnknown, "LookupFailed", seg,
                  opt_ms(f.created_at_ms), gen(f));
    c.fix = "make the DNS servers of " + f.hostname + " answer for " + txt + ", then " + create;
    return c;
  }
  const bool none = seg.ends_with("found none");
  auto c = make("OwnershipVerified", Truth::kFalse, none ? "TxtMissing" : "TxtMismatch", seg,
                opt_ms(f.created_at_ms), gen(f));
  c.fix = none ? create
               : "set TXT " + txt + " to the value " + f.token + " (found " +
                     seg.substr(seg.find("found ") + 6) + ")";
  return c;
}

std::string routing_fix(const DomainFacts& f, const std::string& found) {
  if (f.routing_type == "A") {
    std::string want;
    for (const auto& a : f.ingress) want += (want.empty() ? "" : ", ") + a;
    return "set the A/AAAA records of " + f.hostname + " to " + want + " only (found " + found +
           ")";
  }
  if (found.empty() || found == "none")
    return "create CNAME " + f.hostname + " pointing to " + f.routing_target;
  return "change CNAME " + f.hostname + " to point to " + f.routing_target + " (found " + found +
         ")";
}

Condition routing(const DomainFacts& f) {
  const auto since_checked = f.last_checked_at_ms;
  if (f.state == "moved") {
    auto c = make("RoutingOK", Truth::kFalse, "Moved",
                  f.hostname + " no longer points at " + f.routing_target,
                  f.moved_at_ms ? f.moved_at_ms : since_checked, gen(f));
    c.fix = routing_fix(f, f.routing_found.empty() ? "none" : f.routing_found);
    return c;
  }
  if (f.routing_ok || f.verified_at_ms)
    return make("RoutingOK", Truth::kTrue, f.routing_type == "A" ? "AddressesMatch" : "CnameMatch",
                f.routing_type + " " + f.hostname + " points at us",
                f.verified_at_ms ? f.verified_at_ms : since_checked, gen(f));
  auto seg = segment(f.last_error, f.routing_type == "A" ? "A/AAAA " : "CNAME " + f.hostname);
  std::string found = seg.empty() ? "none" : seg.substr(seg.find("found ") + 6);
  if (!found.empty() && found.front() == '"') found = between(found, "\"", "\"");
  const bool none = found == "none" || found.empty();
  auto c = make("RoutingOK", Truth::kFalse,
                f.routing_type == "A" ? "AddressesWrong" : (none ? "CnameMissing" : "CnameWrong"),
                seg.empty() ? f.hostname + " does not point at " + f.routing_target : seg,
                opt_ms(f.created_at_ms), gen(f));
  c.fix = routing_fix(f, found);
  return c;
}

// "CAA at <owner> forbids our CA: issue "a", "b" (ours: x)".
Condition caa_forbids(const DomainFacts& f, const std::string& e, Audience who) {
  auto owner = between(e, "CAA at ", " ");
  if (!owner.empty() && owner.back() == ':') owner.pop_back();
  auto c = make("PreflightOK", Truth::kFalse, "CaaForbids", e, f.last_checked_at_ms, gen(f));
  if (e.find("unknown critical property") != std::string::npos) {
    c.reason = "CaaCriticalUnknown";
    c.fix = "remove the CAA record at " + owner + " with the unknown critical property";
    return c;
  }
  auto values = between(e, "forbids our CA: issue ", " (");
  if (values.empty()) values = between(e, "forbids our CA: issuewild ", " (");
  auto ours = between(e, "(ours: ", ")");
  c.fix = "remove the CAA record at " + owner + " that allows only " + values;
  if (!ours.empty())
    c.fix =
        *c.fix + ", or add CAA " + owner + " 0 issue \"" + ours.substr(0, ours.find(',')) + "\"";
  else if (who == Audience::kAdmin)
    c.fix = *c.fix + " (no caa_identities are configured for the issuer: certs.issuers)";
  return c;
}

// "CNAME|TXT _acme-challenge.<host>: expected …, found … (a conflicting …)".
Condition challenge_conflict(const DomainFacts& f, const std::string& e) {
  auto c = make("PreflightOK", Truth::kFalse, "ChallengeRecordConflict", e, f.last_checked_at_ms,
                gen(f));
  const std::string name = "_acme-challenge." + f.hostname;
  const std::string type = e.rfind("TXT ", 0) == 0 ? "TXT" : "CNAME";
  auto found = between(e, "found ", " (a conflicting");
  c.fix = "remove the " + type + " record " + name + " (" + found + ")";
  if (type == "CNAME") c.fix = *c.fix + ", or point it at the delegation name the domain shows";
  return c;
}

bool preflight_error(const std::string& e) {
  return e.rfind("CAA ", 0) == 0 || e.find("_acme-challenge.") != std::string::npos ||
         e.rfind("CNAME ", 0) == 0 || e.rfind("A/AAAA ", 0) == 0 ||
         e == "the workspace no longer exists";
}

// A pre-flight lookup that failed transiently (domains::lookup_outcome
// kRetry): "CAA lookup for <name> failed (timeout)", "CNAME
// _acme-challenge.<host>: lookup failed (SERVFAIL)", "CNAME <host>: expected
// …, found lookup failed (…)". The domain keeps its state and retries.
bool lookup_failure(const std::string& e) {
  return e.rfind("CAA lookup for ", 0) == 0 || e.find(": lookup failed (") != std::string::npos ||
         e.find("found lookup failed (") != std::string::npos;
}

Condition preflight(const DomainFacts& f, Audience who) {
  const std::string e = f.last_error.value_or("");
  if (f.state == "issuing" && !f.certificate && preflight_error(e) && lookup_failure(e)) {
    auto c = make("PreflightOK", Truth::kUnknown, "LookupFailed", e, f.last_checked_at_ms, gen(f));
    c.fix =
        "none needed if it clears: the pre-flight is retried with backoff; if it persists, "
        "make the DNS servers of " +
        f.hostname + " answer " +
        (e.rfind("CAA ", 0) == 0
             ? std::string("CAA queries")
             : "for " + e.substr(e.find(' ') + 1, e.find(':') - e.find(' ') - 1));
    return c;
  }
  if (f.state == "failed" && preflight_error(e)) {
    if (e.rfind("CAA at ", 0) == 0) return caa_forbids(f, e, who);
    if (e.find("a conflicting _acme-challenge record") != std::string::npos)
      return challenge_conflict(f, e);
    auto c = make("PreflightOK", Truth::kFalse, "CheckFailed", e, f.last_checked_at_ms, gen(f));
    c.fix = e.rfind("CAA lookup", 0) == 0
                ? "make the DNS servers of " + f.hostname + " answer CAA queries"
                : routing_fix(f, f.routing_found.empty() ? "none" : f.routing_found);
    return c;
  }
  if (f.certificate || f.state == "active" || f.state == "failed")
    return make("PreflightOK", Truth::kTrue, "Passed",
                "CAA allows our CA and no _acme-challenge record conflicts", f.verified_at_ms,
                gen(f));
  auto c = make("PreflightOK", Truth::kUnknown, "NotRunYet",
                "the pre-flight runs before the certificate order", f.verified_at_ms, gen(f));
  c.fix = "wait: it runs within seconds of verification";
  return c;
}

// certs/dns01_propagation.cpp: "DNS-01 TXT <owner> not served by the
// authoritative server <label>: <answer>[, <label>: …] after N s …" → the first label.
std::string lagging_server(const DomainFacts& f) {
  if (!f.certificate || !f.certificate->last_error) return "";
  const std::string& e = *f.certificate->last_error;
  auto s = between(e, "not served by the authoritative server ", ": ");
  return e.find("not served by the authoritative server ") == std::string::npos ? "" : s;
}

// The fix of an order that failed or is being retried: the certificate's
// last_error for admins (the lagging DNS-01 server when that is the cause).
std::string order_fix(const DomainFacts& f, Audience who) {
  if (who != Audience::kAdmin)
    return "none on your side while the records above hold: the order is retried";
  if (auto lag = lagging_server(f); !lag.empty())
    return "make the authoritative server " + lag +
           " serve the DNS-01 TXT (check the zone transfer from the RFC 2136 primary: NOTIFY, "
           "allow-transfer, refresh); the order is retried with backoff";
  return "see the certificate's last_error (GET /v1/certificates/{id}); the order is retried "
         "with backoff";
}

Condition issued(const DomainFacts& f, Audience who) {
  if (f.certificate && (f.certificate->status == "valid" || f.certificate->status == "renewing"))
    return make("CertificateIssued", Truth::kTrue,
                f.certificate->status == "valid" ? "Issued" : "Renewing",
                "certificate " + f.certificate->id + " is " + f.certificate->status,
                f.certificate->not_before_ms, gen(f));
  const bool pending = f.certificate && f.certificate->status == "pending";
  if (pending && f.certificate->last_error) {
    // A retryable error (certs: the CA unreachable or slow, DNS-01 not
    // propagated yet): pending, retried with backoff — not a failure.
    auto c = make("CertificateIssued", Truth::kFalse, "OrderRetrying",
                  who == Audience::kAdmin
                      ? "the certificate order is retried: " + *f.certificate->last_error
                      : "the certificate order is retried after a temporary error",
                  f.last_checked_at_ms, gen(f));
    c.fix = order_fix(f, who);
    return c;
  }
  if (pending) {
    auto c = make("CertificateIssued", Truth::kFalse, "Ordering",
                  "the certificate order is in progress", f.last_checked_at_ms, gen(f));
    c.fix = "wait: the CA validates http://" + f.hostname +
            "/.well-known/acme-challenge/ (or the _acme-challenge CNAME for DNS-01)";
    return c;
  }
  std::string why = f.certificate
                        ? "certificate " + f.certificate->id + " is " + f.certificate->status
                        : "no certificate was issued";
  if (who == Audience::kAdmin) {
    if (f.certificate && f.certificate->last_error)
      why += ": " + *f.certificate->last_error;
    else if (f.last_error)
      why += ": " + *f.last_error;
  }
  auto c = make("CertificateIssued", Truth::kFalse,
                f.certificate && f.certificate->status == "expired" ? "Expired" : "OrderFailed",
                why, f.last_checked_at_ms, gen(f));
  c.fix = order_fix(f, who);
  return c;
}

Condition cert_delivered(const DomainFacts& f, Audience who) {
  const auto& w = f.workspace;
  if (f.state == "active" ||
      (f.cert_generation && w.generation >= *f.cert_generation && w.delivery.assigned &&
       w.delivery.delivered_revision >= w.delivery.revision))
    return make("CertificateDelivered", Truth::kTrue, "Fetched",
                "an agent of region " + w.serving.id + " fetched the certificate",
                opt_ms(w.delivery.written_at_ms), gen(f));
  if (!f.cert_generation) {
    auto c = make("CertificateDelivered", Truth::kFalse, "NotInAssignment",
                  "the certificate is not in the workspace's assignment yet", f.last_checked_at_ms,
                  gen(f));
    c.fix = "wait: it is added within seconds of issuance";
    return c;
  }
  auto d = detail::delivered_condition(w, who);
  d.type = "CertificateDelivered";
  return d;
}

}  // namespace

std::vector<Condition> domain_conditions(const DomainFacts& f, Audience who) {
  std::vector<Condition> chain;
  chain.push_back(ownership(f));
  chain.push_back(routing(f));
  chain.push_back(preflight(f, who));
  chain.push_back(issued(f, who));
  chain.push_back(cert_delivered(f, who));
  chain.push_back(live_condition(f.live, gen(f)));
  detail::settle(chain);
  return chain;
}

}  // namespace fc::status

// The status chains (status/): every condition, its reasons and the fix of
// the first non-True one; the domain errors are built with the domains core,
// so the chain reads exactly what the verifier and the pre-flight write.
#include <doctest/doctest.h>

#include "domains/domain.hpp"
#include "status/status.hpp"

using namespace fc::status;

namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

// A workspace that is Ready: placed, fetched, running, published.
WorkspaceFacts ready_ws() {
  WorkspaceFacts f;
  f.id = "ws_1";
  f.name = "acme";
  f.hostname = "acme.fleet.test";
  f.generation = 3;
  f.region = "eu-west-1";
  f.created_at_ms = kNow - 600'000;
  f.observed_generation = 3;
  f.observed_phase = "running";
  f.observed_since_ms = kNow - 60'000;
  f.dns_region = "eu-west-1";
  f.serving = {"eu-west-1", true, true, kNow - 2'000, 30};
  f.delivery = {true, 42, kNow - 120'000, 42};
  f.dns.answers = {"A 192.0.2.10"};
  f.now_ms = kNow;
  return f;
}

const Condition& cond_of(const std::vector<Condition>& chain, const std::string& type) {
  for (const auto& c : chain) {
    if (c.type == type) return c;
  }
  FAIL("no condition " << type);
  return chain.front();
}

// The first non-True condition, with every later one Blocked and fix-less.
const Condition& first_failing(const std::vector<Condition>& chain) {
  std::size_t i = 0;
  while (i < chain.size() && chain[i].status == Truth::kTrue) ++i;
  REQUIRE(i < chain.size());
  for (std::size_t j = 0; j < chain.size(); ++j) {
    if (j == i) continue;
    CHECK_FALSE(chain[j].fix.has_value());
    if (j > i) {
      CHECK(chain[j].status == Truth::kUnknown);
      CHECK(chain[j].reason == "Blocked");
      CHECK(chain[j].message == "not evaluated: waiting for " + chain[i].type);
    }
  }
  return chain[i];
}

std::vector<std::string> types(const std::vector<Condition>& chain) {
  std::vector<std::string> out;
  for (const auto& c : chain) out.push_back(c.type);
  return out;
}

DomainFacts active_domain() {
  DomainFacts f;
  f.hostname = "chat.example.com";
  f.state = "active";
  f.token = "fc-verify=abc";
  f.verified_at_ms = kNow - 500'000;
  f.routing_target = "acme.fleet.test";
  f.ingress = {"192.0.2.10"};
  f.routing_ok = true;
  f.routing_found = "acme.fleet.test";
  f.last_checked_at_ms = kNow - 100'000;
  f.certificate = CertificateFact{"crt_1", "valid", kNow - 400'000, kNow + 1'000'000, {}};
  f.cert_generation = 3;
  f.created_at_ms = kNow - 900'000;
  f.workspace = ready_ws();
  return f;
}

DomainFacts pending_domain() {
  auto f = active_domain();
  f.state = "pending_verification";
  f.verified_at_ms.reset();
  f.routing_ok = false;
  f.routing_found.clear();
  f.certificate.reset();
  f.cert_generation.reset();
  return f;
}

// What the verifier writes for these lookups (domains::evaluate).
std::optional<std::string> verifier_error(const fc::domains::Lookup& txt,
                                          const fc::domains::Lookup& cname) {
  fc::domains::Expected e{"chat.example.com", "fc-verify=abc", "acme.fleet.test", {"192.0.2.10"}};
  fc::domains::Observed o{txt, cname, {}};
  return fc::domains::evaluate(e, o).last_error;
}

}  // namespace

TEST_SUITE("status") {
  TEST_CASE("a ready workspace: every condition True, in order, no fix") {
    auto chain = workspace_conditions(ready_ws(), Audience::kAdmin);
    CHECK(types(chain) == std::vector<std::string>{"Placed", "AssignmentDelivered", "Applied",
                                                   "Running", "DNSPublished", "Ready"});
    for (const auto& c : chain) {
      CAPTURE(c.type);
      CHECK(c.status == Truth::kTrue);
      CHECK_FALSE(c.fix.has_value());
      CHECK(c.observed_generation == 3);
    }
    CHECK(chain_ok(chain));
    CHECK(cond_of(chain, "Placed").since_ms == kNow - 600'000);
    CHECK(cond_of(chain, "AssignmentDelivered").reason == "Fetched");
    CHECK(cond_of(chain, "AssignmentDelivered").since_ms == kNow - 120'000);
    CHECK(cond_of(chain, "Running").since_ms == kNow - 60'000);
    CHECK(cond_of(chain, "Ready").since_ms == kNow - 60'000);
    CHECK(cond_of(chain, "DNSPublished").message == "acme.fleet.test answers A 192.0.2.10");
  }

  TEST_CASE("region down: the first failing step names the region and how long") {
    auto f = ready_ws();
    f.generation = 4;  // a new generation the agent has not fetched
    f.delivery.revision = 43;
    f.serving.healthy = false;
    f.serving.last_heartbeat_ms = kNow - 4 * 60'000 - 5'000;
    for (auto who : {Audience::kAdmin, Audience::kTenant}) {
      auto chain = workspace_conditions(f, who);
      const auto& c = first_failing(chain);
      CHECK(c.type == "AssignmentDelivered");
      CHECK(c.status == Truth::kFalse);
      CHECK(c.reason == "RegionDown");
      CHECK(c.fix == "region eu-west-1 has had no heartbeat for 4m: its agent is down");
      CHECK_FALSE(chain_ok(chain));
    }
    f.serving.last_heartbeat_ms.reset();
    auto never = first_failing(workspace_conditions(f, Audience::kAdmin));
    CHECK(never.fix == "region eu-west-1 has never had a heartbeat: its agent is not running");
  }

  TEST_CASE("not fetched while the region is healthy; tenants see no revisions") {
    auto f = ready_ws();
    f.generation = 4;
    f.delivery.revision = 43;
    auto admin = first_failing(workspace_conditions(f, Audience::kAdmin));
    CHECK(admin.reason == "NotFetched");
    CHECK(admin.message.find("revision 43") != std::string::npos);
    CHECK(admin.fix->find("GET /v1/agent/assignments") != std::string::npos);
    auto tenant = first_failing(workspace_conditions(f, Audience::kTenant));
    CHECK(tenant.reason == "NotFetched");
    CHECK(tenant.message.find("revision") == std::string::npos);
    CHECK(tenant.fix->find("/v1/agent") == std::string::npos);
  }

  TEST_CASE("a report of the current generation counts as delivered") {
    auto f = ready_ws();
    f.delivery.delivered_revision = 0;  // a restart before the fetch was persisted
    auto c = cond_of(workspace_conditions(f, Audience::kAdmin), "AssignmentDelivered");
    CHECK(c.status == Truth::kTrue);
    CHECK(c.reason == "Reported");
  }

  TEST_CASE("Applied and Running follow the observed phase of the current generation") {
    struct Case {
      std::int64_t observed_generation;
      const char* phase;
      const char* failing;  // first non-True condition
      const char* reason;
    };
    const Case cases[] = {
        {2, "running", "Applied", "NotReported"},    {3, "provisioning", "Applied", "Provisioning"},
        {3, "progressing", "Running", "RollingOut"}, {3, "failed", "Running", "Failed"},
        {3, "degraded", "Running", "Degraded"},      {3, "suspended", "Running", "Suspended"},
    };
    for (const auto& k : cases) {
      CAPTURE(k.phase);
      CAPTURE(k.observed_generation);
      auto f = ready_ws();
      f.observed_generation = k.observed_generation;
      f.observed_phase = k.phase;
      f.observed_message = "container app: ImagePullBackOff: no such image";
      auto chain = workspace_conditions(f, Audience::kAdmin);
      const auto& c = first_failing(chain);
      CHECK(c.type == k.failing);
      CHECK(c.reason == k.reason);
      CHECK(c.status == Truth::kFalse);
      REQUIRE(c.fix.has_value());
      if (std::string(k.reason) == "Failed")
        CHECK(c.fix->find("ImagePullBackOff") != std::string::npos);
    }
  }

  TEST_CASE("a region that goes down after the fetch fails Applied") {
    auto f = ready_ws();
    f.observed_generation = 2;
    f.serving.healthy = false;
    f.serving.last_heartbeat_ms = kNow - 3'600'000 - 120'000;
    auto c = first_failing(workspace_conditions(f, Audience::kAdmin));
    CHECK(c.type == "Applied");
    CHECK(c.reason == "RegionDown");
    CHECK(c.fix == "region eu-west-1 has had no heartbeat for 1h2m: its agent is down");
  }

  TEST_CASE("DNSPublished: zone answer, then external providers") {
    auto f = ready_ws();
    f.dns.answers.clear();
    auto c = first_failing(workspace_conditions(f, Audience::kAdmin));
    CHECK(c.type == "DNSPublished");
    CHECK(c.reason == "NotAnswered");

    f = ready_ws();
    f.dns.providers = {{"127.0.0.1:5300", "failed", "REFUSED (TSIG key)", std::nullopt}};
    auto admin = first_failing(workspace_conditions(f, Audience::kAdmin));
    CHECK(admin.reason == "ProviderFailed");
    CHECK(admin.message.find("127.0.0.1:5300") != std::string::npos);
    CHECK(admin.message.find("REFUSED") != std::string::npos);
    auto tenant = first_failing(workspace_conditions(f, Audience::kTenant));
    CHECK(tenant.reason == "ProviderFailed");
    CHECK(tenant.message.find("127.0.0.1") == std::string::npos);
    CHECK(tenant.message.find("REFUSED") == std::string::npos);

    f.dns.providers = {{"127.0.0.1:5300", "pending", std::nullopt, std::nullopt}};
    CHECK(first_failing(workspace_conditions(f, Audience::kAdmin)).reason == "ProviderPending");

    f.dns.providers = {{"127.0.0.1:5300", "synced", std::nullopt, kNow - 1'000}};
    auto chain = workspace_conditions(f, Audience::kAdmin);
    CHECK(chain_ok(chain));
    CHECK(cond_of(chain, "DNSPublished").since_ms == kNow - 1'000);
  }

  TEST_CASE("Placed: deleting fails it, migrating names both regions") {
    auto f = ready_ws();
    f.state = "deleting";
    auto c = first_failing(workspace_conditions(f, Audience::kTenant));
    CHECK(c.type == "Placed");
    CHECK(c.reason == "Deleting");
    f = ready_ws();
    f.state = "migrating";
    f.target_region = "us-east-1";
    f.serving.id = "us-east-1";
    auto placed = cond_of(workspace_conditions(f, Audience::kAdmin), "Placed");
    CHECK(placed.reason == "Migrating");
    CHECK(placed.message == "migrating from region eu-west-1 to region us-east-1");
  }

  TEST_CASE("an active domain: every condition True but Live, which is NotProbed") {
    auto chain = domain_conditions(active_domain(), Audience::kAdmin);
    CHECK(types(chain) == std::vector<std::string>{"OwnershipVerified", "RoutingOK", "PreflightOK",
                                                   "CertificateIssued", "CertificateDelivered",
                                                   "Live"});
    for (std::size_t i = 0; i + 1 < chain.size(); ++i) CHECK(chain[i].status == Truth::kTrue);
    const auto& live = chain.back();
    CHECK(live.status == Truth::kUnknown);
    CHECK(live.reason == "NotProbed");
    CHECK(live.message == "live checks have not run");
    CHECK_FALSE(live.fix.has_value());
    CHECK(chain_ok(chain));
    CHECK(cond_of(chain, "OwnershipVerified").since_ms == kNow - 500'000);
    CHECK(cond_of(chain, "CertificateIssued").since_ms == kNow - 400'000);
  }

  TEST_CASE("Live comes from the probe fact") {
    CHECK(live_condition(LiveFact{"live", "", "", kNow}, 3).status == Truth::kTrue);
    auto failing = live_condition(LiveFact{"failing", "tls", "certificate expired", kNow}, 3);
    CHECK(failing.status == Truth::kFalse);
    CHECK(failing.reason == "ProbeFailing");
    CHECK(failing.message == "the HTTPS probe fails at step tls: certificate expired");
    CHECK(failing.since_ms == kNow);
    CHECK(live_condition(LiveFact{"unknown", "", "", 0}, 3).reason == "ProbeUnknown");
    auto f = active_domain();
    f.live = LiveFact{"failing", "http", "HTTP 502", kNow};
    auto chain = domain_conditions(f, Audience::kAdmin);
    CHECK_FALSE(chain_ok(chain));
    CHECK(first_failing(chain).fix.has_value());
  }

  TEST_CASE("no TXT: the fix is the exact record to create") {
    auto f = pending_domain();
    f.last_error = verifier_error({"", {}}, {"", {"acme.fleet.test"}});
    auto c = first_failing(domain_conditions(f, Audience::kTenant));
    CHECK(c.type == "OwnershipVerified");
    CHECK(c.status == Truth::kFalse);
    CHECK(c.reason == "TxtMissing");
    CHECK(c.fix == "create TXT _fleetcommand.chat.example.com with value fc-verify=abc");
    CHECK(c.since_ms == kNow - 900'000);
  }

  TEST_CASE("a wrong TXT value, a failed lookup, and a domain not checked yet") {
    auto f = pending_domain();
    f.last_error = verifier_error({"", {"fc-verify=old"}}, {"", {"acme.fleet.test"}});
    auto c = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(c.reason == "TxtMismatch");
    CHECK(c.fix->find("set TXT _fleetcommand.chat.example.com to the value fc-verify=abc") == 0);
    f.last_error = verifier_error({"SERVFAIL", {}}, {"", {"acme.fleet.test"}});
    c = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(c.status == Truth::kUnknown);
    CHECK(c.reason == "LookupFailed");
    CHECK(c.message.find("lookup failed (SERVFAIL)") != std::string::npos);
    CHECK(c.fix ==
          "make the DNS servers of chat.example.com answer for "
          "_fleetcommand.chat.example.com, then create TXT "
          "_fleetcommand.chat.example.com with value fc-verify=abc");
    f.last_checked_at_ms.reset();
    f.last_error.reset();
    c = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(c.status == Truth::kUnknown);
    CHECK(c.reason == "NotCheckedYet");
    CHECK(c.fix == "create TXT _fleetcommand.chat.example.com with value fc-verify=abc");
  }

  TEST_CASE("routing: missing CNAME, wrong CNAME, apex addresses, moved") {
    auto f = pending_domain();
    f.last_error = verifier_error({"", {"fc-verify=abc"}}, {"", {}});
    auto chain = domain_conditions(f, Audience::kAdmin);
    CHECK(cond_of(chain, "OwnershipVerified").status == Truth::kTrue);
    auto c = first_failing(chain);
    CHECK(c.type == "RoutingOK");
    CHECK(c.reason == "CnameMissing");
    CHECK(c.fix == "create CNAME chat.example.com pointing to acme.fleet.test");

    f.last_error = verifier_error({"", {"fc-verify=abc"}}, {"", {"other.example.net"}});
    c = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(c.reason == "CnameWrong");
    CHECK(c.fix ==
          "change CNAME chat.example.com to point to acme.fleet.test (found other.example.net)");

    f.routing_type = "A";
    f.last_error = "A/AAAA chat.example.com: expected 192.0.2.10, found 198.51.100.7";
    c = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(c.reason == "AddressesWrong");
    CHECK(c.fix ==
          "set the A/AAAA records of chat.example.com to 192.0.2.10 only (found "
          "198.51.100.7)");

    auto m = active_domain();
    m.state = "moved";
    m.routing_ok = false;
    m.routing_found = "elsewhere.example.net";
    m.moved_at_ms = kNow - 10'000;
    c = first_failing(domain_conditions(m, Audience::kAdmin));
    CHECK(c.type == "RoutingOK");
    CHECK(c.reason == "Moved");
    CHECK(c.since_ms == kNow - 10'000);
    CHECK(c.fix->find("acme.fleet.test") != std::string::npos);
  }

  TEST_CASE("CAA forbids: remove the record that allows only another CA") {
    auto f = active_domain();
    f.state = "failed";
    f.certificate.reset();
    f.cert_generation.reset();
    auto v = fc::domains::evaluate_caa("example.com", {{0, "issue", "digicert.com"}},
                                       {"letsencrypt.org"}, false);
    REQUIRE_FALSE(v.allowed);
    f.last_error = v.reason;
    auto c = first_failing(domain_conditions(f, Audience::kTenant));
    CHECK(c.type == "PreflightOK");
    CHECK(c.reason == "CaaForbids");
    CHECK(c.fix ==
          "remove the CAA record at example.com that allows only \"digicert.com\", or add CAA "
          "example.com 0 issue \"letsencrypt.org\"");
    auto crit = fc::domains::evaluate_caa("example.com", {{128, "future", "x"}}, {"a.org"}, false);
    f.last_error = crit.reason;
    CHECK(first_failing(domain_conditions(f, Audience::kAdmin)).reason == "CaaCriticalUnknown");
    auto none = fc::domains::evaluate_caa("example.com", {{0, "issue", "digicert.com"}}, {}, false);
    f.last_error = none.reason;
    c = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(c.fix->find("remove the CAA record at example.com that allows only \"digicert.com\"") ==
          0);
  }

  TEST_CASE("a conflicting _acme-challenge record") {
    auto f = active_domain();
    f.state = "failed";
    f.certificate.reset();
    auto ac = fc::domains::evaluate_acme_challenge("chat.example.com", "dom_1._acme.fleet.test",
                                                   {"", {}}, {"", {"old-token"}});
    REQUIRE(ac.conflict);
    f.last_error = ac.message;
    auto c = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(c.reason == "ChallengeRecordConflict");
    CHECK(c.fix == "remove the TXT record _acme-challenge.chat.example.com (\"old-token\")");
    ac = fc::domains::evaluate_acme_challenge("chat.example.com", "dom_1._acme.fleet.test",
                                              {"", {"elsewhere.example.net"}}, {"", {}});
    f.last_error = ac.message;
    c = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(c.fix->find("remove the CNAME record _acme-challenge.chat.example.com") == 0);
  }

  TEST_CASE("a pre-flight lookup that failed transiently: Unknown, retried") {
    auto f = active_domain();
    f.state = "issuing";
    f.certificate.reset();
    f.cert_generation.reset();
    auto caa = fc::domains::caa_step("example.com", "timeout", {}, {"letsencrypt.org"});
    REQUIRE(caa);
    f.last_error = caa->reason;
    auto c = first_failing(domain_conditions(f, Audience::kTenant));
    CHECK(c.type == "PreflightOK");
    CHECK(c.status == Truth::kUnknown);
    CHECK(c.reason == "LookupFailed");
    CHECK(c.message == "CAA lookup for example.com failed (timeout)");
    CHECK(c.fix->find("the pre-flight is retried with backoff") != std::string::npos);
    CHECK(c.fix->ends_with("answer CAA queries"));
    auto ac = fc::domains::evaluate_acme_challenge("chat.example.com", "dom_1._acme.fleet.test",
                                                   {"SERVFAIL", {}}, {"", {}});
    REQUIRE(ac.transient);
    f.last_error = ac.message;
    c = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(c.reason == "LookupFailed");
    CHECK(c.fix->ends_with("answer for _acme-challenge.chat.example.com"));
  }

  TEST_CASE("pre-flight not run yet, certificate pending, failed order") {
    auto f = active_domain();
    f.state = "issuing";
    f.certificate.reset();
    f.cert_generation.reset();
    auto c = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(c.type == "PreflightOK");
    CHECK(c.reason == "NotRunYet");

    f.certificate = CertificateFact{"crt_1", "pending", {}, {}, {}};
    c = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(c.type == "CertificateIssued");
    CHECK(c.reason == "Ordering");

    f.certificate = CertificateFact{"crt_1",
                                    "failed",
                                    {},
                                    {},
                                    "urn:ietf:params:acme:error:x at "
                                    "https://ca.internal:14000/dir"};
    auto admin = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(admin.reason == "OrderFailed");
    CHECK(admin.message.find("ca.internal") != std::string::npos);
    auto tenant = first_failing(domain_conditions(f, Audience::kTenant));
    CHECK(tenant.reason == "OrderFailed");
    CHECK(tenant.message.find("ca.internal") == std::string::npos);

    // A lagging secondary of an RFC 2136 zone (certs/dns01_propagation.cpp):
    // the admin's fix names it; the tenant's does not.
    f.certificate->last_error =
        "acme:https://ca/dir: DNS-01 TXT _acme-challenge.www.customer.test not served by the "
        "authoritative server ns2.customer.test (127.0.0.2:5353): answered NXDOMAIN after 30 s";
    admin = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(admin.reason == "OrderFailed");
    REQUIRE(admin.fix);
    CHECK(admin.fix->find("ns2.customer.test (127.0.0.2:5353)") != std::string::npos);
    tenant = first_failing(domain_conditions(f, Audience::kTenant));
    REQUIRE(tenant.fix);
    CHECK(tenant.fix->find("ns2.customer.test") == std::string::npos);

    // The same error while the certificate is still pending (a retryable
    // error: docs/certs.md "Failures and backoff"): retried, not failed.
    f.certificate->status = "pending";
    admin = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(admin.reason == "OrderRetrying");
    CHECK(admin.message.find("the certificate order is retried: acme:https://ca/dir: DNS-01") == 0);
    REQUIRE(admin.fix);
    CHECK(admin.fix->find("ns2.customer.test (127.0.0.2:5353)") != std::string::npos);
    tenant = first_failing(domain_conditions(f, Audience::kTenant));
    CHECK(tenant.reason == "OrderRetrying");
    CHECK(tenant.message == "the certificate order is retried after a temporary error");
  }

  TEST_CASE("certificate not yet delivered: not in the assignment, then not fetched, then down") {
    auto f = active_domain();
    f.state = "issuing";
    f.cert_generation.reset();
    auto c = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(c.type == "CertificateDelivered");
    CHECK(c.reason == "NotInAssignment");

    f.cert_generation = 4;
    f.workspace.generation = 4;
    f.workspace.delivery.revision = 43;
    c = first_failing(domain_conditions(f, Audience::kAdmin));
    CHECK(c.type == "CertificateDelivered");
    CHECK(c.reason == "NotFetched");

    f.workspace.serving.healthy = false;
    f.workspace.serving.last_heartbeat_ms = kNow - 240'000;
    c = first_failing(domain_conditions(f, Audience::kTenant));
    CHECK(c.reason == "RegionDown");
    CHECK(c.fix == "region eu-west-1 has had no heartbeat for 4m: its agent is down");

    f.workspace.delivery.delivered_revision = 43;
    f.workspace.serving.healthy = true;
    CHECK(cond_of(domain_conditions(f, Audience::kAdmin), "CertificateDelivered").status ==
          Truth::kTrue);
  }

  TEST_CASE("JSON: fields, RFC 3339 since, fix only where set") {
    auto f = ready_ws();
    f.dns.answers.clear();
    auto j = conditions_json(workspace_conditions(f, Audience::kAdmin));
    REQUIRE(j.size() == 6);
    CHECK(j[0]["status"] == "True");
    CHECK(j[0]["since"].is_string());
    CHECK_FALSE(j[0].contains("fix"));
    CHECK(j[4]["type"] == "DNSPublished");
    CHECK(j[4]["status"] == "False");
    CHECK(j[4]["fix"].is_string());
    CHECK(j[5]["reason"] == "Blocked");
    CHECK(j[5]["since"].is_null());
    CHECK(j[5]["observed_generation"] == 3);
  }

  TEST_CASE("short_duration") {
    CHECK(short_duration(5'000) == "5s");
    CHECK(short_duration(245'000) == "4m");
    CHECK(short_duration(3'720'000) == "1h2m");
    CHECK(short_duration(7'200'000) == "2h");
    CHECK(short_duration(3 * 86'400'000LL) == "3d");
    CHECK(short_duration(-5) == "0s");
  }
}

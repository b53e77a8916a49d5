// The pure core of domains: normalisation, CAA, backoff, status messages.
#include <doctest/doctest.h>

#include "common/token_bucket.hpp"
#include "domains/domain.hpp"

using namespace fc::domains;

TEST_SUITE("domains") {
  TEST_CASE("normalize_hostname accepts and normalises") {
    struct Case {
      const char* in;
      const char* out;
    };
    const Case cases[] = {
        {"chat.customer.com", "chat.customer.com"},
        {"Chat.Customer.COM", "chat.customer.com"},
        {"chat.customer.com.", "chat.customer.com"},
        {"b\xC3\xBC"
         "cher.example",
         "xn--bcher-kva.example"},
        {"B\xC3\x9C"
         "CHER.example",
         "xn--bcher-kva.example"},
        {"xn--bcher-kva.example", "xn--bcher-kva.example"},
        {"stra\xC3\x9F"
         "e.de",
         "xn--strae-oqa.de"},  // IDNA2008 keeps ß (non-transitional)
        {"app.customer.test", "app.customer.test"},
        {"a-b.c-d.example", "a-b.c-d.example"},
        {"1.2.3.example", "1.2.3.example"},
        {"x.y", "x.y"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.in);
      auto r = normalize_hostname(c.in, "fleet.test");
      REQUIRE(r);
      CHECK(r.value() == c.out);
    }
  }

  TEST_CASE("normalize_hostname rejects with a reason") {
    struct Case {
      std::string in;
      const char* reason;  // a fragment of the message
    };
    const Case cases[] = {
        {"", "empty"},
        {".", "empty"},
        {"192.0.2.1", "IP address"},
        {"2001:db8::1", "IP address"},
        {"[2001:db8::1]", "IP address"},
        {"*.customer.com", "wildcard"},
        {"localhost", "single label"},
        {"com.", "single label"},
        {"a..b.com", "empty label"},
        {".a.com", "empty label"},
        {"a.com..", "empty label"},
        {"_dmarc.customer.com", "underscore"},
        {"a_b.customer.com", "underscore"},
        {std::string(64, 'a') + ".com", "63"},
        {std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
             std::string(63, 'd') + ".com",
         "253"},
        {std::string(2000, 'a'), "253"},
        {"host.123", "all digits"},
        {"-a.customer.com", "hyphen"},
        {"a-.customer.com", "hyphen"},
        {"a b.customer.com", "letters, digits and hyphens"},
        {"a/b.customer.com", "letters, digits and hyphens"},
        {"fleet.test", "platform zone"},
        {"ws1.fleet.test", "platform zone"},
        {"WS1.Fleet.Test.", "platform zone"},
        {"xn--zz.example", "internationalised"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.in);
      auto r = normalize_hostname(c.in, "fleet.test.");
      REQUIRE_FALSE(r);
      CHECK(r.error().code == fc::Code::kInvalidArgument);
      CHECK(r.error().detail.find(c.reason) != std::string::npos);
    }
    // Not inside the zone: a name that merely ends with the same characters.
    CHECK(normalize_hostname("myfleet.test", "fleet.test"));
  }

  TEST_CASE("verify_backoff grows by 5% and caps at 4 h") {
    using std::chrono::seconds;
    CHECK(verify_backoff(0, seconds(60)) == seconds(60));
    CHECK(verify_backoff(1, seconds(60)) == seconds(63));
    CHECK(verify_backoff(10, seconds(60)) == seconds(97));  // 60 × 1.05^10 = 97.7
    CHECK(verify_backoff(200, seconds(60)) == seconds(4 * 3600));
    CHECK(verify_backoff(100000, seconds(60)) == seconds(4 * 3600));
    CHECK(verify_backoff(-5, seconds(60)) == seconds(60));
    CHECK(verify_backoff(0, seconds(1)) == seconds(1));
    for (int n = 0; n < 300; ++n)
      CHECK(verify_backoff(n, seconds(60)) <= verify_backoff(n + 1, seconds(60)));
  }

  TEST_CASE("CAA evaluation (RFC 8659)") {
    std::vector<std::string> ours{"letsencrypt.org"};
    CHECK(evaluate_caa("a.com", {}, ours, false).allowed);
    CHECK(evaluate_caa("a.com", {{0, "issue", "letsencrypt.org"}}, ours, false).allowed);
    CHECK(evaluate_caa("a.com", {{0, "issue", " LetsEncrypt.org ; validationmethods=http-01"}},
                       ours, false)
              .allowed);
    CHECK(evaluate_caa("a.com", {{0, "issue", "pki.goog"}, {0, "issue", "letsencrypt.org"}}, ours,
                       false)
              .allowed);
    CHECK(evaluate_caa("a.com", {{0, "iodef", "mailto:x@a.com"}}, ours, false).allowed);
    auto no = evaluate_caa("a.com", {{0, "issue", "pki.goog"}}, ours, false);
    CHECK_FALSE(no.allowed);
    CHECK(no.reason.find("CAA") != std::string::npos);
    CHECK(no.reason.find("pki.goog") != std::string::npos);
    CHECK(no.reason.find("a.com") != std::string::npos);
    CHECK_FALSE(evaluate_caa("a.com", {{0, "issue", ";"}}, ours, false).allowed);
    // No identities configured: any issue property forbids.
    CHECK_FALSE(evaluate_caa("a.com", {{0, "issue", "letsencrypt.org"}}, {}, false).allowed);
    CHECK(evaluate_caa("a.com", {{0, "iodef", "mailto:x@a.com"}}, {}, false).allowed);
    // issuewild governs wildcards when present; issue otherwise.
    CHECK_FALSE(
        evaluate_caa("a.com", {{0, "issue", "letsencrypt.org"}, {0, "issuewild", ";"}}, ours, true)
            .allowed);
    CHECK(
        evaluate_caa("a.com", {{0, "issue", "letsencrypt.org"}, {0, "issuewild", ";"}}, ours, false)
            .allowed);
    CHECK(evaluate_caa("a.com", {{0, "issue", "letsencrypt.org"}}, ours, true).allowed);
    // Unknown critical property forbids; unknown non-critical is ignored.
    CHECK_FALSE(evaluate_caa("a.com", {{128, "tbs", "x"}}, ours, false).allowed);
    CHECK(evaluate_caa("a.com", {{0, "tbs", "x"}}, ours, false).allowed);
  }

  TEST_CASE("status messages say which record, what we expect and what we saw") {
    Expected e{
        "chat.customer.com", "fc-verify=abc", "acme.fleet.test", {"192.0.2.10", "2001:db8::10"}};
    SUBCASE("nothing there") {
      auto ev = evaluate(e, Observed{});
      CHECK_FALSE(ev.ownership_ok);
      CHECK_FALSE(ev.routing_ok);
      REQUIRE(ev.last_error);
      CHECK(*ev.last_error ==
            "TXT _fleetcommand.chat.customer.com: expected \"fc-verify=abc\", found none; "
            "CNAME chat.customer.com: expected \"acme.fleet.test\", found none");
    }
    SUBCASE("wrong token and wrong CNAME") {
      Observed o{{"", {"fc-verify=old", "v=spf1"}}, {"", {"elsewhere.example."}}, {}};
      auto ev = evaluate(e, o);
      CHECK(*ev.last_error ==
            "TXT _fleetcommand.chat.customer.com: expected \"fc-verify=abc\", found "
            "\"fc-verify=old\", \"v=spf1\"; "
            "CNAME chat.customer.com: expected \"acme.fleet.test\", found \"elsewhere.example\"");
      CHECK(ev.routing_found == "elsewhere.example");
    }
    SUBCASE("all good by CNAME") {
      Observed o{{"", {"fc-verify=abc"}}, {"", {"ACME.fleet.test."}}, {}};
      auto ev = evaluate(e, o);
      CHECK(ev.ownership_ok);
      CHECK(ev.routing_ok);
      CHECK(ev.routing_type == "CNAME");
      CHECK_FALSE(ev.last_error);
    }
    SUBCASE("apex by addresses") {
      Observed o{{"", {"fc-verify=abc"}}, {}, {"", {"192.0.2.10"}}};
      auto ev = evaluate(e, o);
      CHECK(ev.routing_ok);
      CHECK(ev.routing_type == "A");
      o.addrs.values.push_back("198.51.100.7");
      ev = evaluate(e, o);
      CHECK_FALSE(ev.routing_ok);
      CHECK(*ev.last_error ==
            "A/AAAA chat.customer.com: expected 192.0.2.10, 2001:db8::10, found 192.0.2.10, "
            "198.51.100.7");
    }
    SUBCASE("lookup failures are named") {
      Observed o{{"SERVFAIL", {}}, {"timeout", {}}, {}};
      auto ev = evaluate(e, o);
      CHECK(ev.last_error->find("TXT _fleetcommand.chat.customer.com: expected \"fc-verify=abc\", "
                                "found lookup failed (SERVFAIL)") == 0);
      CHECK(ev.last_error->find("found lookup failed (timeout)") != std::string::npos);
    }
  }

  TEST_CASE("_acme-challenge pre-flight") {
    const std::string del = "dom_1._acme.fleet.test";
    CHECK_FALSE(evaluate_acme_challenge("a.com", del, {}, {}).conflict);
    CHECK_FALSE(evaluate_acme_challenge("a.com", del, {}, {}).delegated);
    auto d = evaluate_acme_challenge("a.com", del, {"", {"DOM_1._acme.fleet.test."}}, {});
    CHECK(d.delegated);
    CHECK_FALSE(d.conflict);
    auto c = evaluate_acme_challenge("a.com", del, {"", {"other.example"}}, {});
    CHECK(c.conflict);
    CHECK(c.message.find("_acme-challenge.a.com") != std::string::npos);
    auto t = evaluate_acme_challenge("a.com", del, {}, {"", {"stale-token"}});
    CHECK(t.conflict);
    CHECK(t.message ==
          "TXT _acme-challenge.a.com: expected none, found \"stale-token\" (a conflicting "
          "_acme-challenge record)");
    // A failed lookup is no conflict: retried (transient) unless the name cannot be asked.
    auto sf = evaluate_acme_challenge("a.com", del, {"SERVFAIL", {}}, {});
    CHECK(sf.transient);
    CHECK_FALSE(sf.conflict);
    CHECK(sf.message == "CNAME _acme-challenge.a.com: lookup failed (SERVFAIL)");
    auto to = evaluate_acme_challenge("a.com", del, {}, {"timeout", {}});
    CHECK(to.transient);
    CHECK_FALSE(to.conflict);
    CHECK(to.message == "TXT _acme-challenge.a.com: lookup failed (timeout)");
    auto bn = evaluate_acme_challenge("a.com", del, {"bad name", {}}, {});
    CHECK_FALSE(bn.transient);
    CHECK(bn.conflict);
  }

  TEST_CASE("transient and definitive lookup errors (docs/domains.md)") {
    CHECK(lookup_outcome("") == Outcome::kPass);
    // The resolver said nothing about the customer's records: retry.
    for (const char* e : {"timeout", "SERVFAIL", "REFUSED", "NOTIMP", "FORMERR",
                          "connection refused", "TCP answer does not match the query",
                          "truncated message", "no resolver servers configured"}) {
      CAPTURE(e);
      CHECK(lookup_outcome(e) == Outcome::kRetry);
    }
    // A name no resolver can answer (over 255 octets with its prefix): definitive.
    CHECK(lookup_outcome("bad name") == Outcome::kFail);
  }

  TEST_CASE("the state after a pre-flight: a transient error keeps the state") {
    for (auto st : {State::kIssuing, State::kFailed, State::kMoved}) {
      CAPTURE(state_name(st));
      CHECK(state_after_preflight(st, Outcome::kRetry) == st);
      CHECK(state_after_preflight(st, Outcome::kFail) == State::kFailed);
      CHECK(state_after_preflight(st, Outcome::kPass) == State::kIssuing);
    }
  }

  TEST_CASE("one step of the CAA climb") {
    const std::vector<std::string> ours{"pebble.example"};
    // Empty set: ask the parent.
    CHECK_FALSE(caa_step("a.example.com", "", {}, ours));
    auto allowed = caa_step("example.com", "", {{0, "issue", "pebble.example"}}, ours);
    REQUIRE(allowed);
    CHECK(allowed->outcome == Outcome::kPass);
    auto forbids = caa_step("example.com", "", {{0, "issue", "other-ca.example"}}, ours);
    REQUIRE(forbids);
    CHECK(forbids->outcome == Outcome::kFail);
    CHECK(forbids->reason.find("CAA at example.com forbids our CA") == 0);
    for (const char* e : {"SERVFAIL", "timeout"}) {
      auto r = caa_step("example.com", e, {}, ours);
      REQUIRE(r);
      CHECK(r->outcome == Outcome::kRetry);
      CHECK(r->reason == "CAA lookup for example.com failed (" + std::string(e) + ")");
    }
    auto bad = caa_step("example.com", "bad name", {}, ours);
    REQUIRE(bad);
    CHECK(bad->outcome == Outcome::kFail);
  }

  TEST_CASE("routing that a failed lookup left undecided") {
    Expected e{"chat.customer.com", "fc-verify=abc", "acme.fleet.test", {"192.0.2.10"}};
    const Lookup tok{"", {"fc-verify=abc"}};
    CHECK(evaluate(e, {tok, {"timeout", {}}, {}}).routing_lookup_failed);
    CHECK(evaluate(e, {tok, {"", {}}, {"SERVFAIL", {}}}).routing_lookup_failed);
    // Definitive answers: nothing there, elsewhere, foreign addresses.
    CHECK_FALSE(evaluate(e, {tok, {"", {}}, {"", {}}}).routing_lookup_failed);
    CHECK_FALSE(evaluate(e, {tok, {"", {"elsewhere.example"}}, {}}).routing_lookup_failed);
    CHECK_FALSE(evaluate(e, {tok, {"", {}}, {"", {"198.51.100.7"}}}).routing_lookup_failed);
    CHECK_FALSE(evaluate(e, {tok, {"", {"acme.fleet.test"}}, {}}).routing_lookup_failed);
  }

  TEST_CASE("state names round-trip") {
    for (auto s : {State::kPendingVerification, State::kIssuing, State::kActive, State::kFailed,
                   State::kMoved, State::kDeleted}) {
      CHECK(parse_state(state_name(s)) == s);
    }
    CHECK_FALSE(parse_state("bogus"));
  }

  TEST_CASE("token bucket caps the query rate") {
    fc::TokenBucket b(fc::BucketRate::per_second(10, 10));  // 10 per second, burst 10
    std::int64_t t = 1000;
    int granted = 0;
    for (int i = 0; i < 100; ++i) granted += b.take(t) == 0;
    CHECK(granted == 10);
    auto wait = b.take(t);
    CHECK(wait > 0);
    CHECK(wait <= 101);
    t += 1000;  // one second later: ten more
    granted = 0;
    for (int i = 0; i < 100; ++i) granted += b.take(t) == 0;
    CHECK(granted == 10);
    t += 100000;  // a long pause refills only to the burst
    CHECK(b.tokens(t) == doctest::Approx(10));
  }

  TEST_CASE("token bucket reservations pace callers in order under the cap") {
    // the verifier's: 400 per second, burst of one
    fc::TokenBucket b(fc::BucketRate::per_second(400, 1));
    const std::int64_t t = 5000;
    CHECK(b.reserve(t) == 0);
    std::int64_t last = 0;
    int within_a_second = 1;
    for (int i = 1; i < 1000; ++i) {
      auto wait = b.reserve(t);
      CHECK(wait >= last);  // first come, first served
      last = wait;
      within_a_second += wait < 1000;
    }
    // Slots every 2.5 ms: at most burst + rate × 1 s start in the first second.
    CHECK(within_a_second <= 401);
    CHECK(within_a_second >= 399);
    CHECK(last == doctest::Approx(999 * 2.5).epsilon(0.01));
    // Once the reserved slots have passed, the bucket refills to its burst only.
    CHECK(b.tokens(t + 100000) == doctest::Approx(1));
  }

}  // TEST_SUITE

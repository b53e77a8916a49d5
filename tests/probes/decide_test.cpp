// The pure core of the live checks: the state a probe result leads to and
// the judgement of each step, table-driven (docs/probes.md "Decision").
#include <doctest/doctest.h>

#include "probes/probe.hpp"

using namespace fc::probes;

namespace {

Outcome pass_outcome() { return Outcome{true, Step::kHttp, "HTTP 200 from 127.0.0.1:8443", "fp2"}; }
Outcome fail_at(Step s) { return Outcome{false, s, "broken", "fpX"}; }

LiveResult state(LiveStatus s, std::int64_t failures, std::string fp = "fp1") {
  LiveResult r;
  r.hostname = "chat.customer.test";
  r.workspace_id = "ws_1";
  r.status = s;
  r.failures = failures;
  r.fingerprint = std::move(fp);
  return r;
}

}  // namespace

TEST_SUITE("probes") {
  TEST_CASE("decide: previous state and outcome give the next state") {
    struct Row {
      const char* name;
      std::optional<LiveResult> prev;
      Outcome out;
      LiveStatus want;
      std::int64_t want_failures;
    };
    const Row rows[] = {
        {"first probe passes: live", std::nullopt, pass_outcome(), LiveStatus::kLive, 0},
        {"first probe fails: failing", std::nullopt, fail_at(Step::kDns), LiveStatus::kFailing, 1},
        {"live, one failure: still live", state(LiveStatus::kLive, 0), fail_at(Step::kHttp),
         LiveStatus::kLive, 1},
        {"live, second failure in a row: failing", state(LiveStatus::kLive, 1),
         fail_at(Step::kHttp), LiveStatus::kFailing, 2},
        {"live after one failure, success: live, count reset", state(LiveStatus::kLive, 1),
         pass_outcome(), LiveStatus::kLive, 0},
        {"failing, one success: live", state(LiveStatus::kFailing, 5), pass_outcome(),
         LiveStatus::kLive, 0},
        {"failing, failure: failing", state(LiveStatus::kFailing, 2), fail_at(Step::kTls),
         LiveStatus::kFailing, 3},
        {"unknown row, failure: failing", state(LiveStatus::kUnknown, 0), fail_at(Step::kConnect),
         LiveStatus::kFailing, 1},
    };
    for (const auto& r : rows) {
      CAPTURE(r.name);
      const LiveResult got = decide(r.prev, r.out, 1234);
      CHECK(got.status == r.want);
      CHECK(got.failures == r.want_failures);
      CHECK(got.step == r.out.step);
      CHECK(got.detail == r.out.detail);
      CHECK(got.checked_at == 1234);
    }
  }

  TEST_CASE("decide: the fingerprint follows successes only") {
    CHECK(decide(state(LiveStatus::kLive, 0, "old"), pass_outcome(), 1).fingerprint == "fp2");
    CHECK(decide(state(LiveStatus::kLive, 0, "old"), fail_at(Step::kCertificate), 1).fingerprint ==
          "old");
    CHECK(decide(std::nullopt, fail_at(Step::kCertificate), 1).fingerprint.empty());
    CHECK(decide(state(LiveStatus::kLive, 0), fail_at(Step::kDns), 1).hostname ==
          "chat.customer.test");
  }

  TEST_CASE("judge_tls: handshake, our leaf, chain, name") {
    TlsFacts good{true, "", true, "ok", true, "aa", "fleetcommand internal root"};
    CHECK_FALSE(judge_tls(good, {"aa"}, true, "127.0.0.1:8443"));
    CHECK_FALSE(judge_tls(good, {}, false, "127.0.0.1:8443"));  // operator's wildcard

    TlsFacts foreign = good;
    foreign.leaf_fingerprint = "bb";
    foreign.issuer_cn = "TRAEFIK DEFAULT CERT";
    foreign.chain_ok = false;
    foreign.chain_error = "self-signed certificate";
    auto r = judge_tls(foreign, {"aa"}, true, "192.0.2.10:443");
    REQUIRE(r);
    CHECK(r->step == Step::kCertificate);
    CHECK(r->detail == "TLS: served certificate is not ours (issuer CN=TRAEFIK DEFAULT CERT)");
    // Without a leaf of ours to compare, an untrusted chain fails the TLS step.
    r = judge_tls(foreign, {}, false, "192.0.2.10:443");
    REQUIRE(r);
    CHECK(r->step == Step::kTls);
    CHECK(r->detail == "TLS: certificate not trusted: self-signed certificate from 192.0.2.10:443");

    TlsFacts wrong_name = good;
    wrong_name.name_ok = false;
    r = judge_tls(wrong_name, {}, false, "192.0.2.10:443");
    REQUIRE(r);
    CHECK(r->step == Step::kTls);

    TlsFacts no_hs{false, "handshake failure", false, "", false, "", ""};
    r = judge_tls(no_hs, {"aa"}, true, "[::1]:8443");
    REQUIRE(r);
    CHECK(r->step == Step::kTls);
    CHECK(r->detail == "TLS: handshake failed: handshake failure from [::1]:8443");
    // Ours but no longer trusted (an expired chain): the TLS step.
    TlsFacts ours_untrusted = good;
    ours_untrusted.chain_ok = false;
    ours_untrusted.chain_error = "certificate has expired";
    r = judge_tls(ours_untrusted, {"aa"}, true, "192.0.2.10:443");
    REQUIRE(r);
    CHECK(r->step == Step::kTls);
  }

  TEST_CASE("judge_http: 2xx and 3xx pass") {
    struct Row {
      int status;
      bool ok;
    };
    for (const Row r : {Row{200, true}, Row{204, true}, Row{301, true}, Row{399, true},
                        Row{199, false}, Row{404, false}, Row{502, false}, Row{503, false}}) {
      CAPTURE(r.status);
      const Outcome o = judge_http(r.status, "192.0.2.10:443");
      CHECK(o.ok == r.ok);
      CHECK(o.step == Step::kHttp);
    }
    CHECK(judge_http(502, "192.0.2.10:443").detail == "HTTP 502 from 192.0.2.10:443");
  }

  TEST_CASE("dns_no_address names the alias or the rcode") {
    CHECK(dns_no_address("chat.customer.com", {"x.example", "old-provider.example"}, "NXDOMAIN") ==
          "DNS: chat.customer.com has no address (CNAME \u2192 old-provider.example)");
    CHECK(dns_no_address("chat.customer.com", {}, "NXDOMAIN") ==
          "DNS: chat.customer.com has no address (NXDOMAIN)");
    CHECK(dns_no_address("chat.customer.com", {}, "NOERROR") ==
          "DNS: chat.customer.com has no address");
  }

  TEST_CASE("names round-trip") {
    for (auto s : {LiveStatus::kUnknown, LiveStatus::kLive, LiveStatus::kFailing})
      CHECK(parse_status(status_name(s)) == s);
    for (auto s : {Step::kDns, Step::kConnect, Step::kTls, Step::kCertificate, Step::kHttp})
      CHECK(parse_step(step_name(s)) == s);
    CHECK_FALSE(parse_status("up"));
    CHECK_FALSE(parse_step("ping"));
  }
}

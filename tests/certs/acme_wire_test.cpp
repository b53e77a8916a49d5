#include "certs/detail/acme_wire.hpp"

#include <doctest/doctest.h>

#include "certs/detail/https.hpp"

using namespace fc::certs;
using namespace fc::certs::detail;
using fc::Code;

TEST_SUITE("certs") {
  TEST_CASE("directory: Pebble's shape, optional members, wrong types") {
    auto d = parse_directory(
        R"({"keyChange":"https://ca/rollover","meta":{"externalAccountRequired":true,
      "termsOfService":"data:text/plain,x"},"newAccount":"https://ca/acct",
      "newNonce":"https://ca/nonce","newOrder":"https://ca/order","revokeCert":"https://ca/revoke",
      "renewalInfo":"https://ca/ari"})");
    REQUIRE(d);
    CHECK(d.value().new_nonce == "https://ca/nonce");
    CHECK(d.value().renewal_info == "https://ca/ari");
    CHECK(d.value().external_account_required);
    CHECK(parse_directory(R"({"newAccount":"a","newNonce":"n","newOrder":"o"})")
              .value()
              .renewal_info.empty());
    for (const char* bad :
         {"", "[]", "{", "null", R"({"newNonce":"n","newOrder":"o"})",
          R"({"newAccount":1,"newNonce":"n","newOrder":"o"})",
          R"({"newAccount":"a","newNonce":"n","newOrder":"o","revokeCert":[]})"}) {
      CAPTURE(bad);
      auto r = parse_directory(bad);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Code::kParse);
    }
  }

  TEST_CASE("order and authorization parsing") {
    auto o =
        parse_order(R"({"status":"valid","identifiers":[{"type":"dns","value":"a.example.test"}],
      "authorizations":["https://ca/authz/1"],"finalize":"https://ca/fin",
      "certificate":"https://ca/cert"})");
    REQUIRE(o);
    CHECK(o.value().identifiers == std::vector<std::string>{"a.example.test"});
    CHECK(o.value().certificate == "https://ca/cert");
    auto inv =
        parse_order(R"({"status":"invalid","finalize":"f",)"
                    R"("error":{"type":"urn:ietf:params:acme:error:unauthorized","detail":"no"}})");
    REQUIRE(inv);
    REQUIRE(inv.value().error);
    CHECK(inv.value().error->type == "urn:ietf:params:acme:error:unauthorized");
    CHECK_FALSE(parse_order(R"({"status":"pending","finalize":"f","authorizations":"x"})"));
    CHECK_FALSE(parse_order(R"({"status":"pending","finalize":"f","authorizations":[1]})"));
    CHECK_FALSE(parse_order(R"({"status":"pending"})"));

    auto a = parse_authorization(
        R"({"status":"pending","identifier":{"type":"dns","value":"a.example.test"},
      "challenges":[{"type":"http-01","url":"https://ca/ch/1","token":"tok","status":"pending"},
                    {"type":"dns-01","url":"https://ca/ch/2","token":"tok2","status":"invalid",
                     "error":{"type":"urn:ietf:params:acme:error:dns","detail":"NXDOMAIN"}}]})");
    REQUIRE(a);
    REQUIRE(a.value().challenges.size() == 2);
    CHECK(a.value().challenges[1].error->detail == "NXDOMAIN");
    CHECK_FALSE(
        parse_authorization(R"({"status":"pending","identifier":{"value":"x"},"challenges":{}})"));
    CHECK_FALSE(parse_authorization(R"({"status":"pending","challenges":[]})"));
    CHECK_FALSE(parse_authorization(
        R"({"status":"pending","identifier":{"value":"x"},"challenges":[{"type":"http-01"}]})"));
  }

  TEST_CASE("problem documents keep type, detail, subproblems; classification") {
    Problem p = parse_problem(
        R"({"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"bad names",
      "status":400,"subproblems":[{"type":"urn:ietf:params:acme:error:malformed",
      "detail":"wildcard",
      "identifier":{"type":"dns","value":"*.x.test"}}, 7]})",
        400);
    CHECK(p.type == "urn:ietf:params:acme:error:rejectedIdentifier");
    REQUIRE(p.subproblems.size() == 1);
    CHECK(p.subproblems[0].identifier == "*.x.test");
    CHECK_FALSE(p.retryable());
    auto e = problem_error(p);
    CHECK(e.code == Code::kInvalidArgument);
    CHECK(e.detail.find("rejectedIdentifier") != std::string::npos);
    CHECK(e.detail.find("*.x.test") != std::string::npos);

    Problem rl = parse_problem(
        R"({"type":"urn:ietf:params:acme:error:rateLimited","detail":"slow down"})", 429);
    rl.retry_after_s = 30;
    CHECK(rl.retryable());
    CHECK(problem_error(rl).code == Code::kRateLimited);
    CHECK(problem_error(rl).is(fc::certs::Errc::kCaRateLimited));
    CHECK(problem_error(rl).detail.find("retry_after=30s") != std::string::npos);

    Problem junk = parse_problem("<html>502</html>", 502);
    CHECK(junk.type == "about:blank");
    CHECK(junk.retryable());
    CHECK(problem_error(junk).code == Code::kUnavailable);
    CHECK(problem_error(junk).is(fc::certs::Errc::kCaUnavailable));
    CHECK(problem_error(
              parse_problem(R"({"type":"urn:ietf:params:acme:error:accountDoesNotExist"})", 400))
              .code == Code::kNotFound);
    CHECK(parse_problem(
              R"({"type":"urn:ietf:params:acme:error:malformed","detail":"no such order"})", 404)
              .resource_gone());
    CHECK_FALSE(parse_problem(R"({"type":"urn:ietf:params:acme:error:accountDoesNotExist"})", 404)
                    .resource_gone());
    CHECK_FALSE(rl.resource_gone());
    CHECK(
        problem_error(parse_problem(R"({"type":"urn:ietf:params:acme:error:alreadyRevoked"})", 400))
            .code == Code::kConflict);
    CHECK(
        problem_error(
            parse_problem(R"({"type":"urn:ietf:params:acme:error:externalAccountRequired"})", 400))
            .code == Code::kForbidden);
    CHECK(parse_problem(R"({"type":"urn:ietf:params:acme:error:badNonce"})", 400).retryable());
    CHECK(is_problem_type(parse_problem(R"({"type":"urn:ietf:params:acme:error:badNonce"})", 400),
                          "badNonce"));
    CHECK_FALSE(
        is_problem_type(parse_problem(R"({"type":"urn:other:badNonce"})", 400), "badNonce"));
  }

  TEST_CASE("renewalInfo parsing") {
    auto ri = parse_renewal_info(
        R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00Z"},)"
        R"("explanationURL":"https://ca/why"})");
    REQUIRE(ri);
    CHECK(ri.value().window_end - ri.value().window_start == std::chrono::hours(24));
    CHECK(ri.value().explanation_url == "https://ca/why");
    CHECK_FALSE(parse_renewal_info(
        R"({"suggestedWindow":{"start":"2025-01-03T04:00:00Z","end":"2025-01-02T04:00:00Z"}})"));
    CHECK_FALSE(parse_renewal_info(R"({"suggestedWindow":{"start":1,"end":2}})"));
    CHECK_FALSE(parse_renewal_info(R"({})"));
  }

  TEST_CASE("Link headers: several per line and several lines") {
    auto links =
        parse_links({R"(<https://ca/cert/1/1>;rel="alternate", <https://ca/dir>;rel="index")",
                     "<https://ca/cert/1/2>; rel=alternate"});
    REQUIRE(links.size() == 3);
    CHECK(links[0].url == "https://ca/cert/1/1");
    CHECK(links[0].rel == "alternate");
    CHECK(links[1].rel == "index");
    CHECK(links[2].rel == "alternate");
    CHECK(parse_links({"garbage", "<unterminated"}).empty());
  }

  TEST_CASE("order state survives serialize/parse; bad state is an error") {
    OrderState st;
    st.identifiers = {"a.example.test"};
    st.status = OrderStatus::kPending;
    st.order_url = "https://ca/order/1";
    st.authorization_urls = {"https://ca/authz/1"};
    st.challenges.push_back({"https://ca/authz/1", "a.example.test", "http-01", "https://ca/ch/1",
                             "tok", "tok.th", true});
    st.error = Problem{
        "urn:ietf:params:acme:error:dns", "NXDOMAIN", 400, {{"t", "d", "a.example.test"}}, 5};
    st.steps = 3;
    auto back = parse_order_state(serialize_order_state(st));
    REQUIRE(back);
    CHECK(serialize_order_state(back.value()) == serialize_order_state(st));
    CHECK(back.value().challenges[0].responded);
    CHECK(back.value().error->retry_after_s == 5);
    CHECK_FALSE(parse_order_state("[]"));
    CHECK_FALSE(parse_order_state(R"({"status":5})"));
    CHECK_FALSE(parse_order_state(R"({"identifiers":[1]})"));
    CHECK_FALSE(parse_order_state(R"({"challenges":[1]})"));
  }

  TEST_CASE("https URLs") {
    auto u = parse_https_url("https://127.0.0.1:14000/dir");
    REQUIRE(u);
    CHECK(u.value().host == "127.0.0.1");
    CHECK(u.value().port == "14000");
    CHECK(u.value().target == "/dir");
    CHECK(parse_https_url("https://acme-v02.api.letsencrypt.org").value().port == "443");
    CHECK(parse_https_url("https://[::1]:8443/x").value().host == "::1");
    CHECK_FALSE(parse_https_url("http://ca/dir"));
    CHECK_FALSE(parse_https_url("https://:5/x"));
    CHECK_FALSE(parse_https_url("https://host:99999999/x"));
    CHECK_FALSE(parse_https_url("https://host:ab/x"));
  }
}

// Typed states (certs/status.cpp): every enumerator's name parses back to it,
// the stored/wire texts are the RFC 8555 §7.1.6 and migration 0005 ones, and
// anything else is rejected.
#include "certs/detail/status.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "certs/detail/acme_wire.hpp"

using namespace fc::certs;
using namespace fc::certs::detail;

TEST_SUITE("certs") {
  TEST_CASE("order status: RFC 8555 §7.1.6 names round trip") {
    const std::vector<std::pair<OrderStatus, std::string>> table{
        {OrderStatus::kNone, ""},       {OrderStatus::kPending, "pending"},
        {OrderStatus::kReady, "ready"}, {OrderStatus::kProcessing, "processing"},
        {OrderStatus::kValid, "valid"}, {OrderStatus::kInvalid, "invalid"}};
    for (const auto& [s, name] : table) {
      CAPTURE(name);
      CHECK(order_status_name(s) == name);
      CHECK(parse_order_status(name) == s);
    }
    CHECK_FALSE(parse_order_status("Valid"));
    CHECK_FALSE(parse_order_status("deactivated"));
    CHECK_FALSE(parse_order_status("valid "));
  }

  TEST_CASE("authorization and challenge status names round trip") {
    const std::vector<std::pair<AuthzStatus, std::string>> authz{
        {AuthzStatus::kPending, "pending"}, {AuthzStatus::kValid, "valid"},
        {AuthzStatus::kInvalid, "invalid"}, {AuthzStatus::kDeactivated, "deactivated"},
        {AuthzStatus::kExpired, "expired"}, {AuthzStatus::kRevoked, "revoked"}};
    for (const auto& [s, name] : authz) {
      CAPTURE(name);
      CHECK(authz_status_name(s) == name);
      CHECK(parse_authz_status(name) == s);
    }
    CHECK_FALSE(parse_authz_status("ready"));
    CHECK_FALSE(parse_authz_status(""));
    const std::vector<std::pair<ChallengeStatus, std::string>> challenge{
        {ChallengeStatus::kPending, "pending"},
        {ChallengeStatus::kProcessing, "processing"},
        {ChallengeStatus::kValid, "valid"},
        {ChallengeStatus::kInvalid, "invalid"}};
    for (const auto& [s, name] : challenge) {
      CAPTURE(name);
      CHECK(challenge_status_name(s) == name);
      CHECK(parse_challenge_status(name) == s);
    }
    CHECK_FALSE(parse_challenge_status("revoked"));
  }

  TEST_CASE("stored certificate status names round trip") {
    const std::vector<std::pair<CertStatus, std::string>> table{{CertStatus::kPending, "pending"},
                                                                {CertStatus::kValid, "valid"},
                                                                {CertStatus::kRenewing, "renewing"},
                                                                {CertStatus::kFailed, "failed"},
                                                                {CertStatus::kExpired, "expired"}};
    for (const auto& [s, name] : table) {
      CAPTURE(name);
      CHECK(cert_status_name(s) == name);
      CHECK(parse_cert_status(name) == s);
    }
    CHECK_FALSE(parse_cert_status(""));
    CHECK_FALSE(parse_cert_status("processing"));
  }

  TEST_CASE("wire parsers reject a status the RFC does not list") {
    auto o = parse_order(R"({"status":"done","finalize":"f"})");
    REQUIRE_FALSE(o);
    CHECK(o.error().code == fc::Code::kParse);
    CHECK(parse_order(R"({"status":"ready","finalize":"f"})").value().status ==
          OrderStatus::kReady);
    CHECK_FALSE(
        parse_authorization(R"({"status":"ready","identifier":{"value":"x"},"challenges":[]})"));
    CHECK_FALSE(parse_order_state(R"({"status":"done"})"));
    CHECK(parse_order_state(R"({"status":"processing"})").value().status ==
          OrderStatus::kProcessing);
  }
}

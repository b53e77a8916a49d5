// DNS-01 by RFC 2136: which provider zone gets a challenge TXT (longest
// suffix; the platform zone stays on the embedded server). The providers list
// is parsed by dns::parse_rfc2136_targets (tests/dns/update_test.cpp).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "certs/detail/service_impl.hpp"

using namespace fc::certs;

TEST_SUITE("certs") {
  TEST_CASE("match_rfc2136_zone: longest suffix, platform zone excluded, label boundaries") {
    auto zones = fc::dns::parse_rfc2136_targets(nlohmann::json::parse(R"([
      {"type":"rfc2136","server":"127.0.0.1:53","zone":"customer.test"},
      {"type":"rfc2136","server":"127.0.0.1:54","zone":"eu.customer.test.",
       "tsig":{"name":"k","algorithm":"hmac-sha256","secret":"c2VjcmV0"}},
      {"type":"rfc2136","server":"127.0.0.1:55","zone":"fleet.test"}])"));
    REQUIRE(zones);
    const auto& z = zones.value();
    REQUIRE(z.size() == 3);
    CHECK(z[1].zone == "eu.customer.test");
    CHECK(z[1].key.has_value());
    struct Case {
      const char* owner;
      const char* server;  // "" = none
    };
    const Case cases[] = {
        {"_acme-challenge.www.customer.test", "127.0.0.1:53"},
        {"_acme-challenge.customer.test", "127.0.0.1:53"},
        {"_acme-challenge.shop.EU.customer.test.", "127.0.0.1:54"},
        {"_acme-challenge.www.fleet.test", ""},  // platform zone: embedded server (and its mirror)
        {"_acme-challenge.www.notcustomer.test", ""},  // not inside customer.test
        {"_acme-challenge.example.org", ""},
    };
    for (const auto& tc : cases) {
      CAPTURE(tc.owner);
      const auto* m = match_rfc2136_zone(z, "fleet.test", tc.owner);
      CHECK((m ? m->server : std::string()) == tc.server);
    }
  }
}

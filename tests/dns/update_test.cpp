// The RFC 2136 client's configuration: dns.providers[] parsed into targets
// (used by both the provider sync and certs' DNS-01 solver).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "dns/server.hpp"

using namespace fc::dns;

TEST_SUITE("dns") {
  TEST_CASE("parse_rfc2136_targets: id, lower-case zone without the dot, key, retry base") {
    auto t = parse_rfc2136_targets(nlohmann::json::parse(R"([
      {"type":"rfc2136","server":"127.0.0.1:53","zone":"Customer.TEST."},
      {"server":"127.0.0.1:54","zone":"eu.customer.test","retry_base_ms":50,
       "tsig":{"name":"k","algorithm":"hmac-sha256","secret":"c2VjcmV0"}}])"));
    REQUIRE(t);
    REQUIRE(t.value().size() == 2);
    CHECK(t.value()[0].zone == "customer.test");
    CHECK(t.value()[0].id == "127.0.0.1:53/customer.test");
    CHECK_FALSE(t.value()[0].key.has_value());
    CHECK(t.value()[0].retry_base == std::chrono::milliseconds(2000));
    CHECK(t.value()[1].key.has_value());
    CHECK(t.value()[1].retry_base == std::chrono::milliseconds(50));
  }

  TEST_CASE("parse_rfc2136_targets: a bad TSIG secret is a clear error") {
    auto bad = parse_rfc2136_targets(
        nlohmann::json::parse(R"([{"type":"rfc2136","server":"127.0.0.1:53","zone":"c.test",)"
                              R"("tsig":{"name":"k","secret":"***"}}])"));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().detail.find("dns.providers c.test.tsig") != std::string::npos);
    CHECK(parse_rfc2136_targets(nlohmann::json()).value().empty());
  }
}

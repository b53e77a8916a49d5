// The outbound guard: which addresses a delivery may connect to, and which
// endpoint URLs are accepted (table-driven, v4 and v6).
#include <doctest/doctest.h>

#include "webhooks/detail/sender.hpp"
#include "webhooks/service.hpp"

using namespace fc::webhooks;

TEST_SUITE("webhooks") {
  TEST_CASE("refused_address: loopback, private, link-local and friends, v4 and v6") {
    struct Row {
      const char* ip;
      const char* why;  // nullptr: allowed
    };
    const Row rows[] = {
        {"127.0.0.1", "loopback"},
        {"127.255.0.9", "loopback"},
        {"10.1.2.3", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"172.32.0.1", nullptr},
        {"192.168.1.1", "private"},
        {"169.254.169.254", "link-local"},
        {"100.64.0.1", "shared (CGNAT)"},
        {"0.0.0.0", "unspecified"},
        {"224.0.0.1", "multicast"},
        {"255.255.255.255", "reserved"},
        {"8.8.8.8", nullptr},
        {"1.1.1.1", nullptr},
        {"::1", "loopback"},
        {"::", "unspecified"},
        {"fe80::1", "link-local"},
        {"fe80::1%eth0", "link-local"},
        {"fd00::1", "private"},
        {"fc00::1", "private"},
        {"ff02::1", "multicast"},
        {"::ffff:127.0.0.1", "loopback"},
        {"::ffff:10.0.0.1", "private"},
        {"::ffff:8.8.8.8", nullptr},
        {"64:ff9b::a9fe:a9fe", "link-local"},
        {"2001:db8::1", "documentation"},
        {"2606:4700:4700::1111", nullptr},
        {"not-an-ip", "not an IP address"},
    };
    for (const auto& r : rows) {
      auto got = refused_address(r.ip);
      INFO(r.ip);
      if (r.why == nullptr) {
        CHECK_FALSE(got);
      } else {
        REQUIRE(got);
        CHECK(*got == r.why);
      }
    }
  }

  TEST_CASE("check_url") {
    CHECK_FALSE(check_url("https://hooks.example.com/fleet?x=1", false));
    CHECK_FALSE(check_url("http://hooks.example.com:8080/", false));
    CHECK_FALSE(check_url("https://[2606:4700:4700::1111]:443/x", false));
    CHECK_FALSE(check_url("http://127.0.0.1:9000/hook", true));  // allow_private
    struct Bad {
      const char* url;
      const char* part;  // of the reason
    };
    const Bad bad[] = {
        {"ftp://example.com/", "http:// or https://"},
        {"https://", "must name a host"},
        {"https://user:pw@example.com/", "user info"},
        {"https://example.com/#frag", "fragment"},
        {"https://example.com/a b", "spaces"},
        {"https://example.com:99999/", "port"},
        {"https://example.com:x/", "port"},
        {"http://127.0.0.1:9000/hook", "loopback"},
        {"http://10.0.0.8/", "private"},
        {"http://[::1]:80/", "loopback"},
        {"http://169.254.169.254/latest/meta-data", "link-local"},
        {"http://localhost:8080/", "loopback"},
        {"https://[::1/", "IPv6"},
    };
    for (const auto& b : bad) {
      auto why = check_url(b.url, false);
      INFO(b.url);
      REQUIRE(why);
      CHECK(why->find(b.part) != std::string::npos);
    }
  }

  TEST_CASE("split_url: what check_url accepts splits into the transport's URL and target") {
    struct Row {
      const char* url;
      bool tls;
      const char* host;
      const char* port;
      const char* target;
    };
    const Row rows[] = {
        {"https://hooks.example.com/in", true, "hooks.example.com", "443", "/in"},
        {"http://hooks.example.com", false, "hooks.example.com", "80", "/"},
        {"http://hooks.example.com?x=1", false, "hooks.example.com", "80", "/?x=1"},
        {"http://127.0.0.1:8080/a/b/?q=1&r=2", false, "127.0.0.1", "8080", "/a/b/?q=1&r=2"},
        {"https://[2001:db8::5]:8443/hook/", true, "2001:db8::5", "8443", "/hook/"},
    };
    for (const auto& r : rows) {
      INFO(r.url);
      REQUIRE_FALSE(check_url(r.url, true));
      auto t = fc::webhooks::detail::split_url(r.url);
      REQUIRE(t);
      CHECK(t->url.tls == r.tls);
      CHECK(t->url.host == r.host);
      CHECK(t->url.port == r.port);
      CHECK(t->url.base_path.empty());
      CHECK(t->target == r.target);
    }
    CHECK_FALSE(fc::webhooks::detail::split_url("ftp://example.com/"));
  }
}

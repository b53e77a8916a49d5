// Standard Webhooks signing: the specification's published test vector
// (standard-webhooks/standard-webhooks, libraries' "test_sign"), the
// space-separated header during a rotation, secrets and base64.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "webhooks/signature.hpp"

using namespace fc::webhooks;

TEST_SUITE("webhooks") {
  TEST_CASE("signature: the specification's known answer") {
    const char* secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    auto sig = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})");
    REQUIRE(sig);
    CHECK(sig.value() == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    // One byte of the body changed: another signature.
    auto other =
        sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232315})");
    CHECK(other.value() != sig.value());
  }

  TEST_CASE("signature header: one v1 signature per secret, space-separated") {
    auto a = new_secret();
    auto b = new_secret();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a.value().starts_with("whsec_"));
    CHECK(a.value() != b.value());
    CHECK(secret_key(a.value()).value().size() == 24);
    auto h = signature_header({a.value(), b.value()}, "evt_1", 1700000000, "{}");
    REQUIRE(h);
    const std::string expect = sign(a.value(), "evt_1", 1700000000, "{}").value() + " " +
                               sign(b.value(), "evt_1", 1700000000, "{}").value();
    CHECK(h.value() == expect);
  }

  TEST_CASE("secrets that are not whsec_ + base64 are refused") {
    for (const char* bad : {"", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!!",
                            "whsec_YWJj", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"})
      CHECK_FALSE_MESSAGE(secret_key(bad), bad);
  }

  TEST_CASE("base64 round trip") {
    const std::vector<std::string> inputs{"",    "a",    "ab",
                                          "abc", "abcd", std::string("\0\xff\x10", 3)};
    for (const std::string& s : inputs) {
      auto enc = base64_encode(s);
      if (s.empty()) {
        CHECK(enc.empty());
        continue;
      }
      auto dec = base64_decode(enc);
      REQUIRE(dec);
      CHECK(std::string(dec->begin(), dec->end()) == s);
    }
    CHECK(base64_encode("abcd") == "YWJjZA==");
    CHECK_FALSE(base64_decode("YW=jZA=="));
    CHECK_FALSE(base64_decode("YWJ"));
  }
}

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

  TEST_CASE("Signer: set up once, the same signatures message after message") {
    // What a lane does: one Signer per endpoint, restarted per message. Each
    // signature must be the one-shot one (the key reused, nothing carried
    // over from the previous message), and `keys` picks the secrets used.
    auto a = new_secret();
    auto b = new_secret();
    REQUIRE(a);
    REQUIRE(b);
    auto signer = Signer::create({a.value(), b.value()});
    REQUIRE(signer);
    CHECK(signer.value().size() == 2);
    const std::vector<std::string> bodies{"{}", R"({"test": 2432232314})", std::string(5000, 'x'),
                                          ""};
    for (int round = 0; round < 2; ++round) {
      for (const auto& body : bodies) {
        auto one = signer.value().header("evt_7", 1700000000 + round, body, 1);
        REQUIRE(one);
        CHECK(one.value() == sign(a.value(), "evt_7", 1700000000 + round, body).value());
        auto both = signer.value().header("evt_7", 1700000000 + round, body, 2);
        REQUIRE(both);
        CHECK(both.value() ==
              one.value() + " " + sign(b.value(), "evt_7", 1700000000 + round, body).value());
      }
    }
    // The specification's known answer through a Signer.
    auto known = Signer::create({"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"});
    REQUIRE(known);
    CHECK(known.value()
              .header("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})", 1)
              .value() == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    CHECK_FALSE(Signer::create({a.value(), "whsec_!!!!"}));
    CHECK(Signer().size() == 0);
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

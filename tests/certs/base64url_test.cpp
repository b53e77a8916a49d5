#include <doctest/doctest.h>

#include "certs/pki.hpp"
#include "test_util.hpp"

using namespace fc::certs;

TEST_SUITE("certs") {
  TEST_CASE("base64url: RFC 4648 §10 vectors without padding, both ways") {
    const std::pair<const char*, const char*> cases[] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (auto [plain, enc] : cases) {
      CHECK(base64url_encode(std::string_view(plain)) == enc);
      auto dec = base64url_decode(enc);
      REQUIRE(dec);
      CHECK(test::str(dec.value()) == plain);
    }
  }

  TEST_CASE("base64url: URL-safe alphabet") {
    const std::vector<std::uint8_t> b{0xfb, 0xff, 0xbf};
    CHECK(base64url_encode(b) == "-_-_");
    CHECK(base64url_decode("-_-_").value() == b);
  }

  TEST_CASE("base64url: strict decoding rejects non-canonical input") {
    for (const char* bad : {"Zg==", "Zg=", "Z", "Zm9v!", "Zm 9v", "Zh", "Zm9=", "+/", "Zm9vY"}) {
      CAPTURE(bad);
      auto r = base64url_decode(bad);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == fc::Code::kParse);
    }
  }

  TEST_CASE("base64url: round trip over all byte values") {
    std::vector<std::uint8_t> all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::uint8_t>(i));
    for (std::size_t n = 0; n <= all.size(); n += 37) {
      std::vector<std::uint8_t> part(all.begin(), all.begin() + static_cast<long>(n));
      CHECK(base64url_decode(base64url_encode(part)).value() == part);
    }
  }
}

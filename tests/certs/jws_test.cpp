#include "certs/detail/jws.hpp"

#include <doctest/doctest.h>

#include "certs/acme.hpp"
#include "test_util.hpp"

using namespace fc::certs;
using namespace fc::certs::detail;
using nlohmann::json;

namespace {
json decode_json(const std::string& b64) {
  return json::parse(test::str(base64url_decode(b64).value()));
}
}  // namespace

TEST_SUITE("certs") {
  TEST_CASE("RFC 7638 §3.1 thumbprint of the example RSA key") {
    json jwk{
        {"kty", "RSA"},
        {"n",
         "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
         "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
         "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
         "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
        {"e", "AQAB"},
        {"alg", "RS256"},
        {"kid", "2011-04-29"}};
    CHECK(jwk_thumbprint(jwk).value() == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  }

  TEST_CASE("thumbprint rejects incomplete or unknown JWKs") {
    CHECK_FALSE(jwk_thumbprint(json{{"kty", "EC"}, {"crv", "P-256"}, {"x", "AA"}}));
    CHECK_FALSE(jwk_thumbprint(json{{"kty", "oct"}, {"k", "AA"}}));
    CHECK_FALSE(jwk_thumbprint(json::array()));
  }

  TEST_CASE("RFC 7515 A.3: the ES256 example signature verifies; a flipped bit does not") {
    auto key = EcKey::from_jwk("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                               "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                               "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
    REQUIRE(key);
    const std::string input =
        "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxl"
        "LmNvbS9pc19yb290Ijp0cnVlfQ";
    std::string sig =
        test::str(base64url_decode("DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-"
                                   "F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q")
                      .value());
    REQUIRE(sig.size() == 64);
    CHECK(key.value().verify_es256(input, sig).value());
    sig[10] ^= 1;
    CHECK_FALSE(key.value().verify_es256(input, sig).value());
    // Our own signatures are raw R‖S and verify with the same key.
    auto mine = key.value().sign_es256(input);
    REQUIRE(mine);
    CHECK(mine.value().size() == 64);
    CHECK(key.value().verify_es256(input, mine.value()).value());
  }

  TEST_CASE("RFC 7515 A.1: HMAC-SHA256 example") {
    auto k = base64url_decode(
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
    REQUIRE(k);
    const std::string input =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQog"
        "Imh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    auto mac = hmac_sha256(test::str(k.value()), input);
    REQUIRE(mac);
    CHECK(base64url_encode(mac.value()) == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  }

  TEST_CASE("ES256 keys: PEM round trip keeps the JWK; other curves are refused") {
    auto key = EcKey::generate();
    REQUIRE(key);
    auto pem = key.value().to_pem();
    REQUIRE(pem);
    auto again = EcKey::from_pem(pem.value());
    REQUIRE(again);
    CHECK(again.value().jwk() == key.value().jwk());
    CHECK(key.value().jwk().dump().find("\"crv\":\"P-256\",\"kty\":\"EC\"") == 1);
    auto rsa = generate_key_pem(KeyType::kRsa2048);
    REQUIRE(rsa);
    CHECK_FALSE(EcKey::from_pem(rsa.value()));
    CHECK_FALSE(EcKey::from_pem("not a pem"));
  }

  TEST_CASE("acme_jws: jwk for newAccount, kid afterwards, empty payload for POST-as-GET") {
    auto key = EcKey::generate().value();
    auto with_jwk =
        json::parse(acme_jws(key, "", "n1", "https://ca/new-acct", json{{"a", 1}}).value());
    auto prot = decode_json(with_jwk["protected"]);
    CHECK(prot["alg"] == "ES256");
    CHECK(prot["nonce"] == "n1");
    CHECK(prot["url"] == "https://ca/new-acct");
    CHECK(prot["jwk"] == key.jwk());
    CHECK_FALSE(prot.contains("kid"));
    CHECK(decode_json(with_jwk["payload"]) == json{{"a", 1}});
    const std::string sig =
        test::str(base64url_decode(with_jwk["signature"].get<std::string>()).value());
    CHECK(key.verify_es256(with_jwk["protected"].get<std::string>() + "." +
                               with_jwk["payload"].get<std::string>(),
                           sig)
              .value());

    auto get = json::parse(
        acme_jws(key, "https://ca/acct/1", "n2", "https://ca/order/1", std::nullopt).value());
    auto prot2 = decode_json(get["protected"]);
    CHECK(prot2["kid"] == "https://ca/acct/1");
    CHECK_FALSE(prot2.contains("jwk"));
    CHECK(get["payload"] == "");
  }

  TEST_CASE("EAB (RFC 8555 §7.3.4): HS256 over the account JWK, verifiable with the MAC key") {
    auto key = EcKey::generate().value();
    const std::string mac_b64 = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
    auto eab = eab_jws("kid-1", mac_b64, key.jwk(), "https://ca/new-acct");
    REQUIRE(eab);
    auto prot = decode_json(eab.value()["protected"]);
    CHECK(prot == json{{"alg", "HS256"}, {"kid", "kid-1"}, {"url", "https://ca/new-acct"}});
    CHECK(decode_json(eab.value()["payload"]) == key.jwk());
    auto expect = hmac_sha256(test::str(base64url_decode(mac_b64).value()),
                              eab.value()["protected"].get<std::string>() + "." +
                                  eab.value()["payload"].get<std::string>());
    CHECK(eab.value()["signature"] == base64url_encode(expect.value()));
    CHECK_FALSE(eab_jws("kid-1", "not base64url!", key.jwk(), "u"));
  }

  TEST_CASE("key authorization (§8.1) and DNS-01 TXT value (§8.4)") {
    CHECK(key_authorization("tok", "thumb") == "tok.thumb");
    // SHA-256("abc") = ba7816bf…15ad (FIPS 180-2 B.1), base64url-encoded.
    CHECK(detail::dns01_txt_value("abc") == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    CHECK(fc::certs::dns01_txt_value("abc") == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  }
}

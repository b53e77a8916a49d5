#include <doctest/doctest.h>

#include <chrono>

#include "certs/pki.hpp"
#include "test_util.hpp"

using namespace fc::certs;
using namespace std::chrono;

namespace {
const fc::SysTime kPkiNow = fc::SysTime{seconds(1'800'000'000)};
}

TEST_SUITE("certs") {
  TEST_CASE("AES-256-GCM known answers (GCM spec test cases 13 and 14)") {
    const std::vector<std::uint8_t> key(32, 0), nonce(12, 0);
    auto empty = seal_with_nonce(key, nonce, "");
    REQUIRE(empty);
    CHECK(test::hex(empty.value()) == std::string(24, '0') + "530f8afbc74536b9a963b4f1c4cb738b");
    auto block = seal_with_nonce(key, nonce, std::string(16, '\0'));
    REQUIRE(block);
    CHECK(test::hex(block.value()) == std::string(24, '0') +
                                          "cea7403d4d606b6e074ec5d3baf39d18"
                                          "d0d1c8a799996bf0265b98b5d48ab919");
    CHECK(open(key, block.value()).value() == std::string(16, '\0'));
  }

  TEST_CASE("seal/open: round trip, random nonce, wrong key, tampering, truncation") {
    std::vector<std::uint8_t> key(32, 7), other(32, 8);
    auto a = seal(key, "-----BEGIN PRIVATE KEY-----");
    auto b = seal(key, "-----BEGIN PRIVATE KEY-----");
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a.value() != b.value());  // fresh nonce each time
    CHECK(open(key, a.value()).value() == "-----BEGIN PRIVATE KEY-----");
    CHECK(open(other, a.value()).error().code == fc::Code::kCrypto);
    std::string t = a.value();
    t[14] ^= 0x01;
    CHECK_FALSE(open(key, t));
    CHECK_FALSE(open(key, a.value().substr(0, 27)));
    CHECK_FALSE(open(key, ""));
    CHECK(seal(std::vector<std::uint8_t>(16, 0), "x").error().code == fc::Code::kInvalidArgument);
  }

  TEST_CASE("CSR with SANs is accepted by the internal CA; leaf facts come back") {
    auto ca = create_internal_ca(kPkiNow, "fleetcommand internal root");
    REQUIRE(ca);
    for (KeyType kt : {KeyType::kEcdsaP256, KeyType::kRsa2048}) {
      auto issued =
          issue_with_new_key(ca.value(), {"a.example.test", "www.a.example.test"}, kPkiNow, kt);
      REQUIRE(issued);
      auto chain = split_pem_chain(issued.value().chain_pem);
      REQUIRE(chain);
      CHECK(chain.value().size() == 2);  // leaf, then root
      CHECK(chain.value()[1] == ca.value().root_cert_pem);
      auto info = parse_leaf(issued.value().chain_pem);
      REQUIRE(info);
      CHECK(info.value().dns_names ==
            std::vector<std::string>{"a.example.test", "www.a.example.test"});
      CHECK(info.value().subject_cn == "a.example.test");
      CHECK(info.value().issuer_cn == "fleetcommand internal root");
      CHECK(info.value().not_after - info.value().not_before == hours(24 * 90 + 1));
      CHECK(info.value().ari_id.find('.') != std::string::npos);
      CHECK(top_issuer_cn(issued.value().chain_pem).value() == "fleetcommand internal root");
    }
    auto root = parse_leaf(ca.value().root_cert_pem);
    REQUIRE(root);
    CHECK(root.value().not_after - root.value().not_before == hours(24 * 3653 + 1));
  }

  TEST_CASE("internal CA refuses bad CSRs") {
    auto ca = create_internal_ca(kPkiNow, "root").value();
    CHECK_FALSE(
        issue_from_csr(ca, std::vector<std::uint8_t>{0x30, 0x03, 0x02, 0x01, 0x00}, kPkiNow));
    auto key = generate_key_pem(KeyType::kEcdsaP256).value();
    auto csr = make_csr_der(key, {"x.example.test"}).value();
    csr[csr.size() - 5] ^= 0x40;  // break the signature
    CHECK_FALSE(issue_from_csr(ca, csr, kPkiNow));
    CHECK_FALSE(make_csr_der(key, {}));
    CHECK_FALSE(make_csr_der("junk", {"x.example.test"}));
  }

  TEST_CASE("PEM chain parsing is strict about structure") {
    CHECK_FALSE(split_pem_chain(""));
    CHECK_FALSE(split_pem_chain("-----BEGIN CERTIFICATE-----\nAAAA\n"));
    CHECK_FALSE(parse_leaf("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
  }
}

#include <doctest/doctest.h>

#include "dns/codec.hpp"
#include "helpers.hpp"

using namespace fc;
using namespace fc::dns;
using namespace fc::dns::test;

TEST_SUITE("dns") {
  // Known-answer vectors: queries signed by BIND's dig 9.18 with
  // -y ALG:tsig-key:c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ== (tests/fuzz/corpus/dns/query_tsig_*).
  constexpr const char* kSecret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==";
  struct Kat {
    const char* alg;
    const char* hex;
  };
  const Kat kKats[] = {
      {"hmac-sha256",
       "8749012000010000000000020377777705666c6565740474657374000010000100002904d000000000000c000a0"
       "0087126317adfcd8a86"
       "08747369672d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006b0723ac012c002046ae4"
       "d8d50d1f293ec4bdc"
       "47511a03319d4ef43f7a3aa9f9ce446d7c45209aab874900000000"},
      {"hmac-sha1",
       "f428012000010000000000020377777705666c6565740474657374000001000100002904d000000000000c000a0"
       "008e26bea652b771288"
       "08747369672d6b65790000fa00ff00000000002f09686d61632d736861310000006b0723ad012c0014316c556ad"
       "9e39688553f9b80a7"
       "50b390448f0738f42800000000"},
      {"hmac-sha512",
       "105d012000010000000000020377777705666c6565740474657374000101000100002904d000000000000c000a0"
       "00828b794ba0315df99"
       "08747369672d6b65790000fa00ff00000000005d0b686d61632d7368613531320000006b0723ae012c00404e28a"
       "817257a55c26a9033"
       "c8a536f9d53bd7d1311628e2a1ebaae5cd3dd38e231cd08ae83b915274066e9324238f2f145fd5a5fd33b8c8d21"
       "37aaf2998990c4c10"
       "5d00000000"},
  };

  TsigKey key(const char* alg, const char* secret = kSecret, const char* name = "tsig-key.") {
    auto k = TsigKey::from_base64(name, alg, secret);
    REQUIRE(k);
    return k.value();
  }

  TEST_CASE("TSIG known answers from dig verify; tampering and wrong keys do not") {
    for (const auto& kat : kKats) {
      const std::string alg = kat.alg;
      CAPTURE(alg);
      auto wire = from_hex(kat.hex);
      auto m = parse(wire);
      REQUIRE(m);
      REQUIRE(m.value().tsig);
      const auto& t = std::get<TsigRdata>(m.value().tsig->rdata);
      const TsigKey keys[] = {key(kat.alg)};
      auto ok = tsig_verify(wire, keys, TsigSignOptions{t.time_signed + 10, 300, {}, false, 0});
      REQUIRE(ok);
      CHECK(ok.value().error == 0);
      CHECK(ok.value().mac == t.mac);
      auto late = tsig_verify(wire, keys, TsigSignOptions{t.time_signed + 301, 300, {}, false, 0});
      CHECK(late.value().error == static_cast<std::uint16_t>(Rcode::kBadTime));
      const TsigKey wrong[] = {key(kat.alg, "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==")};
      CHECK(tsig_verify(wire, wrong, TsigSignOptions{t.time_signed, 300, {}, false, 0})
                .value()
                .error == static_cast<std::uint16_t>(Rcode::kBadSig));
      const TsigKey other_name[] = {key(kat.alg, kSecret, "other.")};
      CHECK(tsig_verify(wire, other_name, TsigSignOptions{t.time_signed, 300, {}, false, 0})
                .value()
                .error == static_cast<std::uint16_t>(Rcode::kBadKey));
      wire[13] ^= 0x01;  // flip a bit of the question name
      CHECK(tsig_verify(wire, keys, TsigSignOptions{t.time_signed, 300, {}, false, 0})
                .value()
                .error == static_cast<std::uint16_t>(Rcode::kBadSig));
    }
  }

  TEST_CASE("sign then verify, request/response chaining and timers-only") {
    const TsigKey k = key("hmac-sha256");
    const TsigKey keys[] = {k};
    Message q;
    q.header.id = 4242;
    q.questions.push_back(Question{N("fleet.test"), RrType::kAxfr, kClassIn});
    auto sq = tsig_sign(serialize(q), k, TsigSignOptions{1700000000, 300, {}, false, 0});
    REQUIRE(sq);
    auto vq = tsig_verify(sq.value().wire, keys, TsigSignOptions{1700000000, 300, {}, false, 0});
    REQUIRE(vq);
    CHECK(vq.value().error == 0);
    CHECK(vq.value().mac == sq.value().mac);
    CHECK(sq.value().mac.size() == 32);
    // First response message: prior = request MAC; the second: timers only.
    Message r = q;
    r.header.qr = true;
    auto s1 =
        tsig_sign(serialize(r), k, TsigSignOptions{1700000001, 300, sq.value().mac, false, 0});
    REQUIRE(s1);
    CHECK(tsig_verify(s1.value().wire, keys,
                      TsigSignOptions{1700000001, 300, sq.value().mac, false, 0})
              .value()
              .error == 0);
    CHECK(tsig_verify(s1.value().wire, keys, TsigSignOptions{1700000001, 300, {}, false, 0})
              .value()
              .error != 0);
    r.questions.clear();
    auto s2 = tsig_sign(serialize(r), k, TsigSignOptions{1700000002, 300, s1.value().mac, true, 0});
    REQUIRE(s2);
    CHECK(tsig_verify(s2.value().wire, keys,
                      TsigSignOptions{1700000002, 300, s1.value().mac, true, 0})
              .value()
              .error == 0);
    CHECK(tsig_verify(s2.value().wire, keys,
                      TsigSignOptions{1700000002, 300, s1.value().mac, false, 0})
              .value()
              .error != 0);
    // Changing the ID in transit (a forwarder) keeps the MAC valid: original ID is signed.
    auto moved = sq.value().wire;
    moved[0] = 0x11;
    CHECK(tsig_verify(moved, keys, TsigSignOptions{1700000000, 300, {}, false, 0}).value().error ==
          0);
  }

  TEST_CASE("TSIG key loading") {
    CHECK(TsigKey::from_base64("k.", "HMAC-SHA512.", kSecret));
    CHECK(TsigKey::from_base64("k.", "hmac-sha1", kSecret).value().algorithm == "hmac-sha1");
    CHECK_FALSE(TsigKey::from_base64("k.", "hmac-md5", kSecret));
    CHECK_FALSE(TsigKey::from_base64("k.", "hmac-sha256", "not*base64"));
    CHECK_FALSE(TsigKey::from_base64("k.", "hmac-sha256", ""));
    Message unsigned_msg;
    const TsigKey keys[] = {key("hmac-sha256")};
    CHECK_FALSE(tsig_verify(serialize(unsigned_msg), keys, TsigSignOptions{}));
  }

}  // TEST_SUITE

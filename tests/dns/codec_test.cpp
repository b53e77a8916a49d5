#include "dns/codec.hpp"

#include <doctest/doctest.h>

#include "helpers.hpp"

using namespace fc;
using namespace fc::dns;
using namespace fc::dns::test;

TEST_SUITE("dns") {
  // Presentation ↔ wire for every rdata type we know (cf. PowerDNS test-dnsrecords_cc.cc).
  struct RdataCase {
    RrType type;
    const char* text;       // input presentation
    const char* canonical;  // rdata_to_text output
    const char* wire;       // rdata bytes, hex
  };
  const RdataCase kRdata[] = {
      {RrType::kA, "192.0.2.1", "192.0.2.1", "c0000201"},
      {RrType::kAaaa, "2001:db8::1", "2001:db8::1", "20010db8000000000000000000000001"},
      {RrType::kNs, "ns1.Example.com", "ns1.Example.com.", "036e7331074578616d706c6503636f6d00"},
      {RrType::kCname, "a\\.b.c.", "a\\.b.c.", "03612e62016300"},
      {RrType::kSoa, "ns.x. host.y. 2026112501 7200 3600 1209600 300",
       "ns.x. host.y. 2026112501 7200 3600 1209600 300",
       "026e7301780004686f73740179"
       "00"
       "78c405f5"
       "00001c20"
       "00000e10"
       "00127500"
       "0000012c"},
      {RrType::kTxt, "\"hello world\" two", "\"hello world\" \"two\"",
       "0b68656c6c6f20776f726c640374776f"},
      {RrType::kTxt, "\"say \\\"hi\\\"\" \"\\255\"", "\"say \\\"hi\\\"\" \"\\255\"",
       "08736179202268692201ff"},
      {RrType::kCaa, "0 issue \"letsencrypt.org\"", "0 issue \"letsencrypt.org\"",
       "000569737375656c657473656e63727970742e6f7267"},
      {
          RrType::kCaa, "128 iodef \"mailto:a@b.c\"", "128 iodef \"mailto:a@b.c\"",
          "800569",  // prefix checked below
      },
      {RrType::kHinfo, "\"RFC8482\" \"\"", "\"RFC8482\" \"\"", "075246433834383200"},
      {static_cast<RrType>(65280), "\\# 3 ABCDEF", "\\# 3 ABCDEF", "abcdef"},
      {static_cast<RrType>(99), "\\# 0", "\\# 0", ""},
  };

  TEST_CASE("rdata presentation <-> wire, both directions") {
    for (const auto& c : kRdata) {
      const std::string text = c.text;
      CAPTURE(text);
      const Rdata rd = RD(c.type, c.text);
      CHECK(rdata_to_text(rd) == c.canonical);
      Message m;
      m.answers.push_back(Record{Name{}, c.type, kClassIn, 60, rd});
      const auto wire = serialize(m);
      const std::vector<std::uint8_t> rdata(wire.begin() + 23,
                                            wire.end());  // header 12 + root 1 + 10
      if (std::string(c.wire).size() > 6)
        CHECK(to_hex(rdata) == c.wire);
      else
        CHECK(to_hex(rdata).rfind(c.wire, 0) == 0);
      auto back = parse(wire);
      REQUIRE(back);
      CHECK(back.value().answers.at(0).rdata == rd);
      CHECK(back.value() == m);
    }
  }

  TEST_CASE("rdata text errors") {
    CHECK_FALSE(rdata_from_text(RrType::kA, "300.1.1.1"));
    CHECK_FALSE(rdata_from_text(RrType::kAaaa, "1.2.3.4"));
    CHECK_FALSE(rdata_from_text(RrType::kSoa, "a. b. 1 2 3"));
    CHECK_FALSE(rdata_from_text(RrType::kCaa, "256 issue \"x\""));
    CHECK_FALSE(rdata_from_text(RrType::kTxt, "\"unterminated"));
    CHECK_FALSE(rdata_from_text(static_cast<RrType>(99), "\\# 2 AB"));
    CHECK_FALSE(rdata_from_text(static_cast<RrType>(99), "plain"));
  }

  TEST_CASE("names: limits, escapes, case-insensitive comparison") {
    CHECK(N("WWW.Example.COM") == N("www.example.com."));
    CHECK(N("www.example.com").key() == "www.example.com.");
    CHECK(N("a\\.b\\032c.d").to_text() == "a\\.b\\032c.d.");
    CHECK(N("a\\.b.d").labels.size() == 2);
    CHECK(N(".").is_root());
    CHECK(N("x.y.z").is_subdomain_of(N("Y.Z")));
    CHECK_FALSE(N("xy.z").is_subdomain_of(N("y.z")));
    CHECK(N("a.b").parent() == N("b"));
    CHECK_FALSE(Name::from_text(std::string(64, 'a') + ".com"));
    CHECK(Name::from_text(std::string(63, 'a') + ".com"));
    std::string long_name;
    for (int i = 0; i < 4; ++i) long_name += std::string(63, 'a') + ".";
    CHECK_FALSE(Name::from_text(long_name));                   // 257 octets
    CHECK(Name::from_text(long_name.substr(0, 64 * 3 + 61)));  // 253 + root = 255 octets
    CHECK_FALSE(Name::from_text("a..b"));
  }

  // Real packets captured from dig 9.18 (tests/fuzz/corpus/dns/ holds the files).
  const char* kQueryEdns =
      "893a012000010000000000010377777705666c6565740474657374000001000100002904d000000000000c000a00"
      "0866b6e19458ffae95";
  const char* kQueryMixedCase = "1f66012000010000000000000357775705466c656554045465735400001c0001";
  const char* kResponseCname =
      "12348500000100020000000105616c69617305666c65657404746573740000010001c00c000500010000003c0006"
      "03777777c012c02e0001"
      "00010000003c0004c000020100002904d0000000000000";

  TEST_CASE("dig query: fields, EDNS cookie, canonical wire round trip") {
    const auto wire = from_hex(kQueryEdns);
    auto m = parse(wire);
    REQUIRE(m);
    CHECK(m.value().header.id == 0x893a);
    CHECK(m.value().header.rd);
    CHECK(m.value().header.ad);
    CHECK(m.value().questions.at(0) == Question{N("www.fleet.test"), RrType::kA, kClassIn});
    REQUIRE(m.value().edns);
    CHECK(m.value().edns->udp_size == 1232);
    REQUIRE(m.value().edns->options.size() == 1);
    CHECK(m.value().edns->options[0].code == 10);  // COOKIE
    CHECK(serialize(m.value()) == wire);
    const auto mixed = from_hex(kQueryMixedCase);
    auto q2 = parse(mixed);
    REQUIRE(q2);
    CHECK(q2.value().questions.at(0).name.labels.at(0) == "WwW");  // case preserved
    CHECK(serialize(q2.value()) == mixed);
  }

  TEST_CASE("compressed response parses and re-serializes to the same bytes") {
    const auto wire = from_hex(kResponseCname);
    auto m = parse(wire);
    REQUIRE(m);
    const Message& r = m.value();
    CHECK(r.header.qr);
    CHECK(r.header.aa);
    REQUIRE(r.answers.size() == 2);
    CHECK(r.answers[0].rdata == Rdata{CnameRdata{N("www.fleet.test")}});
    CHECK(r.answers[1].name == N("www.fleet.test"));
    CHECK(serialize(r) == wire);
  }

  TEST_CASE("round trip: parse(serialize(m)) == m, compression shrinks") {
    Message m;
    m.header =
        Header{0xbeef, true, true, false, false, false, false, false, false, Opcode::kQuery, 3};
    m.questions.push_back(Question{N("nope.Fleet.Test"), RrType::kA, kClassIn});
    m.authority.push_back(
        Record{N("fleet.test"), RrType::kSoa, kClassIn, 30,
               RD(RrType::kSoa, "ns1.fleet.test. hostmaster.fleet.test. 7 1 2 3 4")});
    m.additional.push_back(
        Record{N("x.fleet.test"), RrType::kTxt, kClassIn, 5, RD(RrType::kTxt, "a b")});
    m.edns = Edns{4096, 1, 0, true, {EdnsOption{12, {0, 0}}}};
    m.tsig = Record{N("k"), RrType::kTsig, kClassAny, 0,
                    Rdata{TsigRdata{N("hmac-sha256"), 1700000000, 300, {1, 2, 3}, 0xbeef, 0, {}}}};
    const auto wire = serialize(m);
    auto back = parse(wire);
    REQUIRE(back);
    CHECK(back.value() == m);
    CHECK(back.value().full_rcode() == static_cast<Rcode>(0x13));
    CHECK(serialize(back.value()) == wire);
    std::size_t uncompressed = 12 + m.questions[0].name.wire_length() + 4;
    for (const auto* n : {"fleet.test", "ns1.fleet.test", "hostmaster.fleet.test", "x.fleet.test"})
      uncompressed += N(n).wire_length();
    CHECK(wire.size() < uncompressed + 100);
  }

  struct BadCase {
    const char* why;
    const char* hex;
  };
  const BadCase kBad[] = {
      {"shorter than a header", "12340100"},
      {"question count lies", "000100000001000000000000"},
      {"answer count lies", "0001000000000fff0000000000"},
      {"pointer to itself", "000100000001000000000000c00c00010001"},
      {"forward pointer", "000100000001000000000000c01200010001000000"},
      {"pointer into own labels", "0001000000010000000000000161c00c00010001"},
      {"label type 01", "0001000000010000000000004061000100010"},
      {"label 64 long",
       "0001000000010000000000004061616161616161616161616161616161616161616161616161616161616161616"
       "1616161"
       "61616161616161616161616161616161616161616161616161616161616100000100010"},
      {"truncated rdata", "000180000000000100000000000001000100000e100004c00002"},
      {"A rdlen 5", "000180000000000100000000000001000100000e100005c000020101"},
      {"trailing garbage", "00010000000100000000000000000100019999"},
      {"OPT not at root", "0001000000000000000000010161000029100000000000000000"},
      {"two OPTs", "00010000000000000000000200002910000000000000000000291000000000000000"},
      {"TSIG not last",
       "000100000000000000000002"
       "016b0000fa00ff000000000010"
       "01610000000000000000060000"
       "01610000010001000000000000"},
      {"TXT string overruns rdata", "000180000000000100000000000010000100000e100003056161"},
  };

  TEST_CASE("malformed messages are parse errors, never crashes") {
    for (const auto& c : kBad) {
      const std::string why = c.why;
      CAPTURE(why);
      auto r = parse(from_hex(c.hex));
      CHECK_FALSE(r);
      if (!r) CHECK(r.error().code == Code::kParse);
    }
    // Names over 255 octets through compression: 4 × 63-octet labels chained.
    std::vector<std::uint8_t> w = from_hex("000100000001000000000000");
    for (int i = 0; i < 4; ++i) {
      w.push_back(63);
      w.insert(w.end(), 63, 'a');
    }
    w.push_back(0);
    w.insert(w.end(), {0, 1, 0, 1});
    CHECK_FALSE(parse(w));
  }

  TEST_CASE("every truncation of a valid message fails cleanly") {
    const auto wire = from_hex(kResponseCname);
    for (std::size_t n = 0; n < wire.size(); ++n) {
      auto r = parse(std::span(wire.data(), n));
      CHECK_FALSE(r);
    }
  }

  TEST_CASE("type and rcode names") {
    CHECK(type_name(RrType::kCaa) == "CAA");
    CHECK(type_name(static_cast<RrType>(65534)) == "TYPE65534");
    CHECK(type_from_name("aaaa").value() == RrType::kAaaa);
    CHECK(type_from_name("TYPE99").value() == static_cast<RrType>(99));
    CHECK_FALSE(type_from_name("TYPE70000"));
    CHECK(rcode_name(Rcode::kBadSig) == "BADSIG");
    CHECK(rcode_name(Rcode::kNxDomain) == "NXDOMAIN");
  }

}  // TEST_SUITE

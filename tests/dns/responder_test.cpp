#include "dns/detail/responder.hpp"

#include <doctest/doctest.h>

#include "dns/server.hpp"
#include "helpers.hpp"

using namespace fc;
using namespace fc::dns;
using namespace fc::dns::test;
using detail::QueryContext;
using detail::Transport;

TEST_SUITE("dns") {
  ZoneSpec spec() {
    ZoneSpec s;
    s.origin = "fleet.test.";
    s.mname = "ns1.fleet.test.";
    s.rname = "hostmaster.fleet.test.";
    s.serial = 7;
    s.minimum = 30;
    s.ttl = 3600;
    s.nameservers = {{"ns1.fleet.test.", {"192.0.2.53"}, {"2001:db8::53"}},
                     {"ns.elsewhere.example.", {"198.51.100.1"}, {}}};
    s.records = {{"www.fleet.test", RrType::kA, 60, RD(RrType::kA, "192.0.2.1")},
                 {"www.fleet.test", RrType::kA, 60, RD(RrType::kA, "192.0.2.2")},
                 {"alias.fleet.test", RrType::kCname, 60, RD(RrType::kCname, "www.fleet.test.")},
                 {"chain.fleet.test", RrType::kCname, 60, RD(RrType::kCname, "alias.fleet.test.")},
                 {"out.fleet.test", RrType::kCname, 60, RD(RrType::kCname, "target.example.")},
                 {"dead.fleet.test", RrType::kCname, 60, RD(RrType::kCname, "missing.fleet.test.")},
                 {"a.b.c.fleet.test", RrType::kTxt, 60, RD(RrType::kTxt, "x")}};
    for (int i = 0; i < 60; ++i)
      s.records.push_back(
          {"big.fleet.test", RrType::kTxt, 60,
           RD(RrType::kTxt, "\"" + std::string(40, 'a' + i % 26) + std::to_string(i) + "\"")});
    return s;
  }

  std::shared_ptr<const ZoneSnapshot> zone() {
    auto z = ZoneSnapshot::build(spec());
    REQUIRE(z);
    return z.value();
  }

  std::vector<std::uint8_t> query(const std::string& name, RrType t, bool edns = false,
                                  std::uint16_t size = 1232) {
    Message m;
    m.header.id = 77;
    m.header.rd = true;
    m.questions.push_back(Question{N(name), t, kClassIn});
    if (edns) m.edns = Edns{size, 0, 0, false, {}};
    return serialize(m);
  }

  Message ask(const ZoneSnapshot& z, const std::vector<std::uint8_t>& wire,
              Transport t = Transport::kUdp, bool acl = false, std::size_t* count = nullptr) {
    QueryContext c;
    c.transport = t;
    c.acl_allows_transfer = acl;
    auto r = detail::handle_query(z, wire, c);
    REQUIRE(r.wires.size() >= 1);
    if (count) *count = r.wires.size();
    auto m = parse(r.wires.front());
    REQUIRE(m);
    return m.value();
  }

  TEST_CASE("zone snapshot validation") {
    auto s = spec();
    s.records.push_back({"www.example.com", RrType::kA, 60, RD(RrType::kA, "192.0.2.9")});
    CHECK_FALSE(ZoneSnapshot::build(s));
    s = spec();
    s.records.push_back({"alias.fleet.test", RrType::kA, 60, RD(RrType::kA, "192.0.2.9")});
    CHECK_FALSE(ZoneSnapshot::build(s));  // CNAME and other data
    s = spec();
    s.records.push_back({"fleet.test", RrType::kCname, 60, RD(RrType::kCname, "x.")});
    CHECK_FALSE(ZoneSnapshot::build(s));
    s = spec();
    s.records.push_back({"x.fleet.test", RrType::kA, 60, RD(RrType::kAaaa, "::1")});
    CHECK_FALSE(ZoneSnapshot::build(s));
    s = spec();
    s.nameservers.clear();
    CHECK_FALSE(ZoneSnapshot::build(s));
    auto z = zone();
    CHECK(z->find(N("WWW.FLEET.TEST"))->size() == 1);
    CHECK(z->find(N("b.c.fleet.test"))->empty());  // empty non-terminal
    CHECK_FALSE(z->find(N("nope.fleet.test")));
    CHECK(z->negative_ttl() == 30);
  }

  TEST_CASE("apply: copy-on-write changes leave the base snapshot untouched") {
    auto base = zone();
    using K = ZoneChange::Kind;
    std::vector<ZoneChange> ch = {
        {K::kAdd, {"new.deep.fleet.test", RrType::kA, 30, RD(RrType::kA, "192.0.2.9")}},
        {K::kRemoveRrset, {"www.fleet.test", RrType::kA, 0, {}}},
        {K::kAdd, {"www.fleet.test", RrType::kAaaa, 60, RD(RrType::kAaaa, "2001:db8::1")}},
        {K::kRemoveName, {"a.b.c.fleet.test", RrType::kAny, 0, {}}},
        {K::kRemoveName, {"never.fleet.test", RrType::kAny, 0, {}}},
    };
    auto next = ZoneSnapshot::apply(*base, 8, ch);
    REQUIRE(next);
    const auto& z = *next.value();
    CHECK(z.serial() == 8);
    CHECK(
        std::get<SoaRdata>(ask(z, query("fleet.test", RrType::kSoa)).answers.at(0).rdata).serial ==
        8);
    CHECK(z.find(N("new.deep.fleet.test"))->size() == 1);
    CHECK(z.find(N("deep.fleet.test"))->empty());  // new empty non-terminal
    CHECK(z.find(N("www.fleet.test"))->at(0).type == RrType::kAaaa);
    CHECK_FALSE(z.find(N("a.b.c.fleet.test")));
    CHECK_FALSE(z.find(N("b.c.fleet.test")));  // pruned up to the apex
    CHECK_FALSE(z.find(N("c.fleet.test")));
    CHECK(z.node_count() == base->node_count() - 3 + 2);
    // The base is unchanged: readers of the old pointer see the old zone.
    CHECK(base->serial() == 7);
    CHECK(base->find(N("www.fleet.test"))->at(0).type == RrType::kA);
    CHECK(base->find(N("a.b.c.fleet.test")).has_value());
    CHECK_FALSE(base->find(N("new.deep.fleet.test")));
    CHECK(z.all_records().size() == base->all_records().size() - 2 - 1 + 1 + 1);
    // Removing a name that still has children keeps it as an empty non-terminal.
    auto ent = ZoneSnapshot::apply(
        z, 9, {{K::kAdd, {"deep.fleet.test", RrType::kTxt, 60, RD(RrType::kTxt, "x")}}});
    auto back = ZoneSnapshot::apply(*ent.value(), 10,
                                    {{K::kRemoveName, {"deep.fleet.test", RrType::kAny, 0, {}}}});
    CHECK(back.value()->find(N("deep.fleet.test"))->empty());
    // Invalid changes are errors.
    CHECK_FALSE(ZoneSnapshot::apply(
        z, 9, {{K::kAdd, {"x.example.", RrType::kA, 60, RD(RrType::kA, "192.0.2.1")}}}));
    CHECK_FALSE(ZoneSnapshot::apply(z, 9, {{K::kRemoveRrset, {"fleet.test", RrType::kNs, 0, {}}}}));
    CHECK_FALSE(ZoneSnapshot::apply(
        z, 9, {{K::kAdd, {"alias.fleet.test", RrType::kA, 60, RD(RrType::kA, "192.0.2.1")}}}));
  }

  TEST_CASE("answers: AA, RA clear, RD echoed, rcodes and SOA in authority") {
    auto z = zone();
    auto m = ask(*z, query("www.fleet.test", RrType::kA));
    CHECK(m.header.aa);
    CHECK_FALSE(m.header.ra);
    CHECK(m.header.rd);
    CHECK(m.answers.size() == 2);
    auto nx = ask(*z, query("nope.fleet.test", RrType::kA));
    CHECK(nx.full_rcode() == Rcode::kNxDomain);
    REQUIRE(nx.authority.size() == 1);
    CHECK(nx.authority[0].type == RrType::kSoa);
    CHECK(nx.authority[0].ttl == 30);  // min(SOA minimum 30, SOA TTL 3600)
    auto nodata = ask(*z, query("www.fleet.test", RrType::kAaaa));
    CHECK(nodata.full_rcode() == Rcode::kNoError);
    CHECK(nodata.answers.empty());
    CHECK(nodata.authority.size() == 1);
    auto ent = ask(*z, query("b.c.fleet.test", RrType::kA));
    CHECK(ent.full_rcode() == Rcode::kNoError);
    CHECK(ent.authority.size() == 1);
    auto refused = ask(*z, query("example.com", RrType::kA));
    CHECK(refused.full_rcode() == Rcode::kRefused);
    CHECK_FALSE(refused.header.aa);
  }

  TEST_CASE("CNAME chase inside the zone, stop outside, NXDOMAIN at a dead end") {
    auto z = zone();
    auto m = ask(*z, query("chain.fleet.test", RrType::kA));
    REQUIRE(m.answers.size() == 4);
    CHECK(m.answers[0].type == RrType::kCname);
    CHECK(m.answers[1].type == RrType::kCname);
    CHECK(m.answers[2].name == N("www.fleet.test"));
    auto out = ask(*z, query("out.fleet.test", RrType::kA));
    CHECK(out.answers.size() == 1);
    CHECK(out.full_rcode() == Rcode::kNoError);
    auto dead = ask(*z, query("dead.fleet.test", RrType::kA));
    CHECK(dead.answers.size() == 1);
    CHECK(dead.full_rcode() == Rcode::kNxDomain);
    auto cname = ask(*z, query("alias.fleet.test", RrType::kCname));
    CHECK(cname.answers.size() == 1);
  }

  TEST_CASE("NS answers carry glue for in-zone names only; ANY is minimal") {
    auto z = zone();
    auto ns = ask(*z, query("fleet.test", RrType::kNs));
    CHECK(ns.answers.size() == 2);
    CHECK(ns.additional.size() == 2);  // ns1's A and AAAA, none for ns.elsewhere.example
    auto any = ask(*z, query("www.fleet.test", RrType::kAny));
    CHECK(any.answers.size() == 2);  // one RRset (RFC 8482)
    auto apex_any = ask(*z, query("fleet.test", RrType::kAny));
    CHECK(apex_any.answers.size() == 1);
  }

  TEST_CASE("UDP size limits: 512 without EDNS, TC, full answer over TCP") {
    auto z = zone();
    auto small = ask(*z, query("big.fleet.test", RrType::kTxt));
    CHECK(small.header.tc);
    CHECK(small.answers.empty());
    CHECK(serialize(small).size() <= 512);
    auto edns = ask(*z, query("big.fleet.test", RrType::kTxt, true, 4096));
    CHECK(edns.header.tc);  // over our 1232 ceiling
    REQUIRE(edns.edns);
    CHECK(edns.edns->udp_size == 1232);
    auto tcp = ask(*z, query("big.fleet.test", RrType::kTxt), Transport::kTcp);
    CHECK_FALSE(tcp.header.tc);
    CHECK(tcp.answers.size() == 60);
    auto fits = ask(*z, query("www.fleet.test", RrType::kA, true, 512));
    CHECK_FALSE(fits.header.tc);
  }

  TEST_CASE("errors: FORMERR, NOTIMP, drop short packets and responses, BADVERS") {
    auto z = zone();
    QueryContext c;
    CHECK(detail::handle_query(*z, std::vector<std::uint8_t>{1, 2, 3}, c).wires.empty());
    auto resp = query("www.fleet.test", RrType::kA);
    resp[2] |= 0x80;
    CHECK(detail::handle_query(*z, resp, c).wires.empty());
    auto garbage = query("www.fleet.test", RrType::kA);
    garbage.push_back(0xff);  // trailing byte
    auto fe = ask(*z, garbage);
    CHECK(fe.full_rcode() == Rcode::kFormErr);
    CHECK(fe.header.id == 77);
    Message two;
    two.questions = {Question{N("a.fleet.test"), RrType::kA, kClassIn},
                     Question{N("b.fleet.test"), RrType::kA, kClassIn}};
    CHECK(ask(*z, serialize(two)).full_rcode() == Rcode::kFormErr);
    Message st;
    st.header.opcode = Opcode::kStatus;
    st.questions.push_back(Question{N("fleet.test"), RrType::kSoa, kClassIn});
    CHECK(ask(*z, serialize(st)).full_rcode() == Rcode::kNotImp);
    Message v1;
    v1.questions.push_back(Question{N("fleet.test"), RrType::kSoa, kClassIn});
    v1.edns = Edns{1232, 0, 1, false, {}};
    CHECK(static_cast<int>(ask(*z, serialize(v1)).full_rcode()) == 16);
  }

  TEST_CASE("AXFR: ACL, TCP only, SOA first and last, split, TSIG") {
    auto z = zone();
    auto axfr = query("fleet.test", RrType::kAxfr);
    CHECK(ask(*z, axfr, Transport::kTcp, false).full_rcode() == Rcode::kRefused);
    CHECK(ask(*z, axfr, Transport::kUdp, true).full_rcode() == Rcode::kRefused);
    CHECK(ask(*z, query("www.fleet.test", RrType::kAxfr), Transport::kTcp, true).full_rcode() ==
          Rcode::kRefused);
    QueryContext c;
    c.transport = Transport::kTcp;
    c.acl_allows_transfer = true;
    c.max_transfer_message = 1000;  // force several messages
    auto r = detail::handle_query(*z, axfr, c);
    CHECK(r.transfer);
    REQUIRE(r.wires.size() > 2);
    std::vector<Record> all;
    for (const auto& w : r.wires) {
      CHECK(w.size() <= 1000);
      auto m = parse(w);
      REQUIRE(m);
      all.insert(all.end(), m.value().answers.begin(), m.value().answers.end());
    }
    CHECK(all.front().type == RrType::kSoa);
    CHECK(all.back().type == RrType::kSoa);
    CHECK(all.size() == z->all_records().size() + 1);
    // Signed request with a configured key: allowed without the ACL, every message signed.
    auto k = TsigKey::from_base64("xfr.", "hmac-sha256", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==")
                 .value();
    const TsigKey keys[] = {k};
    auto signed_q = tsig_sign(axfr, k, TsigSignOptions{1700000000, 300, {}, false, 0}).value();
    c.acl_allows_transfer = false;
    c.keys = keys;
    c.now = 1700000000;
    auto sr = detail::handle_query(*z, signed_q.wire, c);
    REQUIRE(sr.wires.size() > 2);
    auto prior = signed_q.mac;
    for (std::size_t i = 0; i < sr.wires.size(); ++i) {
      auto v = tsig_verify(sr.wires[i], keys, TsigSignOptions{1700000000, 300, prior, i > 0, 0});
      REQUIRE(v);
      CHECK(v.value().error == 0);
      prior = v.value().mac;
    }
    // A bad signature: NOTAUTH with BADSIG, unsigned.
    auto bad = signed_q.wire;
    bad[bad.size() - 10] ^= 1;
    auto br = parse(detail::handle_query(*z, bad, c).wires.at(0)).value();
    CHECK(br.full_rcode() == Rcode::kNotAuth);
    REQUIRE(br.tsig);
    CHECK(std::get<TsigRdata>(br.tsig->rdata).error == static_cast<std::uint16_t>(Rcode::kBadSig));
    CHECK(std::get<TsigRdata>(br.tsig->rdata).mac.empty());
    // Clock skew beyond the fudge: NOTAUTH/BADTIME, signed, with our time in other data.
    c.now = 1700000000 + 1000;
    auto late = detail::handle_query(*z, signed_q.wire, c).wires.at(0);
    auto lr = parse(late).value();
    CHECK(lr.full_rcode() == Rcode::kNotAuth);
    const auto& lt = std::get<TsigRdata>(lr.tsig->rdata);
    CHECK(lt.error == static_cast<std::uint16_t>(Rcode::kBadTime));
    CHECK(lt.other.size() == 6);
    auto lv = tsig_verify(late, keys, TsigSignOptions{c.now, 300, signed_q.mac, false, 0});
    CHECK(lv.value().error == 0);
  }

}  // TEST_SUITE

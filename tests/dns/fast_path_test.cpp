// The UDP answer cache must be invisible: for any query it accepts, a cache
// hit is byte-for-byte what the full path (handle_query) answers. Also the
// wildcard synthesis (RFC 4592) the bench's query mix exercises.
#include "dns/detail/fast_path.hpp"

#include <doctest/doctest.h>

#include <random>

#include "dns/detail/responder.hpp"
#include "dns/server.hpp"
#include "helpers.hpp"

using namespace fc;
using namespace fc::dns;
using namespace fc::dns::test;
using detail::AnswerCache;
using detail::fast_key;

TEST_SUITE("dns") {
  ZoneSpec wild_spec(std::uint32_t serial) {
    ZoneSpec s;
    s.origin = "fleet.test.";
    s.mname = "ns1.fleet.test.";
    s.rname = "hostmaster.fleet.test.";
    s.serial = serial;
    s.nameservers = {{"ns1.fleet.test.", {"192.0.2.53"}, {}}};
    s.records = {{"www.fleet.test", RrType::kA, 60, RD(RrType::kA, "192.0.2.1")},
                 {"www.fleet.test", RrType::kAaaa, 60, RD(RrType::kAaaa, "2001:db8::1")},
                 {"alias.fleet.test", RrType::kCname, 60, RD(RrType::kCname, "www.fleet.test.")},
                 {"*.apps.fleet.test", RrType::kA, 60, RD(RrType::kA, "192.0.2.80")},
                 {"*.edge.fleet.test", RrType::kCname, 60, RD(RrType::kCname, "www.fleet.test.")},
                 {"x.y.deep.fleet.test", RrType::kA, 60, RD(RrType::kA, "192.0.2.9")},
                 {"*.deep.fleet.test", RrType::kA, 60, RD(RrType::kA, "192.0.2.10")}};
    for (int i = 0; i < 40; ++i)
      s.records.push_back(
          {"big.fleet.test", RrType::kTxt, 60,
           RD(RrType::kTxt, "\"" + std::string(40, 'a' + i % 26) + std::to_string(i) + "\"")});
    return s;
  }

  std::shared_ptr<const ZoneSnapshot> wild_zone(std::uint32_t serial = 1) {
    auto z = ZoneSnapshot::build(wild_spec(serial));
    REQUIRE(z);
    return z.value();
  }

  Message ask(const std::string& name, RrType t) {
    Message q;
    q.header.id = 0x1234;
    q.questions.push_back(Question{N(name), t, kClassIn});
    return q;
  }

  Message answer(const ZoneSnapshot& z, const Message& q) {
    auto r = detail::handle_query(z, serialize(q), detail::QueryContext{});
    REQUIRE(r.wires.size() == 1);
    auto m = parse(r.wires.front());
    REQUIRE(m);
    return m.value();
  }

  TEST_CASE("wildcards: synthesised at the asked name, ENTs and existing names win") {
    auto z = wild_zone();
    auto a = answer(*z, ask("Foo.apps.fleet.test.", RrType::kA));
    CHECK(a.full_rcode() == Rcode::kNoError);
    REQUIRE(a.answers.size() == 1);
    CHECK(a.answers[0].name == N("foo.apps.fleet.test."));
    CHECK(rdata_to_text(a.answers[0].rdata) == "192.0.2.80");
    // deeper than one label below the wildcard is covered too (RFC 4592 §2.2.1)
    CHECK(answer(*z, ask("a.b.apps.fleet.test.", RrType::kA)).answers.size() == 1);
    // a wildcard CNAME is followed inside the zone
    auto c = answer(*z, ask("eu.edge.fleet.test.", RrType::kA));
    REQUIRE(c.answers.size() == 2);
    CHECK(c.answers[0].type == RrType::kCname);
    CHECK(c.answers[0].name == N("eu.edge.fleet.test."));
    CHECK(c.answers[1].name == N("www.fleet.test."));
    // the wildcard's type is missing: NODATA with the SOA, not NXDOMAIN
    auto nodata = answer(*z, ask("foo.apps.fleet.test.", RrType::kAaaa));
    CHECK(nodata.full_rcode() == Rcode::kNoError);
    CHECK(nodata.answers.empty());
    CHECK(nodata.authority.size() == 1);
    // `y.deep` exists as an empty non-terminal: it is not covered by *.deep
    auto ent = answer(*z, ask("y.deep.fleet.test.", RrType::kA));
    CHECK(ent.full_rcode() == Rcode::kNoError);
    CHECK(ent.answers.empty());
    // the closest encloser of z.y.deep is y.deep, which has no wildcard child
    CHECK(answer(*z, ask("z.y.deep.fleet.test.", RrType::kA)).full_rcode() == Rcode::kNxDomain);
    CHECK(answer(*z, ask("other.deep.fleet.test.", RrType::kA)).answers.size() == 1);
    // no wildcard at the apex: NXDOMAIN stays NXDOMAIN
    CHECK(answer(*z, ask("nothere.fleet.test.", RrType::kA)).full_rcode() == Rcode::kNxDomain);
  }

  TEST_CASE("fast_key: only the plain query shape qualifies") {
    auto plain = serialize(ask("www.fleet.test.", RrType::kA));
    auto k = fast_key(plain, 1232);
    REQUIRE(k);
    CHECK(k->qname_len == 16);

    Message with_opt = ask("www.fleet.test.", RrType::kA);
    with_opt.edns = Edns{4096, 0, 0, true, {EdnsOption{10, std::vector<std::uint8_t>(8, 7)}}};
    auto ko = fast_key(serialize(with_opt), 1232);
    REQUIRE(ko);  // a well-formed COOKIE option does not change our answer
    CHECK(ko->view().size() == k->view().size());
    CHECK(!std::equal(ko->view().begin(), ko->view().end(), k->view().begin()));  // EDNS+DO differ

    auto bad = serialize(with_opt);
    bad[bad.size() - 9] = 0xFF;  // the option's length now runs past the record
    CHECK(!fast_key(bad, 1232));
    Message v1 = with_opt;
    v1.edns->version = 1;  // BADVERS is the full path's
    CHECK(!fast_key(serialize(v1), 1232));
    Message resp = ask("www.fleet.test.", RrType::kA);
    resp.header.qr = true;
    CHECK(!fast_key(serialize(resp), 1232));
    Message notify = ask("fleet.test.", RrType::kSoa);
    notify.header.opcode = Opcode::kNotify;
    CHECK(!fast_key(serialize(notify), 1232));
    Message two = ask("www.fleet.test.", RrType::kA);
    two.questions.push_back(two.questions.front());
    CHECK(!fast_key(serialize(two), 1232));
    auto trailing = plain;
    trailing.push_back(0);
    CHECK(!fast_key(trailing, 1232));
    auto cut = plain;
    cut.resize(cut.size() - 3);
    CHECK(!fast_key(cut, 1232));
    auto pointer = plain;  // a compression pointer in the question name
    pointer[12] = 0xC0;
    CHECK(!fast_key(pointer, 1232));
  }

  TEST_CASE("answer cache: a hit is byte-for-byte the full path's reply") {
    auto z = wild_zone();
    AnswerCache cache(64);  // small: collisions and evictions happen too
    cache.use_zone(z);
    const std::vector<std::string> names = {
        "www.fleet.test.",     "alias.fleet.test.",   "q.apps.fleet.test.", "r.edge.fleet.test.",
        "missing.fleet.test.", "big.fleet.test.",     "y.deep.fleet.test.", "fleet.test.",
        "elsewhere.example.",  "x.y.deep.fleet.test."};
    const std::vector<RrType> types = {RrType::kA,  RrType::kAaaa, RrType::kAny,  RrType::kTxt,
                                       RrType::kNs, RrType::kSoa,  RrType::kCname};
    std::mt19937 rng(7);
    int hits = 0;
    for (int i = 0; i < 4000; ++i) {
      std::string name = names[rng() % names.size()];
      for (auto& ch : name)  // random case, as a 0x20-randomising resolver asks
        if (rng() % 2) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      Message q = ask(name, types[rng() % types.size()]);
      q.header.id = static_cast<std::uint16_t>(rng());
      q.header.rd = rng() % 2;
      q.header.cd = rng() % 2;
      q.header.ad = rng() % 2;
      if (rng() % 2)
        q.edns =
            Edns{static_cast<std::uint16_t>(rng() % 3 == 0 ? 512 : 1232), 0, 0, rng() % 2 == 0, {}};
      const auto wire = serialize(q);
      auto key = fast_key(wire, 1232);
      REQUIRE(key);
      auto full = detail::handle_query(*z, wire, detail::QueryContext{});
      REQUIRE(full.wires.size() == 1);
      std::vector<std::uint8_t> got;
      if (cache.lookup(*key, wire, got)) {
        ++hits;
        REQUIRE_MESSAGE(got == full.wires.front(), name);
      } else {
        cache.store(*key, full.wires.front());
      }
    }
    CHECK(hits > 500);  // 350 distinct keys in 64 slots: many hits, many evictions
    CHECK(cache.hits() == static_cast<std::uint64_t>(hits));

    // A new snapshot empties the cache: the next lookup misses, then serves the new zone.
    auto z2 = wild_zone(2);
    cache.use_zone(z2);
    const auto wire = serialize(ask("www.fleet.test.", RrType::kA));
    std::vector<std::uint8_t> got;
    CHECK(!cache.lookup(*fast_key(wire, 1232), wire, got));
  }
}

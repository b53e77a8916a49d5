// The daemon's published record set as pure functions: derivation from
// workspaces and challenges, the delta, the zone changes it applies, and the
// RFC 2136 operations sent to providers.
#include <doctest/doctest.h>

#include <algorithm>

#include "dns/server.hpp"

using namespace fc;
using namespace fc::dns;

TEST_SUITE("dns") {
  TEST_CASE("records: workspaces and challenges become RRsets") {
    std::vector<PublishedName> pub = {
        {"Acme", std::nullopt, {"192.0.2.2", "192.0.2.1", "192.0.2.1"}, {"2001:db8::1"}},
        {"lb", std::string("Edge.Example.NET."), {"192.0.2.9"}, {}},
    };
    std::vector<ChallengeRow> ch = {{"_acme-challenge.acme.fleet.test", "v1"},
                                    {"_acme-challenge.acme.fleet.test", "v2"},
                                    {"x1._acme.fleet.test.", "d"},
                                    {"_acme-challenge.other.example", "out-of-zone"},
                                    {"fleet.test", "apex-is-not-ours"}};
    auto m = desired_records(pub, ch, "fleet.test", 30);
    REQUIRE(m.size() == 5);
    CHECK(m.at({"acme.fleet.test", "A"}) == RrValue{30, {"192.0.2.1", "192.0.2.2"}});
    CHECK(m.at({"acme.fleet.test", "AAAA"}).data == std::vector<std::string>{"2001:db8::1"});
    CHECK(m.at({"lb.fleet.test", "CNAME"}).data == std::vector<std::string>{"edge.example.net."});
    CHECK(m.count({"lb.fleet.test", "A"}) == 0);  // hostname wins
    CHECK(m.at({"_acme-challenge.acme.fleet.test", "TXT"}).data ==
          std::vector<std::string>{"\"v1\"", "\"v2\""});
    CHECK(m.at({"x1._acme.fleet.test", "TXT"}).data == std::vector<std::string>{"\"d\""});
  }

  TEST_CASE("records: rows in any order, and two workspaces with one owner, give the same map") {
    // The rows go in with the map's end as the hint: in name order, reversed
    // and interleaved, the map is the same; two names that differ in case
    // share an owner and their addresses are merged, sorted and unique.
    std::vector<PublishedName> sorted;
    for (int i = 0; i < 50; ++i) {
      const std::string n = "w" + std::to_string(1000 + i);
      sorted.push_back({n, std::nullopt, {"192.0.2." + std::to_string(i % 7)}, {}});
    }
    sorted.push_back({"Dup", std::nullopt, {"192.0.2.9", "192.0.2.8"}, {"2001:db8::2"}});
    sorted.push_back({"dup", std::nullopt, {"192.0.2.8", "192.0.2.7"}, {"2001:db8::1"}});
    const auto want = desired_records(sorted, {}, "fleet.test", 30);
    CHECK(want.size() == 52);
    CHECK(want.at({"dup.fleet.test", "A"}).data ==
          std::vector<std::string>{"192.0.2.7", "192.0.2.8", "192.0.2.9"});
    CHECK(want.at({"dup.fleet.test", "AAAA"}).data ==
          std::vector<std::string>{"2001:db8::1", "2001:db8::2"});
    auto reversed = sorted;
    std::reverse(reversed.begin(), reversed.end());
    CHECK(desired_records(reversed, {}, "fleet.test", 30) == want);
    std::vector<PublishedName> mixed;
    for (std::size_t i = 0; i < sorted.size(); ++i)
      mixed.push_back(sorted[(i * 17) % sorted.size()]);  // 17 and 52 are coprime
    CHECK(desired_records(mixed, {}, "fleet.test", 30) == want);
  }

  TEST_CASE("records: name_in_zone") {
    struct Row {
      const char* name;
      bool in;
    };
    for (auto r : {Row{"fleet.test", true}, Row{"a.fleet.test", true}, Row{"a.b.fleet.test", true},
                   Row{"xfleet.test", false}, Row{"fleet.test.org", false}, Row{"test", false}}) {
      CAPTURE(r.name);
      CHECK(name_in_zone(r.name, "fleet.test") == r.in);
    }
  }

  TEST_CASE("records: diff is added + removed + changed, sorted") {
    RecordMap a = {{{"a.z", "A"}, {30, {"1.1.1.1"}}},
                   {{"b.z", "A"}, {30, {"1.1.1.2"}}},
                   {{"c.z", "A"}, {30, {"1.1.1.3"}}}};
    RecordMap b = {{{"b.z", "A"}, {30, {"1.1.1.2"}}},
                   {{"c.z", "A"}, {60, {"1.1.1.3"}}},
                   {{"d.z", "A"}, {30, {"1.1.1.4"}}}};
    auto d = diff_records(a, b);
    REQUIRE(d.size() == 3);
    CHECK(d[0].name == "a.z");
    CHECK(d[1].name == "c.z");  // ttl changed
    CHECK(d[2].name == "d.z");
    CHECK(diff_records(a, a).empty());
    CHECK(diff_records({}, a).size() == 3);
  }

  TEST_CASE("records: zone_changes applied to a snapshot swap A for CNAME and bump the serial") {
    ZoneSpec s;
    s.origin = "fleet.test.";
    s.mname = "ns1.fleet.test.";
    s.rname = "hostmaster.fleet.test.";
    s.serial = 7;
    s.nameservers = {{"ns1.fleet.test.", {"127.0.0.1"}, {}}};
    RecordMap before = desired_records(
        {{"w", std::nullopt, {"192.0.2.1"}, {}}, {"gone", std::nullopt, {"192.0.2.5"}, {}}}, {},
        "fleet.test", 60);
    s.records = zone_records(before).value();
    auto base = ZoneSnapshot::build(s).value();
    RecordMap after =
        desired_records({{"w", std::string("lb.example.net"), {}, {}}}, {}, "fleet.test", 60);
    auto keys = diff_records(before, after);
    auto changes = zone_changes(after, keys);
    REQUIRE(changes);
    auto next = ZoneSnapshot::apply(*base, 8, changes.value());
    REQUIRE(next);
    CHECK(next.value()->serial() == 8);
    auto w = next.value()->find(Name::from_text("w.fleet.test").value());
    REQUIRE(w.has_value());
    REQUIRE(w->size() == 1);
    CHECK((*w)[0].type == RrType::kCname);
    CHECK_FALSE(next.value()->find(Name::from_text("gone.fleet.test").value()));
    CHECK(base->find(Name::from_text("gone.fleet.test").value()).has_value());  // base untouched
  }

  TEST_CASE(
      "records: the served zone answers for the publisher (zone_has, zone_keys, address_rrsets)") {
    // The publisher keeps no copy of its records: a pass compares what it
    // wants with the snapshot the server has. Built through LabelSets (the
    // start) and through records, the zone compares equal to the same map.
    ZoneSpec s;
    s.origin = "fleet.test.";
    s.mname = "ns1.fleet.test.";
    s.rname = "hostmaster.fleet.test.";
    s.nameservers = {{"ns1.fleet.test.", {"127.0.0.1"}, {}}};
    const std::vector<ChallengeRow> ch = {{"_acme-challenge.w.fleet.test", "tok"}};
    const RecordMap want = desired_records(
        {{"w", std::nullopt, {"192.0.2.2", "192.0.2.1", "192.0.2.1"}, {"2001:DB8::1"}},
         {"lb", std::string("Edge.Example.NET."), {"192.0.2.9"}, {}}},
        ch, "fleet.test", 60);
    ZoneSpec by_records = s;
    by_records.records = zone_records(want).value();
    ZoneSpec challenges = s;
    challenges.records = zone_records(desired_records({}, ch, "fleet.test", 60)).value();
    LabelSets names;
    names.add("W",
              names.add_group(address_rrsets(std::nullopt, {"192.0.2.2", "192.0.2.1", "192.0.2.1"},
                                             {"2001:DB8::1"}, 60)
                                  .value()));
    names.add("lb",
              names.add_group(
                  address_rrsets(std::string("Edge.Example.NET."), {"192.0.2.9"}, {}, 60).value()));
    for (const auto& z : {ZoneSnapshot::build(by_records).value(),
                          ZoneSnapshot::build(challenges, names).value()}) {
      for (const auto& [k, v] : want) CHECK_MESSAGE(zone_has(*z, k, &v), k.name, " ", k.type);
      RrValue other = want.at({"w.fleet.test", "A"});
      other.data.pop_back();
      CHECK_FALSE(zone_has(*z, {"w.fleet.test", "A"}, &other));  // one address fewer
      other = want.at({"w.fleet.test", "A"});
      other.ttl = 61;
      CHECK_FALSE(zone_has(*z, {"w.fleet.test", "A"}, &other));  // another TTL
      CHECK_FALSE(zone_has(*z, {"w.fleet.test", "A"}, nullptr));
      CHECK(zone_has(*z, {"w.fleet.test", "CNAME"}, nullptr));
      CHECK(zone_has(*z, {"absent.fleet.test", "A"}, nullptr));
      CHECK_FALSE(zone_has(*z, {"lb.fleet.test", "CNAME"}, &want.at({"w.fleet.test", "A"})));
    }
    // A bad address is an error naming it, not a zone without the region.
    CHECK_FALSE(address_rrsets(std::nullopt, {"192.0.2.300"}, {}, 60));
    CHECK(address_rrsets(std::nullopt, {}, {}, 60).value().empty());
  }

  TEST_CASE("records: provider_ops delete only what we pushed, then add") {
    ProviderRow moved{{"w.z", "A"},
                      30,
                      std::vector<std::string>{"192.0.2.2"},
                      std::vector<std::string>{"192.0.2.1", "192.0.2.2"},
                      std::nullopt};
    ProviderRow removed{
        {"old.z", "A"}, 0, std::nullopt, std::vector<std::string>{"192.0.2.9"}, std::nullopt};
    ProviderRow fresh{
        {"new.z", "TXT"}, 30, std::vector<std::string>{"\"t\""}, std::nullopt, std::nullopt};
    auto ops = provider_ops({moved, removed, fresh});
    REQUIRE(ops);
    REQUIRE(ops.value().size() == 4);
    CHECK(ops.value()[0].kind == UpdateOp::Kind::kDeleteRecord);
    CHECK(rdata_to_text(ops.value()[0].record.rdata) == "192.0.2.1");
    CHECK(ops.value()[1].kind == UpdateOp::Kind::kDeleteRecord);
    CHECK(ops.value()[1].record.name.to_text() == "old.z.");
    CHECK(ops.value()[2].kind == UpdateOp::Kind::kAdd);
    CHECK(ops.value()[2].record.ttl == 30);
    CHECK(ops.value()[3].record.type == RrType::kTxt);
    for (const auto& op : ops.value()) CHECK(op.kind != UpdateOp::Kind::kDeleteRrset);
    ProviderRow bad{
        {"w.z", "A"}, 30, std::vector<std::string>{"not-an-ip"}, std::nullopt, std::nullopt};
    CHECK_FALSE(provider_ops({bad}));
  }
}

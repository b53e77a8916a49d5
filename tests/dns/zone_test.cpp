// The compact zone store (dns/zone.cpp) against a plain model: random adds
// and removals over many snapshots, so shard growth, tombstones, compaction
// and copy-on-write sharing are all exercised.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>
#include <tuple>

#include "dns/server.hpp"
#include "helpers.hpp"

using namespace fc;
using namespace fc::dns;
using namespace fc::dns::test;

namespace {

using Model = std::map<std::string, std::map<RrType, std::set<std::string>>>;  // lower-case owner

ZoneSpec base_spec() {
  ZoneSpec s;
  s.origin = "fleet.test.";
  s.mname = "ns1.fleet.test.";
  s.rname = "hostmaster.fleet.test.";
  s.nameservers = {{"ns1.fleet.test.", {"192.0.2.53"}, {}}};
  return s;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Every owner with data and each of its ancestors up to the apex.
std::set<std::string> model_nodes(const Model& m) {
  std::set<std::string> out;
  for (const auto& [name, sets] : m) {
    if (sets.empty()) continue;
    for (std::string n = name;; n = n.substr(n.find('.') + 1)) {
      out.insert(n);
      if (n == "fleet.test.") break;
    }
  }
  return out;
}

void check(const ZoneSnapshot& z, const Model& m, std::mt19937& rng) {
  const auto nodes = model_nodes(m);
  CHECK(z.node_count() == nodes.size());
  std::size_t records = 0;
  for (const auto& n : nodes) {
    std::string asked = n;  // ask in a random case: lookups are case-insensitive
    for (auto& c : asked)
      if (rng() % 2) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto found = z.find(N(asked));
    REQUIRE_MESSAGE(found.has_value(), n);
    CHECK(z.contains(N(asked)));
    auto it = m.find(n);
    std::map<RrType, std::set<std::string>> got;
    for (const auto& set : *found)
      for (const auto& rd : set.rdatas) got[set.type].insert(rdata_to_text(rd));
    if (n == "fleet.test.") {
      got.erase(RrType::kSoa);
      got.erase(RrType::kNs);
    }
    const std::map<RrType, std::set<std::string>> none;
    CHECK_MESSAGE(got == (it == m.end() ? none : it->second), n);
    for (const auto& [t, v] : got) records += v.size();
  }
  CHECK_FALSE(z.find(N("absent-" + std::to_string(rng()) + ".fleet.test")));
  CHECK(z.all_records().size() == records + 2);  // + the SOA and the NS of the apex
}

}  // namespace

TEST_SUITE("dns") {
  TEST_CASE("compact zone: random adds and removals match a model across snapshots") {
    std::mt19937 rng(1616);
    Model m;
    m["ns1.fleet.test."][RrType::kA] = {"192.0.2.53"};  // the NS glue from the spec
    auto rand_name = [&] {
      std::string n = "w" + std::to_string(rng() % 3000);
      if (rng() % 4 == 0) n += ".Sub" + std::to_string(rng() % 7);
      return n + ".Fleet.Test.";
    };
    auto rand_rr = [&](std::string* text) {
      const int k = static_cast<int>(rng() % 10);
      if (k < 6) {
        *text = "10." + std::to_string(rng() % 256) + "." + std::to_string(rng() % 256) + ".1";
        return RrType::kA;
      }
      if (k < 8) {
        *text = "2001:db8::" + std::to_string(rng() % 9000 + 1);
        return RrType::kAaaa;
      }
      if (k < 9) {
        *text = "\"tok-" + std::to_string(rng() % 50) + "\"";
        return RrType::kTxt;
      }
      *text = "\\# 3 0102" + std::to_string(rng() % 90 + 10);  // an unknown type, opaque
      return static_cast<RrType>(65280);
    };
    // The start: 4,000 names, with some CNAMEs that must stay alone at their owner.
    ZoneSpec s = base_spec();
    for (int i = 0; i < 4000; ++i) {
      const std::string name = rand_name();
      auto& sets = m[lower(name)];
      std::string text;
      RrType t = rand_rr(&text);
      if (i % 50 == 0 && sets.empty()) {
        t = RrType::kCname;
        text = "target" + std::to_string(i) + ".example.";
      }
      if (sets.count(RrType::kCname) || (t == RrType::kCname && !sets.empty())) continue;
      auto rd = RD(t, text);
      sets[t].insert(rdata_to_text(rd));
      s.records.push_back({name, t, 60, rd});
    }
    auto z = ZoneSnapshot::build(s);
    REQUIRE(z);
    std::shared_ptr<const ZoneSnapshot> cur = z.value();
    check(*cur, m, rng);
    for (std::uint32_t serial = 2; serial < 40; ++serial) {
      const auto before = cur->all_records();
      Model next = m;
      std::vector<ZoneChange> changes;
      for (int i = 0; i < 400; ++i) {
        const std::string name = rand_name();
        auto& sets = next[lower(name)];
        const int op = static_cast<int>(rng() % 10);
        if (op < 4) {  // remove the whole name
          changes.push_back({ZoneChange::Kind::kRemoveName, {name, RrType::kA, 0, {}}});
          sets.clear();
        } else if (op < 6 && !sets.empty()) {  // remove one RRset
          const RrType t = sets.begin()->first;
          changes.push_back({ZoneChange::Kind::kRemoveRrset, {name, t, 0, {}}});
          sets.erase(t);
        } else {
          std::string text;
          const RrType t = rand_rr(&text);
          if (sets.count(RrType::kCname)) continue;
          auto rd = RD(t, text);
          changes.push_back({ZoneChange::Kind::kAdd, {name, t, 60, rd}});
          sets[t].insert(rdata_to_text(rd));
        }
      }
      auto applied = ZoneSnapshot::apply(*cur, serial, changes);
      REQUIRE(applied);
      CHECK(applied.value()->serial() == serial);
      CHECK(cur->all_records() == before);  // the base snapshot is untouched
      cur = applied.value();
      m = std::move(next);
      check(*cur, m, rng);
    }
    CHECK(cur->find(N("fleet.test"))->size() == 2);  // SOA and NS survive every delta
    CHECK(cur->memory_bytes() > 0);
  }

  TEST_CASE("compact zone: a LabelSets build serves what the record-by-record build serves") {
    // The start's bulk path (names in shard order, one encoded group per
    // region) against ZoneSpec::records for the same data: every name's
    // RRsets in the same order, the same nodes and records, and a delta on
    // top of it behaves (apex children counted, so pruning stays right).
    const std::vector<std::vector<RRset>> groups = {
        {{RrType::kA, 30, {RD(RrType::kA, "192.0.2.1"), RD(RrType::kA, "192.0.2.2")}},
         {RrType::kAaaa, 30, {RD(RrType::kAaaa, "2001:db8::1")}}},
        {{RrType::kCname, 30, {RD(RrType::kCname, "edge.example.net.")}}},
        {{RrType::kA, 30, {RD(RrType::kA, "198.51.100.7")}}},
        {},  // a region without ingress: its workspaces are not in DNS
    };
    std::mt19937 rng(2424);
    LabelSets bulk;
    std::vector<std::uint32_t> ids;
    for (const auto& g : groups) ids.push_back(bulk.add_group(g));
    ZoneSpec by_record = base_spec();
    std::map<std::string, std::size_t> group_of;  // lower-case label
    for (int i = 0; i < 6000; ++i) {
      std::string label = "w" + std::to_string(rng() % 5000);  // some twice
      if (rng() % 3 == 0) label[0] = 'W';                      // stored lower case
      const std::size_t g = (i % 97 == 0) ? 3 : rng() % 3;
      std::string key = lower(label);
      if (auto it = group_of.find(key); it != group_of.end() && it->second != g) continue;
      if (i % 500 == 0) label += ".deep";  // not one label: the checked path
      key = lower(label);
      group_of[key] = g;
      bulk.add(label, ids[g]);
      for (const auto& set : groups[g])
        for (const auto& rd : set.rdatas)
          by_record.records.push_back({key + ".fleet.test.", set.type, set.ttl, rd});
    }
    // Challenges: below a bulk name, and one TXT at a name of its own.
    ZoneSpec spec = base_spec();
    for (const char* n : {"_acme-challenge.w17.fleet.test.", "_acme-challenge.solo.fleet.test."}) {
      spec.records.push_back({n, RrType::kTxt, 30, RD(RrType::kTxt, "\"tok\"")});
      by_record.records.push_back({n, RrType::kTxt, 30, RD(RrType::kTxt, "\"tok\"")});
    }
    auto a = ZoneSnapshot::build(by_record);
    auto b = ZoneSnapshot::build(spec, bulk);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(b.value()->node_count() == a.value()->node_count());
    auto ra = a.value()->all_records(), rb = b.value()->all_records();
    const auto by_text = [](const Record& x, const Record& y) {
      return std::make_tuple(x.name.key(), static_cast<int>(x.type), rdata_to_text(x.rdata)) <
             std::make_tuple(y.name.key(), static_cast<int>(y.type), rdata_to_text(y.rdata));
    };
    std::sort(ra.begin(), ra.end(), by_text);
    std::sort(rb.begin(), rb.end(), by_text);
    CHECK(ra == rb);
    // RRsets in order, each as type, TTL and rdata text in order.
    const auto served = [](const ZoneSnapshot& z, const Name& n) {
      std::vector<std::tuple<int, std::uint32_t, std::vector<std::string>>> out;
      if (auto sets = z.find(n))
        for (const auto& set : *sets) {
          std::vector<std::string> text;
          for (const auto& rd : set.rdatas) text.push_back(rdata_to_text(rd));
          out.emplace_back(static_cast<int>(set.type), set.ttl, std::move(text));
        }
      return out;
    };
    for (const auto& [label, g] : group_of) {
      const Name n = N(label + ".FLEET.test.");
      CHECK_MESSAGE(served(*b.value(), n) == served(*a.value(), n), label);
      CHECK(b.value()->contains(n) == a.value()->contains(n));
    }
    CHECK(b.value()->find(N("w17.fleet.test")).has_value());
    CHECK_FALSE(b.value()->find(N("absent.fleet.test")).has_value());
    // Remove every bulk name of group 0 and one deep name: the same result as on the other build.
    std::vector<ZoneChange> changes;
    for (const auto& [label, g] : group_of)
      if (g == 0 || label.ends_with(".deep"))
        changes.push_back(
            {ZoneChange::Kind::kRemoveName, {label + ".fleet.test.", RrType::kA, 0, {}}});
    auto a2 = ZoneSnapshot::apply(*a.value(), 2, changes);
    auto b2 = ZoneSnapshot::apply(*b.value(), 2, changes);
    REQUIRE(a2);
    REQUIRE(b2);
    CHECK(b2.value()->node_count() == a2.value()->node_count());
    CHECK(b2.value()->node_count() < b.value()->node_count());
    CHECK(b2.value()->all_records().size() == a2.value()->all_records().size());
    // A full pass builds the zone again and publishes it only if it differs.
    CHECK(b.value()->same_data(*a.value()));
    CHECK(a.value()->same_data(*b.value()));
    CHECK(b2.value()->same_data(*a2.value()));
    CHECK_FALSE(b2.value()->same_data(*b.value()));
    CHECK_FALSE(b.value()->same_data(*b2.value()));
    auto serial_only = ZoneSnapshot::apply(*b.value(), 9, {});
    REQUIRE(serial_only);
    CHECK(serial_only.value()->same_data(*b.value()));  // the SOA serial is not data
    // One name more: not the same.
    auto one_more = ZoneSnapshot::apply(
        *b.value(), 3,
        {{ZoneChange::Kind::kAdd,
          {"fresh.fleet.test.", RrType::kA, 30, RD(RrType::kA, "192.0.2.77")}}});
    REQUIRE(one_more);
    CHECK_FALSE(one_more.value()->same_data(*b.value()));
    CHECK_FALSE(b.value()->same_data(*one_more.value()));
    // A group that is not a valid RRset collection is refused, naming why.
    LabelSets bad;
    bad.add("x", bad.add_group(
                     {{RrType::kCname,
                       30,
                       {RD(RrType::kCname, "a.example."), RD(RrType::kCname, "b.example.")}}}));
    auto refused = ZoneSnapshot::build(base_spec(), bad);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().detail.find("CNAME") != std::string::npos);
  }
}

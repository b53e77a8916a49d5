// Pure core of the DNS publisher (dns/publisher.cpp): the record set derived from the database,
// its difference from the previous one, and what to send to the embedded
// zone and to external providers. No I/O.
#include <algorithm>

#include "dns/server.hpp"

namespace fc::dns {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string strip_dot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

void put(RecordMap& m, const std::string& name, const char* type, std::uint32_t ttl,
         std::string data) {
  auto& v = m[RrKey{name, type}];
  v.ttl = ttl;
  if (std::find(v.data.begin(), v.data.end(), data) == v.data.end())
    v.data.push_back(std::move(data));
}

// TXT presentation: one quoted character-string (values are base64url).
std::string txt_text(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Result<ZoneRecord> zone_record(const RrKey& k, std::uint32_t ttl, const std::string& data) {
  BOOST_OUTCOME_TRY(type, type_from_name(k.type));
  BOOST_OUTCOME_TRY(rd, rdata_from_text(type, data));
  return ZoneRecord{k.name + ".", type, ttl, std::move(rd)};
}

}  // namespace

bool name_in_zone(const std::string& name, const std::string& zone) {
  if (name == zone) return true;
  return name.size() > zone.size() &&
         name.compare(name.size() - zone.size(), zone.size(), zone) == 0 &&
         name[name.size() - zone.size() - 1] == '.';
}

RecordMap desired_records(const std::vector<PublishedName>& pub,
                          const std::vector<ChallengeRow>& ch, const std::string& zone,
                          std::uint32_t ttl) {
  RecordMap m;
  for (const auto& p : pub) {
    std::string owner = lower(p.name) + "." + zone;
    if (p.ingress_hostname) {
      put(m, owner, "CNAME", ttl, lower(strip_dot(*p.ingress_hostname)) + ".");
      continue;
    }
    for (const auto& a : p.ipv4) put(m, owner, "A", ttl, a);
    for (const auto& a : p.ipv6) put(m, owner, "AAAA", ttl, a);
  }
  for (const auto& c : ch) {
    std::string owner = lower(strip_dot(c.name));
    if (!name_in_zone(owner, zone) || owner == zone) continue;
    put(m, owner, "TXT", ttl, txt_text(c.value));
  }
  for (auto& [k, v] : m) std::sort(v.data.begin(), v.data.end());
  return m;
}

std::vector<RrKey> diff_records(const RecordMap& a, const RecordMap& b) {
  std::vector<RrKey> out;
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
      out.push_back((ia++)->first);
    } else if (ia == a.end() || ib->first < ia->first) {
      out.push_back((ib++)->first);
    } else {
      if (!(ia->second == ib->second)) out.push_back(ia->first);
      ++ia;
      ++ib;
    }
  }
  return out;
}

Result<std::vector<ZoneChange>> zone_changes(const RecordMap& next,
                                             const std::vector<RrKey>& changed) {
  std::vector<ZoneChange> removes, adds;
  for (const auto& k : changed) {
    BOOST_OUTCOME_TRY(type, type_from_name(k.type));
    ZoneChange rm;
    rm.kind = ZoneChange::Kind::kRemoveRrset;
    rm.record.name = k.name + ".";
    rm.record.type = type;
    removes.push_back(std::move(rm));
    auto it = next.find(k);
    if (it == next.end()) continue;
    for (const auto& d : it->second.data) {
      BOOST_OUTCOME_TRY(rec, zone_record(k, it->second.ttl, d));
      adds.push_back(ZoneChange{ZoneChange::Kind::kAdd, std::move(rec)});
    }
  }
  removes.insert(removes.end(), std::make_move_iterator(adds.begin()),
                 std::make_move_iterator(adds.end()));
  return removes;
}

Result<std::vector<ZoneRecord>> zone_records(const RecordMap& m) {
  std::vector<ZoneRecord> out;
  for (const auto& [k, v] : m) {
    for (const auto& d : v.data) {
      BOOST_OUTCOME_TRY(rec, zone_record(k, v.ttl, d));
      out.push_back(std::move(rec));
    }
  }
  return out;
}

Result<std::vector<RRset>> address_rrsets(const std::optional<std::string>& hostname,
                                          const std::vector<std::string>& ipv4,
                                          const std::vector<std::string>& ipv6, std::uint32_t ttl) {
  std::vector<RRset> out;
  // As desired_records and zone_records make them: the text sorted and
  // unique, parsed in that order (the order the zone serves).
  const auto one = [&](RrType type, std::vector<std::string> text) -> Status {
    std::sort(text.begin(), text.end());
    text.erase(std::unique(text.begin(), text.end()), text.end());
    if (text.empty()) return ok();
    RRset set{type, ttl, {}};
    for (const auto& t : text) {
      BOOST_OUTCOME_TRY(rd, rdata_from_text(type, t));
      if (std::find(set.rdatas.begin(), set.rdatas.end(), rd) == set.rdatas.end())
        set.rdatas.push_back(std::move(rd));
    }
    out.push_back(std::move(set));
    return ok();
  };
  if (hostname) {
    BOOST_OUTCOME_TRY(one(RrType::kCname, {lower(strip_dot(*hostname)) + "."}));
    return out;
  }
  BOOST_OUTCOME_TRY(one(RrType::kA, ipv4));
  BOOST_OUTCOME_TRY(one(RrType::kAaaa, ipv6));
  return out;
}

bool zone_has(const ZoneSnapshot& zone, const RrKey& k, const RrValue* want) {
  auto type = type_from_name(k.type);
  auto owner = Name::from_text(k.name + ".");
  if (!type || !owner) return want == nullptr;  // such a key can never be served
  const auto sets = zone.find(owner.value());
  const RRset* set = nullptr;
  if (sets)
    for (const auto& s : *sets)
      if (s.type == type.value()) set = &s;
  if (want == nullptr || set == nullptr) return want == nullptr && set == nullptr;
  if (set->ttl != want->ttl || set->rdatas.size() != want->data.size()) return false;
  for (const auto& d : want->data) {
    auto rd = rdata_from_text(type.value(), d);
    if (!rd || std::find(set->rdatas.begin(), set->rdatas.end(), rd.value()) == set->rdatas.end())
      return false;
  }
  return true;
}

Result<std::vector<UpdateOp>> provider_ops(const std::vector<ProviderRow>& rows) {
  std::vector<UpdateOp> dels, adds;
  for (const auto& r : rows) {
    BOOST_OUTCOME_TRY(type, type_from_name(r.key.type));
    BOOST_OUTCOME_TRY(owner, Name::from_text(r.key.name + "."));
    const std::vector<std::string> none;
    const auto& want = r.desired ? *r.desired : none;
    const auto& had = r.pushed ? *r.pushed : none;
    for (const auto& d : had) {
      if (std::find(want.begin(), want.end(), d) != want.end()) continue;
      BOOST_OUTCOME_TRY(rd, rdata_from_text(type, d));
      // RFC 2136 §2.5.4: delete one RR (class NONE, TTL 0).
      dels.push_back(UpdateOp{UpdateOp::Kind::kDeleteRecord, Record{owner, type, kClassIn, 0, rd}});
    }
    for (const auto& d : want) {
      BOOST_OUTCOME_TRY(rd, rdata_from_text(type, d));
      adds.push_back(UpdateOp{UpdateOp::Kind::kAdd, Record{owner, type, kClassIn, r.ttl, rd}});
    }
  }
  dels.insert(dels.end(), std::make_move_iterator(adds.begin()),
              std::make_move_iterator(adds.end()));
  return dels;
}

}  // namespace fc::dns

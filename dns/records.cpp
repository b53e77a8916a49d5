// Pure core of the DNS publisher (dns/publisher.cpp): the record set derived from the database,
// its difference from the previous one, and what to send to the embedded
// zone and to external providers. No I/O.
#include <algorithm>

#include "dns/server.hpp"

namespace fc::dns {

namespace {

// ASCII only, as DNS compares names (RFC 4343), without a locale call per
// character (a million names at start).
std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  return s;
}

std::string strip_dot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// Adds one value to the RRset, which stays sorted and unique.
void put(RecordMap& m, const std::string& name, const char* type, std::uint32_t ttl,
         std::string data) {
  auto& v = m[RrKey{name, type}];
  v.ttl = ttl;
  auto at = std::lower_bound(v.data.begin(), v.data.end(), data);
  if (at == v.data.end() || *at != data) v.data.insert(at, std::move(data));
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
  // The workspaces' records (one or two per workspace, a million at fleet
  // size) go in with the map's end as the hint: rows in name order (as a
  // table scan of the populated fleet reads them) cost no search each, others
  // no more than a plain insert.
  RecordMap m;
  auto add = [&](std::string owner, const char* type, std::vector<std::string> data) {
    const std::size_t before = m.size();
    auto it = m.try_emplace(m.end(), RrKey{std::move(owner), type}, RrValue{ttl, {}});
    auto& v = it->second.data;
    if (m.size() == before) {  // a second workspace with this owner: merge
      v.insert(v.end(), std::make_move_iterator(data.begin()), std::make_move_iterator(data.end()));
    } else {
      v = std::move(data);
    }
    if (v.size() > 1) {
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
    }
  };
  for (const auto& p : pub) {
    std::string owner = lower(p.name) + "." + zone;
    if (p.ingress_hostname) {
      add(std::move(owner), "CNAME", {lower(strip_dot(*p.ingress_hostname)) + "."});
      continue;
    }
    if (!p.ipv4.empty()) add(owner, "A", p.ipv4);
    if (!p.ipv6.empty()) add(std::move(owner), "AAAA", p.ipv6);
  }
  for (const auto& c : ch) {
    std::string owner = lower(strip_dot(c.name));
    if (!name_in_zone(owner, zone) || owner == zone) continue;
    put(m, owner, "TXT", ttl, txt_text(c.value));
  }
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

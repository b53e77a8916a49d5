// ZoneSnapshot: the in-memory zone, hash shards from lower-cased names to RRsets,
// shared copy-on-write between snapshots.
#include <algorithm>
#include <functional>

#include "dns/detail/wire.hpp"
#include "dns/server.hpp"

namespace fc::dns {
namespace {

Error invalid(std::string d) { return make_error(Code::kInvalidArgument, std::move(d)); }

bool is_meta(RrType t) {
  return t == RrType::kOpt || t == RrType::kTsig || t == RrType::kAxfr || t == RrType::kIxfr ||
         t == RrType::kAny;
}

}  // namespace

std::size_t ZoneSnapshot::shard_of(const std::string& key) {
  return std::hash<std::string>{}(key) % kShards;
}

ZoneSnapshot::Shard& ZoneSnapshot::mutable_shard(const std::string& key) {
  const std::size_t i = shard_of(key);
  if (!writable_[i]) {
    shards_[i] = std::make_shared<Shard>(*shards_[i]);  // copy on first write
    writable_[i] = true;
  }
  return *shards_[i];
}

ZoneSnapshot::Node* ZoneSnapshot::mutable_node(const std::string& key) {
  const auto& shard = *shards_[shard_of(key)];
  if (shard.nodes.find(key) == shard.nodes.end()) return nullptr;
  return &mutable_shard(key).nodes.at(key);
}

// Creates `name` and every missing empty non-terminal up to the apex.
ZoneSnapshot::Node& ZoneSnapshot::create_node(const Name& name) {
  const std::string key = name.key();
  if (Node* n = mutable_node(key)) return *n;
  Shard& shard = mutable_shard(key);
  Node& node =
      shard.nodes.try_emplace(key, Node{name, {}, 0}).first->second;  // stable across rehash
  shard.order.push_back(key);
  if (!(name == origin_)) ++create_node(name.parent()).children;
  return node;
}

// Removes an empty, childless node and then any ancestor left the same way.
void ZoneSnapshot::prune(const Name& name) {
  for (Name n = name; !(n == origin_); n = n.parent()) {
    const std::string key = n.key();
    Node* node = mutable_node(key);
    if (node == nullptr || !node->rrsets.empty() || node->children > 0) return;
    Shard& shard = mutable_shard(key);
    shard.nodes.erase(key);
    shard.order.erase(std::find(shard.order.begin(), shard.order.end(), key));
    Node* parent = mutable_node(n.parent().key());
    if (parent != nullptr && parent->children > 0) --parent->children;
  }
}

Status ZoneSnapshot::add(const Name& owner, RrType type, std::uint32_t ttl, Rdata rd) {
  if (!owner.is_subdomain_of(origin_)) return invalid(owner.to_text() + " is outside the zone");
  const RrType rt = detail::rdata_type(rd);
  if (rt != type && !(rt == RrType::kAny && std::holds_alternative<OpaqueRdata>(rd)))
    return invalid("rdata does not match type " + type_name(type) + " at " + owner.to_text());
  if (is_meta(type)) return invalid("meta type " + type_name(type) + " in zone data");
  if (type == RrType::kCname && owner == origin_) return invalid("CNAME at the zone apex");
  Node& node = create_node(owner);
  const bool has_cname = std::any_of(node.rrsets.begin(), node.rrsets.end(),
                                     [](const RRset& s) { return s.type == RrType::kCname; });
  if ((type == RrType::kCname && !node.rrsets.empty() && !has_cname) ||
      (type != RrType::kCname && has_cname))
    return invalid("CNAME and other data at " + owner.to_text());
  auto set = std::find_if(node.rrsets.begin(), node.rrsets.end(),
                          [&](const RRset& s) { return s.type == type; });
  if (set == node.rrsets.end()) {
    node.rrsets.push_back(RRset{type, ttl, {}});
    set = node.rrsets.end() - 1;
  }
  if (type == RrType::kCname && !set->rdatas.empty() && !(set->rdatas.front() == rd))
    return invalid("two CNAMEs at " + owner.to_text());
  set->ttl = std::min(set->ttl, ttl);  // RFC 2181 §5.2: one TTL per RRset
  if (std::find(set->rdatas.begin(), set->rdatas.end(), rd) == set->rdatas.end())
    set->rdatas.push_back(std::move(rd));
  return ok();
}

Status ZoneSnapshot::change(const ZoneChange& c) {
  BOOST_OUTCOME_TRY(owner, Name::from_text(c.record.name));
  if (!owner.is_subdomain_of(origin_)) return invalid(owner.to_text() + " is outside the zone");
  const bool apex_meta =
      owner == origin_ && (c.kind == ZoneChange::Kind::kRemoveName ||
                           c.record.type == RrType::kSoa || c.record.type == RrType::kNs);
  if (apex_meta || c.record.type == RrType::kSoa)
    return invalid("the SOA and apex NS come from the zone spec");
  if (c.kind == ZoneChange::Kind::kAdd)
    return add(owner, c.record.type, c.record.ttl, c.record.rdata);
  Node* node = mutable_node(owner.key());
  if (node == nullptr) return ok();  // removing what is not there is a no-op (idempotent)
  std::erase_if(node->rrsets, [&](const RRset& s) {
    return c.kind == ZoneChange::Kind::kRemoveName || s.type == c.record.type;
  });
  prune(owner);
  return ok();
}

Result<std::shared_ptr<const ZoneSnapshot>> ZoneSnapshot::build(const ZoneSpec& spec) {
  auto z = std::shared_ptr<ZoneSnapshot>(new ZoneSnapshot());
  BOOST_OUTCOME_TRY(origin, Name::from_text(spec.origin));
  BOOST_OUTCOME_TRY(mname, Name::from_text(spec.mname));
  BOOST_OUTCOME_TRY(rname, Name::from_text(spec.rname));
  z->origin_ = origin;
  z->soa_ =
      SoaRdata{mname, rname, spec.serial, spec.refresh, spec.retry, spec.expire, spec.minimum};
  z->soa_ttl_ = spec.ttl;
  for (std::size_t i = 0; i < kShards; ++i) z->shards_.push_back(std::make_shared<Shard>());
  z->writable_.assign(kShards, true);
  BOOST_OUTCOME_TRY(z->add(origin, RrType::kSoa, spec.ttl, Rdata{z->soa_}));
  if (spec.nameservers.empty()) return invalid("zone needs at least one NS");
  for (const auto& ns : spec.nameservers) {
    BOOST_OUTCOME_TRY(host, Name::from_text(ns.name));
    BOOST_OUTCOME_TRY(z->add(origin, RrType::kNs, spec.ttl, Rdata{NsRdata{host}}));
    if (!host.is_subdomain_of(origin)) continue;  // glue only for in-zone names
    for (const auto* list : {&ns.ipv4, &ns.ipv6}) {
      const RrType t = list == &ns.ipv6 ? RrType::kAaaa : RrType::kA;
      for (const auto& a : *list) {
        BOOST_OUTCOME_TRY(rd, rdata_from_text(t, a));
        BOOST_OUTCOME_TRY(z->add(host, t, spec.ttl, std::move(rd)));
      }
    }
  }
  for (const auto& r : spec.records) {
    BOOST_OUTCOME_TRY(owner, Name::from_text(r.name));
    if (r.type == RrType::kSoa) return invalid("SOA comes from the zone fields");
    BOOST_OUTCOME_TRY(z->add(owner, r.type, r.ttl, r.rdata));
  }
  z->writable_.assign(kShards, false);
  return std::shared_ptr<const ZoneSnapshot>(std::move(z));
}

Result<std::shared_ptr<const ZoneSnapshot>> ZoneSnapshot::apply(
    const ZoneSnapshot& base, std::uint32_t serial, const std::vector<ZoneChange>& changes) {
  auto z = std::shared_ptr<ZoneSnapshot>(new ZoneSnapshot(base));  // shares every shard
  z->writable_.assign(kShards, false);
  z->soa_.serial = serial;
  Node* apex = z->mutable_node(z->origin_.key());
  for (auto& set : apex->rrsets)
    if (set.type == RrType::kSoa) set.rdatas = {Rdata{z->soa_}};
  for (const auto& c : changes) {
    BOOST_OUTCOME_TRY(z->change(c));
  }
  z->writable_.assign(kShards, false);
  return std::shared_ptr<const ZoneSnapshot>(std::move(z));
}

const std::vector<RRset>* ZoneSnapshot::find(const Name& name) const {
  const std::string key = name.key();
  const auto& nodes = shards_[shard_of(key)]->nodes;
  auto it = nodes.find(key);
  return it == nodes.end() ? nullptr : &it->second.rrsets;
}

std::size_t ZoneSnapshot::node_count() const {
  std::size_t n = 0;
  for (const auto& s : shards_) n += s->nodes.size();
  return n;
}

Record ZoneSnapshot::soa_record() const {
  return Record{origin_, RrType::kSoa, kClassIn, soa_ttl_, Rdata{soa_}};
}

std::vector<Record> ZoneSnapshot::all_records() const {
  std::vector<Record> out;
  out.push_back(soa_record());
  for (const auto& shard : shards_) {
    for (const auto& key : shard->order) {
      const Node& node = shard->nodes.at(key);
      for (const auto& set : node.rrsets) {
        if (set.type == RrType::kSoa) continue;
        for (const auto& rd : set.rdatas)
          out.push_back(Record{node.name, set.type, kClassIn, set.ttl, rd});
      }
    }
  }
  return out;
}

}  // namespace fc::dns

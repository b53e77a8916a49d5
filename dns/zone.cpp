// ZoneSnapshot: the in-memory zone in a compact layout (docs/dns.md "Zone
// layout"): hash shards shared copy-on-write between snapshots, each an
// open-addressing index over a node array and byte arenas.
#include <algorithm>
#include <cstring>

#include "dns/detail/wire.hpp"
#include "dns/server.hpp"

namespace fc::dns {
namespace {

Error invalid(std::string d) { return make_error(Code::kInvalidArgument, std::move(d)); }

bool is_meta(RrType t) {
  return t == RrType::kOpt || t == RrType::kTsig || t == RrType::kAxfr || t == RrType::kIxfr ||
         t == RrType::kAny;
}

constexpr std::uint32_t kNoData = 0xFFFFFFFF;  // Entry::data_off of a node without RRsets
constexpr std::uint32_t kDead = 0xFFFFFFFE;    // a removed node: its slot stays as a tombstone
constexpr std::uint32_t kNone = 0xFFFFFFFF;    // "no such node"
constexpr int kShardBits = 11;                 // kShards == 2048

// How one rdata is stored: A/AAAA inline, others as uncompressed-or-self-
// compressed wire bytes when they read back identical, else out of line.
enum Tag : std::uint8_t { kTagA = 0, kTagAaaa = 1, kTagWire = 2, kTagPool = 3 };

std::uint8_t zlower(std::uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c;
}

// FNV-1a over the lower-cased wire form, then a 64-bit finalizer (the shard
// comes from the top bits, the slot from the low ones).
struct Hasher {
  std::uint64_t h = 1469598103934665603ull;
  void mix(std::uint8_t c) { h = (h ^ c) * 1099511628211ull; }
  std::uint64_t done() const {
    std::uint64_t x = h;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
  }
};

std::uint64_t name_hash(const Name& n) {
  Hasher x;
  for (const auto& l : n.labels) {
    x.mix(static_cast<std::uint8_t>(l.size()));
    for (char c : l) x.mix(zlower(static_cast<std::uint8_t>(c)));
  }
  return x.done();
}

// The same hash of a stored wire-form name.
std::uint64_t wire_hash(const std::uint8_t* p) {
  Hasher x;
  for (; *p != 0; p += 1 + *p) {
    x.mix(*p);
    for (std::uint8_t i = 1; i <= *p; ++i) x.mix(zlower(p[i]));
  }
  return x.done();
}

std::uint32_t hash_tag(std::uint64_t h) { return static_cast<std::uint32_t>(h >> 20); }

void zput16(std::vector<std::uint8_t>& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void zput32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  zput16(b, static_cast<std::uint16_t>(v >> 16));
  zput16(b, static_cast<std::uint16_t>(v));
}
std::uint16_t zget16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t zget32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(zget16(p)) << 16) | zget16(p + 2);
}

}  // namespace

// One hash shard. Node data: u16 RRset count, then per RRset u16 type, u32
// TTL, u16 rdata count and the rdatas, each a Tag byte and its payload (A: 4
// bytes, AAAA: 16, wire: u16 length + bytes, pool: u32 index into `pool`).
struct ZoneSnapshot::Shard {
  struct Entry {
    std::uint32_t hash = 0;      // hash_tag of the owner
    std::uint32_t name_off = 0;  // into `names`: the owner in wire form, original case
    std::uint32_t data_off = kNoData;
    std::uint32_t children = 0;  // live nodes directly below: an empty node with none is removed
  };
  std::vector<Entry> nodes;          // insertion order (AXFR); kDead entries are skipped
  std::vector<std::uint32_t> slots;  // linear probing; node index + 1, 0 = empty
  std::vector<std::uint8_t> names;
  std::vector<std::uint8_t> data;
  std::vector<Rdata> pool;  // rdata without an exact wire round trip (rare; never compacted)
  std::uint32_t live = 0, dead = 0;
  std::size_t garbage = 0;  // bytes of `names` and `data` no live node points to

  bool name_equals(std::uint32_t off, const Name& n) const {
    const std::uint8_t* p = names.data() + off;
    for (const auto& l : n.labels) {
      if (*p != l.size()) return false;
      ++p;
      for (char c : l)
        if (zlower(*p++) != zlower(static_cast<std::uint8_t>(c))) return false;
    }
    return *p == 0;
  }

  Name name_at(std::uint32_t off) const {
    Name n;
    for (const std::uint8_t* p = names.data() + off; *p != 0; p += 1 + *p)
      n.labels.emplace_back(reinterpret_cast<const char*>(p + 1), *p);
    return n;
  }

  std::size_t name_size(std::uint32_t off) const {
    std::size_t at = off;
    while (names[at] != 0) at += 1 + names[at];
    return at + 1 - off;
  }

  // The live node whose hash tag matches and for which `same(entry)` holds.
  template <class Same>
  std::uint32_t probe(std::uint64_t h, Same&& same) const {
    if (slots.empty()) return kNone;
    const std::size_t mask = slots.size() - 1;
    const std::uint32_t tag = hash_tag(h);
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const std::uint32_t s = slots[i];
      if (s == 0) return kNone;
      const Entry& e = nodes[s - 1];
      if (e.hash == tag && e.data_off != kDead && same(e)) return s - 1;
    }
  }

  std::uint32_t lookup(const Name& n, std::uint64_t h) const {
    return probe(h, [&](const Entry& e) { return name_equals(e.name_off, n); });
  }

  // lookup() for a name given in wire form, lower case (the bulk build).
  std::uint32_t lookup_wire(const std::uint8_t* w, std::size_t len, std::uint64_t h) const {
    return probe(h, [&](const Entry& e) {
      if (e.name_off + len > names.size()) return false;
      const std::uint8_t* p = names.data() + e.name_off;
      std::size_t k = 0;
      while (k < len && zlower(p[k]) == w[k]) ++k;
      return k == len;
    });
  }

  // A node with `data` as its encoded RRsets; the caller checked that the
  // name is absent and made room (slots at most half full afterwards).
  void insert_encoded(const std::uint8_t* w, std::size_t len, std::uint64_t h,
                      const std::vector<std::uint8_t>& rrsets) {
    Entry e;
    e.hash = hash_tag(h);
    e.name_off = static_cast<std::uint32_t>(names.size());
    e.data_off = static_cast<std::uint32_t>(data.size());
    names.insert(names.end(), w, w + len);
    data.insert(data.end(), rrsets.begin(), rrsets.end());
    link(e, h);
  }

  // Appends `e` and puts it in the first free slot from its hash.
  std::uint32_t link(const Entry& e, std::uint64_t h) {
    nodes.push_back(e);
    ++live;
    const std::size_t mask = slots.size() - 1;
    std::size_t i = h & mask;
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = static_cast<std::uint32_t>(nodes.size());
    return static_cast<std::uint32_t>(nodes.size() - 1);
  }

  void reindex(std::size_t cap) {
    slots.assign(cap, 0);
    const std::size_t mask = cap - 1;
    for (std::size_t k = 0; k < nodes.size(); ++k) {
      if (nodes[k].data_off == kDead) continue;
      // The full hash is not kept: re-derive the slot from the stored name.
      std::size_t i = wire_hash(names.data() + nodes[k].name_off) & mask;
      while (slots[i] != 0) i = (i + 1) & mask;
      slots[i] = static_cast<std::uint32_t>(k + 1);
    }
  }

  // The end of the encoded RRsets at `off`.
  std::size_t data_end(std::uint32_t off) const {
    const std::uint8_t* p = data.data() + off;
    const std::uint8_t* start = p;
    std::uint16_t sets = zget16(p);
    p += 2;
    for (; sets > 0; --sets) {
      std::uint16_t count = zget16(p + 6);
      p += 8;
      for (; count > 0; --count) {
        const std::uint8_t tag = *p++;
        p += tag == kTagA ? 4 : tag == kTagAaaa ? 16 : tag == kTagPool ? 4 : 2 + zget16(p);
      }
    }
    return off + static_cast<std::size_t>(p - start);
  }

  std::vector<RRset> decode(std::uint32_t off) const {
    std::vector<RRset> out;
    if (off == kNoData || off == kDead) return out;
    const std::uint8_t* p = data.data() + off;
    std::uint16_t sets = zget16(p);
    p += 2;
    out.reserve(sets);
    for (; sets > 0; --sets) {
      RRset& set = out.emplace_back();
      set.type = static_cast<RrType>(zget16(p));
      set.ttl = zget32(p + 2);
      std::uint16_t count = zget16(p + 6);
      p += 8;
      set.rdatas.reserve(count);
      for (; count > 0; --count) {
        const std::uint8_t tag = *p++;
        if (tag == kTagA) {
          ARdata a;
          std::memcpy(a.addr.data(), p, 4);
          set.rdatas.emplace_back(a);
          p += 4;
        } else if (tag == kTagAaaa) {
          AaaaRdata a;
          std::memcpy(a.addr.data(), p, 16);
          set.rdatas.emplace_back(a);
          p += 16;
        } else if (tag == kTagPool) {
          set.rdatas.push_back(pool[zget32(p)]);
          p += 4;
        } else {
          const std::uint16_t len = zget16(p);
          detail::Reader r(std::span<const std::uint8_t>(p + 2, len));
          set.rdatas.push_back(detail::read_rdata(r, set.type, len).value());  // checked at encode
          p += 2 + len;
        }
      }
    }
    return out;
  }

  void encode_rdata(RrType type, const Rdata& rd) {
    if (const auto* a = std::get_if<ARdata>(&rd); a != nullptr && type == RrType::kA) {
      data.push_back(kTagA);
      data.insert(data.end(), a->addr.begin(), a->addr.end());
      return;
    }
    if (const auto* a = std::get_if<AaaaRdata>(&rd); a != nullptr && type == RrType::kAaaa) {
      data.push_back(kTagAaaa);
      data.insert(data.end(), a->addr.begin(), a->addr.end());
      return;
    }
    detail::Writer w;
    detail::write_rdata(w, rd);
    const auto& bytes = w.buffer();
    if (!bytes.empty() && bytes.size() <= 0xFFFF) {
      detail::Reader r(bytes);
      auto back = detail::read_rdata(r, type, static_cast<std::uint16_t>(bytes.size()));
      if (back && back.value() == rd) {
        data.push_back(kTagWire);
        zput16(data, static_cast<std::uint16_t>(bytes.size()));
        data.insert(data.end(), bytes.begin(), bytes.end());
        return;
      }
    }
    data.push_back(kTagPool);
    zput32(data, static_cast<std::uint32_t>(pool.size()));
    pool.push_back(rd);
  }

  void set_rrsets(std::uint32_t idx, const std::vector<RRset>& sets) {
    Entry& e = nodes[idx];
    if (e.data_off != kNoData) garbage += data_end(e.data_off) - e.data_off;
    if (sets.empty()) {
      e.data_off = kNoData;
      return;
    }
    e.data_off = static_cast<std::uint32_t>(data.size());
    zput16(data, static_cast<std::uint16_t>(sets.size()));
    for (const auto& set : sets) {
      zput16(data, static_cast<std::uint16_t>(set.type));
      zput32(data, set.ttl);
      zput16(data, static_cast<std::uint16_t>(set.rdatas.size()));
      for (const auto& rd : set.rdatas) encode_rdata(set.type, rd);
    }
  }

  // Drops removed nodes and unreferenced bytes, keeping the insertion order.
  void compact() {
    std::vector<Entry> kept;
    std::vector<std::uint8_t> nnames, ndata;
    kept.reserve(live);
    for (const Entry& e : nodes) {
      if (e.data_off == kDead) continue;
      Entry k = e;
      k.name_off = static_cast<std::uint32_t>(nnames.size());
      nnames.insert(
          nnames.end(), names.begin() + e.name_off,
          names.begin() + static_cast<std::ptrdiff_t>(e.name_off + name_size(e.name_off)));
      if (e.data_off != kNoData) {
        k.data_off = static_cast<std::uint32_t>(ndata.size());
        ndata.insert(ndata.end(), data.begin() + e.data_off,
                     data.begin() + static_cast<std::ptrdiff_t>(data_end(e.data_off)));
      }
      kept.push_back(k);
    }
    nodes = std::move(kept);
    names = std::move(nnames);
    data = std::move(ndata);
    dead = 0;
    garbage = 0;
    std::size_t cap = 16;
    while (cap < 2 * nodes.size() + 2) cap *= 2;
    reindex(cap);
  }

  // A new node without RRsets; the caller checked that `n` is absent.
  std::uint32_t insert(const Name& n, std::uint64_t h) {
    if (2 * (nodes.size() + 1) > slots.size()) {
      if (dead * 4 > nodes.size()) compact();
      if (2 * (nodes.size() + 1) > slots.size())
        reindex(std::max<std::size_t>(16, slots.size() * 2));
    }
    Entry e;
    e.hash = hash_tag(h);
    e.name_off = static_cast<std::uint32_t>(names.size());
    for (const auto& l : n.labels) {
      names.push_back(static_cast<std::uint8_t>(l.size()));
      names.insert(names.end(), l.begin(), l.end());
    }
    names.push_back(0);
    return link(e, h);
  }

  void remove(std::uint32_t idx) {
    Entry& e = nodes[idx];
    if (e.data_off != kNoData) garbage += data_end(e.data_off) - e.data_off;
    garbage += name_size(e.name_off);
    e.data_off = kDead;
    --live;
    ++dead;
  }

  // After a build or an apply: drop what removals and rewrites left behind
  // and give back the arenas' spare capacity.
  void tidy() {
    if (dead > 0 || garbage > 0) compact();
    nodes.shrink_to_fit();
    names.shrink_to_fit();
    data.shrink_to_fit();
    pool.shrink_to_fit();
  }

  std::size_t bytes() const {
    return sizeof(Shard) + nodes.capacity() * sizeof(Entry) +
           slots.capacity() * sizeof(std::uint32_t) + names.capacity() + data.capacity() +
           pool.capacity() * sizeof(Rdata);
  }
};

ZoneSnapshot::~ZoneSnapshot() = default;

namespace {
std::size_t shard_index(std::uint64_t h) {
  return static_cast<std::size_t>(h >> (64 - kShardBits));
}
}  // namespace

ZoneSnapshot::Shard& ZoneSnapshot::mutable_shard(std::size_t i) {
  if (!writable_[i]) {
    shards_[i] = std::make_shared<Shard>(*shards_[i]);  // copy on first write
    writable_[i] = true;
  }
  return *shards_[i];
}

// Creates `name` (returns its index in shard *shard) and every missing empty
// non-terminal up to the apex. Parents first: inserting may compact a shard,
// which renumbers its nodes.
std::uint32_t ZoneSnapshot::create_node(const Name& name, std::size_t* shard) {
  const std::uint64_t h = name_hash(name);
  *shard = shard_index(h);
  if (std::uint32_t idx = shards_[*shard]->lookup(name, h); idx != kNone) return idx;
  if (!(name == origin_)) {
    std::size_t ps = 0;
    const std::uint32_t p = create_node(name.parent(), &ps);
    ++mutable_shard(ps).nodes[p].children;
  }
  return mutable_shard(*shard).insert(name, h);
}

// Removes an empty, childless node and then any ancestor left the same way.
void ZoneSnapshot::prune(const Name& name) {
  for (Name n = name; !(n == origin_); n = n.parent()) {
    const std::uint64_t h = name_hash(n);
    const std::size_t si = shard_index(h);
    const std::uint32_t idx = shards_[si]->lookup(n, h);
    if (idx == kNone) return;
    const Shard::Entry& e = shards_[si]->nodes[idx];
    if (e.data_off != kNoData || e.children > 0) return;
    mutable_shard(si).remove(idx);
    const Name parent = n.parent();
    const std::uint64_t ph = name_hash(parent);
    const std::size_t ps = shard_index(ph);
    const std::uint32_t pidx = shards_[ps]->lookup(parent, ph);
    if (pidx != kNone && shards_[ps]->nodes[pidx].children > 0)
      --mutable_shard(ps).nodes[pidx].children;
  }
}

Status ZoneSnapshot::add(const Name& owner, RrType type, std::uint32_t ttl, Rdata rd) {
  if (!owner.is_subdomain_of(origin_)) return invalid(owner.to_text() + " is outside the zone");
  const RrType rt = detail::rdata_type(rd);
  if (rt != type && !(rt == RrType::kAny && std::holds_alternative<OpaqueRdata>(rd)))
    return invalid("rdata does not match type " + type_name(type) + " at " + owner.to_text());
  if (is_meta(type)) return invalid("meta type " + type_name(type) + " in zone data");
  if (type == RrType::kCname && owner == origin_) return invalid("CNAME at the zone apex");
  std::size_t si = 0;
  const std::uint32_t idx = create_node(owner, &si);
  Shard& shard = mutable_shard(si);
  std::vector<RRset> rrsets = shard.decode(shard.nodes[idx].data_off);
  const bool has_cname = std::any_of(rrsets.begin(), rrsets.end(),
                                     [](const RRset& s) { return s.type == RrType::kCname; });
  if ((type == RrType::kCname && !rrsets.empty() && !has_cname) ||
      (type != RrType::kCname && has_cname))
    return invalid("CNAME and other data at " + owner.to_text());
  auto set =
      std::find_if(rrsets.begin(), rrsets.end(), [&](const RRset& s) { return s.type == type; });
  if (set == rrsets.end()) {
    rrsets.push_back(RRset{type, ttl, {}});
    set = rrsets.end() - 1;
  }
  if (type == RrType::kCname && !set->rdatas.empty() && !(set->rdatas.front() == rd))
    return invalid("two CNAMEs at " + owner.to_text());
  const std::uint32_t old_ttl = set->ttl;
  set->ttl = std::min(set->ttl, ttl);  // RFC 2181 §5.2: one TTL per RRset
  const bool fresh = std::find(set->rdatas.begin(), set->rdatas.end(), rd) == set->rdatas.end();
  if (fresh) set->rdatas.push_back(std::move(rd));
  if (fresh || set->ttl != old_ttl) shard.set_rrsets(idx, rrsets);
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
  const std::uint64_t h = name_hash(owner);
  const std::size_t si = shard_index(h);
  const std::uint32_t idx = shards_[si]->lookup(owner, h);
  if (idx == kNone) return ok();  // removing what is not there is a no-op (idempotent)
  std::vector<RRset> rrsets = shards_[si]->decode(shards_[si]->nodes[idx].data_off);
  const auto removed = std::erase_if(rrsets, [&](const RRset& s) {
    return c.kind == ZoneChange::Kind::kRemoveName || s.type == c.record.type;
  });
  if (removed > 0) mutable_shard(si).set_rrsets(idx, rrsets);
  prune(owner);
  return ok();
}

Result<std::shared_ptr<const ZoneSnapshot>> ZoneSnapshot::build(const ZoneSpec& spec) {
  return build(spec, LabelSets{});
}

Result<std::shared_ptr<const ZoneSnapshot>> ZoneSnapshot::build(const ZoneSpec& spec,
                                                                const LabelSets& names) {
  auto z = std::shared_ptr<ZoneSnapshot>(new ZoneSnapshot());
  BOOST_OUTCOME_TRY(origin, Name::from_text(spec.origin));
  BOOST_OUTCOME_TRY(mname, Name::from_text(spec.mname));
  BOOST_OUTCOME_TRY(rname, Name::from_text(spec.rname));
  z->origin_ = origin;
  z->soa_ =
      SoaRdata{mname, rname, spec.serial, spec.refresh, spec.retry, spec.expire, spec.minimum};
  z->soa_ttl_ = spec.ttl;
  z->shards_.reserve(kShards);
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
  BOOST_OUTCOME_TRY(z->add_bulk(names));
  for (const auto& r : spec.records) {
    BOOST_OUTCOME_TRY(owner, Name::from_text(r.name));
    if (r.type == RrType::kSoa) return invalid("SOA comes from the zone fields");
    BOOST_OUTCOME_TRY(z->add(owner, r.type, r.ttl, r.rdata));
  }
  for (auto& s : z->shards_) s->tidy();
  z->writable_.assign(kShards, false);
  return std::shared_ptr<const ZoneSnapshot>(std::move(z));
}

std::uint32_t LabelSets::add_group(std::vector<RRset> rrsets) {
  groups_.push_back(std::move(rrsets));
  return static_cast<std::uint32_t>(groups_.size() - 1);
}

void LabelSets::add(std::string_view label, std::uint32_t group) {
  items_.push_back(Item{static_cast<std::uint32_t>(labels_.size()),
                        static_cast<std::uint32_t>(label.size()), group});
  labels_.append(label);
}

void LabelSets::reserve(std::size_t names, std::size_t label_bytes) {
  items_.reserve(names);
  labels_.reserve(label_bytes);
}

// Each group's RRsets checked as add() checks them and encoded once; then
// every plain label hashed, counted per shard and written shard by shard into
// arenas sized once (no rehash, no per-name allocation, the shard's arrays
// in cache while it is filled). Anything else takes add().
Status ZoneSnapshot::add_bulk(const LabelSets& in) {
  if (in.items_.empty()) return ok();
  std::vector<std::vector<std::uint8_t>> enc(in.groups_.size());
  std::vector<char> fast(in.groups_.size(), 0);
  for (std::size_t g = 0; g < in.groups_.size(); ++g) {
    const auto& sets = in.groups_[g];
    for (std::size_t i = 0; i < sets.size(); ++i) {
      const RRset& set = sets[i];
      if (is_meta(set.type) || set.type == RrType::kSoa)
        return invalid("type " + type_name(set.type) + " in a name group");
      if (set.rdatas.empty()) return invalid("an empty RRset in a name group");
      if (set.type == RrType::kCname && (sets.size() > 1 || set.rdatas.size() > 1))
        return invalid("CNAME and other data in a name group");
      for (std::size_t j = 0; j < set.rdatas.size(); ++j) {
        if (detail::rdata_type(set.rdatas[j]) != set.type)
          return invalid("rdata does not match type " + type_name(set.type) + " in a name group");
        for (std::size_t k = 0; k < j; ++k)
          if (set.rdatas[k] == set.rdatas[j]) return invalid("a repeated rdata in a name group");
      }
      for (std::size_t k = 0; k < i; ++k)
        if (sets[k].type == set.type) return invalid("a repeated type in a name group");
    }
    Shard scratch;
    scratch.nodes.emplace_back();
    scratch.set_rrsets(0, sets);
    fast[g] = scratch.pool.empty() && !sets.empty() ? 1 : 0;
    enc[g] = std::move(scratch.data);
  }
  std::vector<std::uint8_t> origin_wire;
  for (const auto& l : origin_.labels) {
    origin_wire.push_back(static_cast<std::uint8_t>(l.size()));
    origin_wire.insert(origin_wire.end(), l.begin(), l.end());
  }
  origin_wire.push_back(0);
  const auto plain = [&](std::string_view l) {
    return !l.empty() && l.size() <= 63 && 1 + l.size() + origin_wire.size() <= 255 &&
           l.find_first_of(".\\") == std::string_view::npos;
  };
  // Three sequential passes, so that no step waits on a cache miss (1M
  // names, ~30 MB of input): hash and count per shard; scatter each name's
  // hash, group and lower-cased wire label into its shard's bucket (2,048
  // write streams, each sequential); fill each shard from its bucket.
  const std::size_t n = in.items_.size();
  std::vector<std::uint64_t> hashes(n);
  std::vector<std::uint32_t> starts(kShards + 1, 0);
  std::vector<std::size_t> byte_starts(kShards + 1, 0);
  std::vector<std::uint32_t> slow;  // items for add()
  for (std::size_t i = 0; i < n; ++i) {
    const auto& it = in.items_[i];
    const std::string_view label(in.labels_.data() + it.off, it.len);
    if (!plain(label) || fast[it.group] == 0) {
      slow.push_back(static_cast<std::uint32_t>(i));
      continue;
    }
    Hasher x;
    x.mix(static_cast<std::uint8_t>(label.size()));
    for (char c : label) x.mix(zlower(static_cast<std::uint8_t>(c)));
    for (std::size_t k = 0; k + 1 < origin_wire.size(); ++k) x.mix(zlower(origin_wire[k]));
    hashes[i] = x.done();
    const std::size_t si = shard_index(hashes[i]);
    ++starts[si + 1];
    byte_starts[si + 1] += 1 + label.size();
  }
  for (std::size_t si = 0; si < kShards; ++si) {
    starts[si + 1] += starts[si];
    byte_starts[si + 1] += byte_starts[si];
  }
  struct Placed {
    std::uint64_t hash;
    std::uint32_t label_at;  // into `labels`: length byte + lower-cased label
    std::uint32_t group;
  };
  std::vector<Placed> placed(starts[kShards]);
  std::vector<std::uint8_t> labels(byte_starts[kShards]);
  {
    std::vector<std::uint32_t> at(starts.begin(), starts.end() - 1);
    std::vector<std::size_t> byte_at(byte_starts.begin(), byte_starts.end() - 1);
    std::size_t next_slow = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (next_slow < slow.size() && slow[next_slow] == i) {
        ++next_slow;
        continue;
      }
      const auto& it = in.items_[i];
      const std::size_t si = shard_index(hashes[i]);
      std::size_t& b = byte_at[si];
      placed[at[si]++] = Placed{hashes[i], static_cast<std::uint32_t>(b), it.group};
      labels[b++] = static_cast<std::uint8_t>(it.len);
      for (std::uint32_t c = 0; c < it.len; ++c)
        labels[b++] = zlower(static_cast<std::uint8_t>(in.labels_[it.off + c]));
    }
  }
  std::vector<std::uint8_t> origin_lower(origin_wire);
  for (auto& c : origin_lower) c = zlower(c);
  std::vector<std::pair<std::string, std::uint32_t>> repeated;  // merged by add()
  std::uint32_t under_apex = 0;
  std::vector<std::uint8_t> w;
  for (std::size_t si = 0; si < kShards; ++si) {
    const std::uint32_t b = starts[si], e = starts[si + 1];
    if (b == e) continue;
    Shard& sh = mutable_shard(si);
    std::size_t data_bytes = 0;
    for (std::uint32_t k = b; k < e; ++k) data_bytes += enc[placed[k].group].size();
    sh.nodes.reserve(sh.nodes.size() + (e - b));
    sh.names.reserve(sh.names.size() + (byte_starts[si + 1] - byte_starts[si]) +
                     (e - b) * origin_wire.size());
    sh.data.reserve(sh.data.size() + data_bytes);
    std::size_t cap = std::max<std::size_t>(16, sh.slots.size());
    while (cap < 2 * (sh.nodes.size() + (e - b)) + 2) cap *= 2;
    if (cap != sh.slots.size()) sh.reindex(cap);
    for (std::uint32_t k = b; k < e; ++k) {
      const Placed& p = placed[k];
      const std::uint8_t* label = labels.data() + p.label_at;
      w.assign(label, label + 1 + *label);
      w.insert(w.end(), origin_lower.begin(), origin_lower.end());
      if (sh.lookup_wire(w.data(), w.size(), p.hash) != kNone) {
        repeated.emplace_back(std::string(reinterpret_cast<const char*>(label + 1), *label),
                              p.group);
        continue;
      }
      // Stored lower case below the origin as the zone spells it (what
      // add() stores for a record built from a lower-cased key).
      w.resize(1 + *label);
      w.insert(w.end(), origin_wire.begin(), origin_wire.end());
      sh.insert_encoded(w.data(), w.size(), p.hash, enc[p.group]);
      ++under_apex;
    }
  }
  if (under_apex > 0) {
    const std::uint64_t h = name_hash(origin_);
    const std::size_t si = shard_index(h);
    const std::uint32_t apex = shards_[si]->lookup(origin_, h);
    if (apex == kNone) return invalid("the apex is missing");
    mutable_shard(si).nodes[apex].children += under_apex;
  }
  for (const std::uint32_t i : slow)
    repeated.emplace_back(std::string(in.labels_.data() + in.items_[i].off, in.items_[i].len),
                          in.items_[i].group);
  for (auto& [text, group] : repeated) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](char c) { return static_cast<char>(zlower(static_cast<std::uint8_t>(c))); });
    BOOST_OUTCOME_TRY(owner, Name::from_text(text + "." + origin_.to_text()));
    for (const auto& set : in.groups_[group])
      for (const auto& rd : set.rdatas) {
        BOOST_OUTCOME_TRY(add(owner, set.type, set.ttl, rd));
      }
  }
  return ok();
}

Result<std::shared_ptr<const ZoneSnapshot>> ZoneSnapshot::apply(
    const ZoneSnapshot& base, std::uint32_t serial, const std::vector<ZoneChange>& changes) {
  auto z = std::shared_ptr<ZoneSnapshot>(new ZoneSnapshot(base));  // shares every shard
  z->writable_.assign(kShards, false);
  z->soa_.serial = serial;
  {
    const std::uint64_t h = name_hash(z->origin_);
    const std::size_t si = shard_index(h);
    const std::uint32_t apex = z->shards_[si]->lookup(z->origin_, h);
    Shard& shard = z->mutable_shard(si);
    std::vector<RRset> rrsets = shard.decode(shard.nodes[apex].data_off);
    for (auto& set : rrsets)
      if (set.type == RrType::kSoa) set.rdatas = {Rdata{z->soa_}};
    shard.set_rrsets(apex, rrsets);
  }
  for (const auto& c : changes) {
    BOOST_OUTCOME_TRY(z->change(c));
  }
  for (std::size_t i = 0; i < kShards; ++i)
    if (z->writable_[i]) z->shards_[i]->tidy();
  z->writable_.assign(kShards, false);
  return std::shared_ptr<const ZoneSnapshot>(std::move(z));
}

std::optional<std::vector<RRset>> ZoneSnapshot::find(const Name& name) const {
  const std::uint64_t h = name_hash(name);
  const Shard& shard = *shards_[shard_index(h)];
  const std::uint32_t idx = shard.lookup(name, h);
  if (idx == kNone) return std::nullopt;
  return shard.decode(shard.nodes[idx].data_off);
}

bool ZoneSnapshot::contains(const Name& name) const {
  const std::uint64_t h = name_hash(name);
  return shards_[shard_index(h)]->lookup(name, h) != kNone;
}

std::size_t ZoneSnapshot::node_count() const {
  std::size_t n = 0;
  for (const auto& s : shards_) n += s->live;
  return n;
}

std::size_t ZoneSnapshot::memory_bytes() const {
  std::size_t n = sizeof(ZoneSnapshot) + shards_.capacity() * sizeof(shards_[0]);
  for (const auto& s : shards_) n += s->bytes();
  return n;
}

namespace {

// RRsets equal as sets: same types, TTLs and rdatas, in any order.
bool same_rrsets(const std::vector<RRset>& x, const std::vector<RRset>& y) {
  if (x.size() != y.size()) return false;
  for (const auto& s : x) {
    auto t = std::find_if(y.begin(), y.end(), [&](const RRset& o) { return o.type == s.type; });
    if (t == y.end() || t->ttl != s.ttl || t->rdatas.size() != s.rdatas.size()) return false;
    for (const auto& rd : s.rdatas)
      if (std::find(t->rdatas.begin(), t->rdatas.end(), rd) == t->rdatas.end()) return false;
  }
  return true;
}

}  // namespace

// Shard by shard (a name hashes to the same shard in both): every node with
// data here is found there with the same RRsets, and both have as many. The
// encoded bytes decide when they are equal and no pool rdata is involved.
bool ZoneSnapshot::same_data(const ZoneSnapshot& other) const {
  if (!(origin_ == other.origin_)) return false;
  std::vector<std::uint8_t> apex;  // lower case, wire form
  for (const auto& l : origin_.labels) {
    apex.push_back(static_cast<std::uint8_t>(l.size()));
    for (char c : l) apex.push_back(zlower(static_cast<std::uint8_t>(c)));
  }
  apex.push_back(0);
  const auto is_apex = [&](const Shard& sh, std::uint32_t off) {
    if (sh.name_size(off) != apex.size()) return false;
    for (std::size_t k = 0; k < apex.size(); ++k)
      if (zlower(sh.names[off + k]) != apex[k]) return false;
    return true;
  };
  std::vector<std::uint8_t> w;
  for (std::size_t i = 0; i < kShards; ++i) {
    const Shard& a = *shards_[i];
    const Shard& b = *other.shards_[i];
    if (&a == &b) continue;  // shared copy-on-write: the same nodes
    std::size_t here = 0, there = 0;
    for (const auto& e : a.nodes) {
      if (e.data_off == kDead || e.data_off == kNoData) continue;
      const std::uint8_t* n = a.names.data() + e.name_off;
      w.assign(n, n + a.name_size(e.name_off));
      for (auto& c : w) c = zlower(c);
      if (w == apex) continue;
      ++here;
      const std::uint32_t j = b.lookup_wire(w.data(), w.size(), wire_hash(w.data()));
      if (j == kNone || b.nodes[j].data_off == kNoData) return false;
      const std::uint32_t f = b.nodes[j].data_off;
      const std::size_t la = a.data_end(e.data_off) - e.data_off, lb = b.data_end(f) - f;
      if (la == lb && a.pool.empty() && b.pool.empty() &&
          std::memcmp(a.data.data() + e.data_off, b.data.data() + f, la) == 0)
        continue;
      if (!same_rrsets(a.decode(e.data_off), b.decode(f))) return false;
    }
    for (const auto& e : b.nodes)
      if (e.data_off != kDead && e.data_off != kNoData && !is_apex(b, e.name_off)) ++there;
    if (here != there) return false;
  }
  return true;
}

Record ZoneSnapshot::soa_record() const {
  return Record{origin_, RrType::kSoa, kClassIn, soa_ttl_, Rdata{soa_}};
}

std::vector<Record> ZoneSnapshot::all_records() const {
  std::vector<Record> out;
  out.push_back(soa_record());
  for (const auto& shard : shards_) {
    for (const auto& e : shard->nodes) {
      if (e.data_off == kDead || e.data_off == kNoData) continue;
      const Name owner = shard->name_at(e.name_off);
      for (const auto& set : shard->decode(e.data_off)) {
        if (set.type == RrType::kSoa) continue;
        for (const auto& rd : set.rdatas)
          out.push_back(Record{owner, set.type, kClassIn, set.ttl, rd});
      }
    }
  }
  return out;
}

}  // namespace fc::dns

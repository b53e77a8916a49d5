// Pure query handling for the authoritative server (no sockets, no clock).
#include "dns/detail/responder.hpp"

#include <algorithm>

#include "dns/detail/message.hpp"
#include "dns/detail/wire.hpp"

namespace fc::dns::detail {
namespace {

constexpr int kMaxCnameHops = 16;
constexpr std::size_t kTsigReserve = 300;  // key + algorithm names, 64-byte MAC, fixed fields
constexpr std::size_t kTcpLimit = 65535;

void add_negative_soa(const ZoneSnapshot& zone, Message& resp) {
  Record soa = zone.soa_record();
  soa.ttl = zone.negative_ttl();  // RFC 2308 §5
  resp.authority.push_back(std::move(soa));
}

void push_rrset(const Name& owner, const RRset& set, std::vector<Record>& out) {
  for (const auto& rd : set.rdatas) out.push_back(Record{owner, set.type, kClassIn, set.ttl, rd});
}

const RRset* find_set(const std::vector<RRset>& node, RrType t) {
  auto it = std::find_if(node.begin(), node.end(), [t](const RRset& s) { return s.type == t; });
  return it == node.end() ? nullptr : &*it;
}

void add_glue(const ZoneSnapshot& zone, const RRset& ns, Message& resp) {
  for (const auto& rd : ns.rdatas) {
    const Name& host = std::get<NsRdata>(rd).host;
    if (!host.is_subdomain_of(zone.origin())) continue;
    const auto node = zone.find(host);
    if (!node) continue;
    for (RrType t : {RrType::kA, RrType::kAaaa})
      if (const RRset* s = find_set(*node, t)) push_rrset(host, *s, resp.additional);
  }
}

Message response_base(const Message& q, std::uint16_t max_udp) {
  Message r;
  r.header.id = q.header.id;
  r.header.qr = true;
  r.header.opcode = q.header.opcode;
  r.header.rd = q.header.rd;  // copied back; RA stays clear: we never recurse
  r.header.cd = q.header.cd;
  if (!q.questions.empty()) r.questions.push_back(q.questions.front());
  if (q.edns) r.edns = Edns{max_udp, 0, 0, q.edns->dnssec_ok, {}};
  return r;
}

Reply single(std::vector<std::uint8_t> wire, bool truncated = false) {
  Reply r;
  r.wires.push_back(std::move(wire));
  r.truncated = truncated;
  return r;
}

Reply error_reply(const Message& q, Rcode rc, std::uint16_t max_udp) {
  Message r = response_base(q, max_udp);
  r.set_rcode(rc);
  return single(serialize(r));
}

// FORMERR for a message we could not parse: echo only what the header gives.
Reply formerr_from_header(std::span<const std::uint8_t> wire) {
  Message r;
  r.header.id = static_cast<std::uint16_t>((wire[0] << 8) | wire[1]);
  r.header.qr = true;
  r.header.opcode = static_cast<Opcode>((wire[2] >> 3) & 0xF);
  r.header.rd = wire[2] & 0x01;
  r.header.rcode = static_cast<std::uint8_t>(Rcode::kFormErr);
  return single(serialize(r));
}

struct Signer {
  const TsigKey* key = nullptr;
  std::vector<std::uint8_t> prior;
  std::uint64_t now = 0;
  bool first = true;
  std::uint16_t error = 0;  // BADTIME answers are signed too (RFC 8945 §5.2.3)
  // RFC 8945 §5.3 (responses) and §5.3.1 (timers only after the first message).
  std::vector<std::uint8_t> sign(std::vector<std::uint8_t> wire) {
    if (key == nullptr) return wire;
    TsigSignOptions o{now, 300, prior, !first, error};
    auto s = tsig_sign(wire, *key, o);
    if (!s) return wire;  // unknown algorithm was rejected when the key was loaded
    prior = s.value().mac;
    first = false;
    return std::move(s.value().wire);
  }
};

const TsigKey* key_named(std::span<const TsigKey> keys, const std::string& name) {
  auto want = Name::from_text(name);
  for (const auto& k : keys) {
    auto n = Name::from_text(k.name);
    if (want && n && want.value() == n.value()) return &k;
  }
  return nullptr;
}

Reply tsig_failure(const Message& q, const TsigVerified& v, std::uint64_t now,
                   std::uint16_t max_udp) {
  Message r = response_base(q, max_udp);
  r.set_rcode(Rcode::kNotAuth);
  TsigRdata t = std::get<TsigRdata>(q.tsig->rdata);
  t.mac.clear();  // RFC 8945 §5.3.2: BADKEY/BADSIG answers are unsigned
  t.time_signed = now;
  t.error = v.error;
  t.other.clear();
  r.tsig = Record{q.tsig->name, RrType::kTsig, kClassAny, 0, Rdata{std::move(t)}};
  return single(serialize(r));
}

Reply transfer(const ZoneSnapshot& zone, const Message& q, Signer& signer,
               const QueryContext& ctx) {
  Reply out;
  out.transfer = true;
  for (auto& m : build_transfer(zone, q, ctx.max_transfer_message - kTsigReserve))
    out.wires.push_back(signer.sign(serialize(m)));
  return out;
}

// RFC 1995 §2: a client already at our serial (or newer) gets one SOA.
// Serial arithmetic per RFC 1982.
bool ixfr_up_to_date(const ZoneSnapshot& zone, const Message& q) {
  for (const auto& rec : q.authority) {
    const auto* soa = std::get_if<SoaRdata>(&rec.rdata);
    if (soa == nullptr) continue;
    const auto diff = static_cast<std::int32_t>(soa->serial - zone.serial());
    return diff >= 0;
  }
  return false;
}

// RFC 4592 §3.3.1: the wildcard that covers a name absent from the zone is
// `*.` + its closest encloser (the longest existing ancestor, empty
// non-terminals included); none there means NXDOMAIN.
std::optional<std::vector<RRset>> find_wildcard(const ZoneSnapshot& zone, const Name& name) {
  for (Name n = name.parent(); n.is_subdomain_of(zone.origin()); n = n.parent()) {
    if (!zone.contains(n)) continue;
    return zone.find(n.prepend("*"));
  }
  return std::nullopt;
}

}  // namespace

void answer_question(const ZoneSnapshot& zone, const Question& q, Message& resp) {
  resp.header.aa = true;
  Name name = q.name;
  for (int hop = 0; hop < kMaxCnameHops; ++hop) {
    auto node = zone.find(name);
    if (!node) node = find_wildcard(zone, name);  // owner stays `name` (synthesis)
    if (!node) {
      resp.set_rcode(Rcode::kNxDomain);  // RFC 6604: the rcode of the last name
      return add_negative_soa(zone, resp);
    }
    if (q.type == RrType::kAny) {  // RFC 8482 §4.1: one RRset is enough
      if (node->empty()) return add_negative_soa(zone, resp);
      return push_rrset(name, node->front(), resp.answers);
    }
    if (const RRset* set = find_set(*node, q.type)) {
      push_rrset(name, *set, resp.answers);
      if (q.type == RrType::kNs) add_glue(zone, *set, resp);
      return;
    }
    const RRset* cname = find_set(*node, RrType::kCname);
    if (cname == nullptr) return add_negative_soa(zone, resp);  // NODATA
    push_rrset(name, *cname, resp.answers);
    name = std::get<CnameRdata>(cname->rdatas.front()).target;
    if (!name.is_subdomain_of(zone.origin())) return;  // RFC 1034 §4.3.2 step 3a: stop outside
  }
}

std::vector<std::uint8_t> encode_within(Message resp, std::size_t limit, bool* truncated) {
  *truncated = false;
  auto wire = serialize(resp);
  if (wire.size() <= limit) return wire;
  resp.additional.clear();
  wire = serialize(resp);
  if (wire.size() <= limit) return wire;
  resp.answers.clear();
  resp.authority.clear();
  resp.header.tc = true;
  *truncated = true;
  return serialize(resp);
}

std::vector<Message> build_transfer(const ZoneSnapshot& zone, const Message& query,
                                    std::size_t max_bytes) {
  std::vector<Record> records = zone.all_records();
  records.push_back(zone.soa_record());  // RFC 5936 §2.2: SOA first and last
  std::vector<Message> out;
  Message cur = response_base(query, 0);
  cur.edns.reset();
  cur.header.aa = true;
  std::size_t used = kHeaderSize + query.questions.front().name.wire_length() + 4;
  for (auto& rec : records) {
    Writer w;  // size of this record compressed only against itself: an upper bound
    w.name(rec.name, false);
    w.u32(0);
    w.u32(0);
    w.u16(0);
    write_rdata(w, rec.rdata);
    if (!cur.answers.empty() && used + w.size() > max_bytes) {
      out.push_back(std::move(cur));
      cur = response_base(query, 0);
      cur.edns.reset();
      cur.header.aa = true;
      cur.questions.clear();  // RFC 5936 §2.2.1: the question may be omitted after the first
      used = kHeaderSize;
    }
    used += w.size();
    cur.answers.push_back(std::move(rec));
  }
  out.push_back(std::move(cur));
  return out;
}

namespace {

Reply refused(const Message& q, Signer& signer, std::uint16_t max_udp) {
  Message r = response_base(q, max_udp);
  r.set_rcode(Rcode::kRefused);
  return single(signer.sign(serialize(r)));
}

// AXFR/IXFR: allowed by address or by a valid TSIG; only over TCP (RFC 5936 §4.2).
Reply transfer_reply(const ZoneSnapshot& zone, const Message& q, Signer& signer,
                     const QueryContext& ctx) {
  const Question& question = q.questions.front();
  const bool allowed = ctx.acl_allows_transfer || signer.key != nullptr;
  if (!allowed || ctx.transport == Transport::kUdp || !(question.name == zone.origin()))
    return refused(q, signer, ctx.max_udp);
  if (question.type == RrType::kIxfr && ixfr_up_to_date(zone, q)) {
    Message r = response_base(q, ctx.max_udp);
    r.header.aa = true;
    r.edns.reset();
    r.answers.push_back(zone.soa_record());
    return single(signer.sign(serialize(r)));
  }
  return transfer(zone, q, signer, ctx);  // IXFR gets a full AXFR-style answer (RFC 1995 §4)
}

Reply answer_reply(const ZoneSnapshot& zone, const Message& q, Signer& signer,
                   const QueryContext& ctx) {
  Message resp = response_base(q, ctx.max_udp);
  answer_question(zone, q.questions.front(), resp);
  std::size_t limit = kTcpLimit;
  if (ctx.transport == Transport::kUdp)  // RFC 6891 §6.2.5: 512 without OPT, never over our ceiling
    limit = q.edns ? std::clamp<std::size_t>(q.edns->udp_size, 512, ctx.max_udp) : 512;
  if (signer.key != nullptr) limit -= std::min(limit - kHeaderSize, kTsigReserve);
  bool tc = false;
  auto out = encode_within(std::move(resp), limit, &tc);
  return single(signer.sign(std::move(out)), tc);
}

}  // namespace

Reply handle_query(const ZoneSnapshot& zone, std::span<const std::uint8_t> wire,
                   const QueryContext& ctx) {
  if (wire.size() < kHeaderSize) return {};  // STYLE.md: shorter than a header → drop
  if (wire[2] & 0x80) return {};             // a response: never answer it (no loops)
  auto parsed = parse_detailed(wire);
  if (!parsed) return formerr_from_header(wire);
  const Message& q = parsed.value().message;
  const std::uint16_t max_udp = ctx.max_udp;
  if (q.header.opcode != Opcode::kQuery) return error_reply(q, Rcode::kNotImp, max_udp);
  if (q.edns && q.edns->version > 0)
    return error_reply(q, static_cast<Rcode>(16), max_udp);  // BADVERS
  if (q.questions.size() != 1) return error_reply(q, Rcode::kFormErr, max_udp);
  Signer signer;
  signer.now = ctx.now;
  if (q.tsig) {  // RFC 8945 §5.2
    auto v = tsig_verify(wire, ctx.keys, TsigSignOptions{ctx.now, 300, {}, false, 0});
    if (!v) return error_reply(q, Rcode::kFormErr, max_udp);
    const bool bad_time = v.value().error == static_cast<std::uint16_t>(Rcode::kBadTime);
    if (v.value().error != 0 && !bad_time) return tsig_failure(q, v.value(), ctx.now, max_udp);
    signer.key = key_named(ctx.keys, v.value().key_name);
    signer.prior = v.value().mac;
    if (bad_time) {
      signer.error = v.value().error;
      Message r = response_base(q, max_udp);
      r.set_rcode(Rcode::kNotAuth);
      return single(signer.sign(serialize(r)));
    }
  }
  const Question& question = q.questions.front();
  if (question.klass != kClassIn || !question.name.is_subdomain_of(zone.origin()))
    return refused(q, signer, max_udp);
  if (question.type == RrType::kAxfr || question.type == RrType::kIxfr)
    return transfer_reply(zone, q, signer, ctx);
  return answer_reply(zone, q, signer, ctx);
}

}  // namespace fc::dns::detail

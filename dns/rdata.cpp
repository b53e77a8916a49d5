// Rdata wire forms (RFC 1035 §3.3, RFC 3596, RFC 8659 CAA, RFC 8945 TSIG).
#include <type_traits>

#include "dns/detail/wire.hpp"

namespace fc::dns::detail {
namespace {

Result<Rdata> read_soa(Reader& r) {
  SoaRdata s;
  BOOST_OUTCOME_TRY(m, r.name());
  BOOST_OUTCOME_TRY(rn, r.name());
  s.mname = std::move(m);
  s.rname = std::move(rn);
  BOOST_OUTCOME_TRY(serial, r.u32());
  BOOST_OUTCOME_TRY(refresh, r.u32());
  BOOST_OUTCOME_TRY(retry, r.u32());
  BOOST_OUTCOME_TRY(expire, r.u32());
  BOOST_OUTCOME_TRY(minimum, r.u32());
  s.serial = serial;
  s.refresh = refresh;
  s.retry = retry;
  s.expire = expire;
  s.minimum = minimum;
  return Rdata{std::move(s)};
}

Result<Rdata> read_txt(Reader& r, std::size_t end) {
  TxtRdata t;
  while (r.pos() < end) {
    BOOST_OUTCOME_TRY(s, r.char_string());
    t.strings.push_back(std::move(s));
  }
  if (t.strings.empty()) return parse_error("empty TXT rdata");
  return Rdata{std::move(t)};
}

Result<Rdata> read_caa(Reader& r, std::size_t end) {
  CaaRdata c;
  BOOST_OUTCOME_TRY(flags, r.u8());
  BOOST_OUTCOME_TRY(tag, r.char_string());
  if (tag.empty() || r.pos() > end) return parse_error("bad CAA tag");
  BOOST_OUTCOME_TRY(value, r.bytes(end - r.pos()));
  c.flags = flags;
  c.tag = std::move(tag);
  c.value.assign(value.begin(), value.end());
  return Rdata{std::move(c)};
}

Result<Rdata> read_hinfo(Reader& r) {
  HinfoRdata h;
  BOOST_OUTCOME_TRY(cpu, r.char_string());
  BOOST_OUTCOME_TRY(os, r.char_string());
  h.cpu = std::move(cpu);
  h.os = std::move(os);
  return Rdata{std::move(h)};
}

Result<Rdata> read_tsig(Reader& r) {
  TsigRdata t;
  BOOST_OUTCOME_TRY(alg, r.name());
  t.algorithm = std::move(alg);
  BOOST_OUTCOME_TRY(time, r.u48());
  BOOST_OUTCOME_TRY(fudge, r.u16());
  BOOST_OUTCOME_TRY(mac_len, r.u16());
  BOOST_OUTCOME_TRY(mac, r.bytes(mac_len));
  BOOST_OUTCOME_TRY(orig, r.u16());
  BOOST_OUTCOME_TRY(err, r.u16());
  BOOST_OUTCOME_TRY(other_len, r.u16());
  BOOST_OUTCOME_TRY(other, r.bytes(other_len));
  t.time_signed = time;
  t.fudge = fudge;
  t.mac = std::move(mac);
  t.original_id = orig;
  t.error = err;
  t.other = std::move(other);
  return Rdata{std::move(t)};
}

Result<Rdata> read_known(Reader& r, RrType type, std::size_t end) {
  switch (type) {
    case RrType::kA: {
      BOOST_OUTCOME_TRY(b, r.bytes(4));
      ARdata a;
      std::copy(b.begin(), b.end(), a.addr.begin());
      return Rdata{a};
    }
    case RrType::kAaaa: {
      BOOST_OUTCOME_TRY(b, r.bytes(16));
      AaaaRdata a;
      std::copy(b.begin(), b.end(), a.addr.begin());
      return Rdata{a};
    }
    case RrType::kNs: {
      BOOST_OUTCOME_TRY(n, r.name());
      return Rdata{NsRdata{std::move(n)}};
    }
    case RrType::kCname: {
      BOOST_OUTCOME_TRY(n, r.name());
      return Rdata{CnameRdata{std::move(n)}};
    }
    case RrType::kSoa: return read_soa(r);
    case RrType::kTxt: return read_txt(r, end);
    case RrType::kCaa: return read_caa(r, end);
    case RrType::kHinfo: return read_hinfo(r);
    case RrType::kTsig: return read_tsig(r);
    default: break;
  }
  BOOST_OUTCOME_TRY(b, r.bytes(end - r.pos()));
  return Rdata{OpaqueRdata{std::move(b)}};
}

}  // namespace

Result<Rdata> read_rdata(Reader& r, RrType type, std::uint16_t rdlen) {
  if (r.left() < rdlen) return parse_error("rdata longer than message");
  const std::size_t end = r.pos() + rdlen;
  // An empty rdata is only legal as an RFC 2136 delete or for opaque types.
  if (rdlen == 0) return Rdata{OpaqueRdata{}};
  // Names inside rdata may point anywhere before them, but must not run past end.
  Reader bounded(r.whole().first(end), r.pos());
  BOOST_OUTCOME_TRY(rd, read_known(bounded, type, end));
  if (bounded.pos() != end) return parse_error("rdata length mismatch");
  BOOST_OUTCOME_TRY(r.skip(rdlen));
  return rd;
}

RrType rdata_type(const Rdata& rd) {
  return std::visit(
      [](const auto& v) -> RrType {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, ARdata>)
          return RrType::kA;
        else if constexpr (std::is_same_v<T, AaaaRdata>)
          return RrType::kAaaa;
        else if constexpr (std::is_same_v<T, NsRdata>)
          return RrType::kNs;
        else if constexpr (std::is_same_v<T, CnameRdata>)
          return RrType::kCname;
        else if constexpr (std::is_same_v<T, SoaRdata>)
          return RrType::kSoa;
        else if constexpr (std::is_same_v<T, TxtRdata>)
          return RrType::kTxt;
        else if constexpr (std::is_same_v<T, CaaRdata>)
          return RrType::kCaa;
        else if constexpr (std::is_same_v<T, HinfoRdata>)
          return RrType::kHinfo;
        else if constexpr (std::is_same_v<T, TsigRdata>)
          return RrType::kTsig;
        else
          return RrType::kAny;
      },
      rd);
}

namespace {
struct RdataWriter {
  Writer& w;
  void operator()(const OpaqueRdata& v) { w.bytes(v.data); }
  void operator()(const ARdata& v) { w.bytes(v.addr); }
  void operator()(const AaaaRdata& v) { w.bytes(v.addr); }
  void operator()(const NsRdata& v) { w.name(v.host, true); }
  void operator()(const CnameRdata& v) { w.name(v.target, true); }
  void operator()(const SoaRdata& v) {
    w.name(v.mname, true);
    w.name(v.rname, true);
    for (auto x : {v.serial, v.refresh, v.retry, v.expire, v.minimum}) w.u32(x);
  }
  void operator()(const TxtRdata& v) {
    for (const auto& s : v.strings) w.char_string(s);
  }
  void operator()(const CaaRdata& v) {
    w.u8(v.flags);
    w.char_string(v.tag);
    w.bytes(std::span(reinterpret_cast<const std::uint8_t*>(v.value.data()), v.value.size()));
  }
  void operator()(const HinfoRdata& v) {
    w.char_string(v.cpu);
    w.char_string(v.os);
  }
  void operator()(const TsigRdata& v) {
    w.name(v.algorithm, false);  // RFC 8945 §4.2: never compressed
    w.u48(v.time_signed);
    w.u16(v.fudge);
    w.u16(static_cast<std::uint16_t>(v.mac.size()));
    w.bytes(v.mac);
    w.u16(v.original_id);
    w.u16(v.error);
    w.u16(static_cast<std::uint16_t>(v.other.size()));
    w.bytes(v.other);
  }
};
}  // namespace

void write_rdata(Writer& w, const Rdata& rd) { std::visit(RdataWriter{w}, rd); }

}  // namespace fc::dns::detail

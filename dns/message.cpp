// Message parse/serialize (RFC 1035 §4, RFC 6891 §6 OPT, RFC 8945 §5.1 TSIG last).
#include "dns/detail/message.hpp"

#include "dns/detail/wire.hpp"

namespace fc::dns {
namespace {
using detail::parse_error;
using detail::Reader;
using detail::Writer;

constexpr std::size_t kMinQuestion = 5;  // root name + type + class
constexpr std::size_t kMinRecord = 11;   // root name + type + class + ttl + rdlength

void read_flags(Header& h, std::uint16_t f) {
  h.qr = f & 0x8000;
  h.opcode = static_cast<Opcode>((f >> 11) & 0xF);
  h.aa = f & 0x0400;
  h.tc = f & 0x0200;
  h.rd = f & 0x0100;
  h.ra = f & 0x0080;
  h.z = f & 0x0040;
  h.ad = f & 0x0020;
  h.cd = f & 0x0010;
  h.rcode = static_cast<std::uint8_t>(f & 0xF);
}

std::uint16_t write_flags(const Header& h) {
  std::uint16_t f = 0;
  f |= h.qr ? 0x8000 : 0;
  f |= static_cast<std::uint16_t>((static_cast<unsigned>(h.opcode) & 0xF) << 11);
  f |= h.aa ? 0x0400 : 0;
  f |= h.tc ? 0x0200 : 0;
  f |= h.rd ? 0x0100 : 0;
  f |= h.ra ? 0x0080 : 0;
  f |= h.z ? 0x0040 : 0;
  f |= h.ad ? 0x0020 : 0;
  f |= h.cd ? 0x0010 : 0;
  f |= h.rcode & 0xF;
  return f;
}

Result<Record> read_record(Reader& r) {
  Record rec;
  BOOST_OUTCOME_TRY(name, r.name());
  BOOST_OUTCOME_TRY(type, r.u16());
  BOOST_OUTCOME_TRY(klass, r.u16());
  BOOST_OUTCOME_TRY(ttl, r.u32());
  BOOST_OUTCOME_TRY(rdlen, r.u16());
  rec.name = std::move(name);
  rec.type = static_cast<RrType>(type);
  rec.klass = klass;
  rec.ttl = ttl;
  BOOST_OUTCOME_TRY(rd, detail::read_rdata(r, rec.type, rdlen));
  rec.rdata = std::move(rd);
  return rec;
}

Result<Edns> edns_from(const Record& opt) {
  if (!opt.name.is_root()) return parse_error("OPT owner is not the root");
  const auto* raw = std::get_if<OpaqueRdata>(&opt.rdata);
  if (raw == nullptr) return parse_error("OPT rdata");
  Edns e;
  e.udp_size = opt.klass;
  e.ext_rcode = static_cast<std::uint8_t>(opt.ttl >> 24);
  e.version = static_cast<std::uint8_t>(opt.ttl >> 16);
  e.dnssec_ok = opt.ttl & 0x8000;
  Reader r(raw->data);
  while (r.left() > 0) {
    BOOST_OUTCOME_TRY(code, r.u16());
    BOOST_OUTCOME_TRY(len, r.u16());
    BOOST_OUTCOME_TRY(data, r.bytes(len));
    e.options.push_back(EdnsOption{code, std::move(data)});
  }
  return e;
}

Record edns_to(const Edns& e) {
  Record r;
  r.type = RrType::kOpt;
  r.klass = e.udp_size;
  r.ttl = (std::uint32_t{e.ext_rcode} << 24) | (std::uint32_t{e.version} << 16) |
          (e.dnssec_ok ? 0x8000u : 0u);
  Writer w;
  for (const auto& o : e.options) {
    w.u16(o.code);
    w.u16(static_cast<std::uint16_t>(o.data.size()));
    w.bytes(o.data);
  }
  r.rdata = OpaqueRdata{std::move(w.buffer())};
  return r;
}

Result<std::vector<Record>> read_section(Reader& r, std::uint16_t count) {
  if (std::size_t{count} * kMinRecord > r.left())
    return parse_error("record count exceeds message");
  std::vector<Record> out;
  out.reserve(count);
  for (std::uint16_t i = 0; i < count; ++i) {
    BOOST_OUTCOME_TRY(rec, read_record(r));
    out.push_back(std::move(rec));
  }
  return out;
}

// Lifts OPT (at most one) and TSIG (only last) out of the additional section.
Status lift_pseudo(Message& m, std::size_t* tsig_start, const std::vector<std::size_t>& starts) {
  std::vector<Record> rest;
  for (std::size_t i = 0; i < m.additional.size(); ++i) {
    Record& rec = m.additional[i];
    if (rec.type == RrType::kOpt) {
      if (m.edns) return parse_error("more than one OPT");
      BOOST_OUTCOME_TRY(e, edns_from(rec));
      m.edns = std::move(e);
    } else if (rec.type == RrType::kTsig) {
      if (i + 1 != m.additional.size()) return parse_error("TSIG is not the last record");
      if (!std::holds_alternative<TsigRdata>(rec.rdata)) return parse_error("TSIG rdata");
      if (tsig_start != nullptr) *tsig_start = starts[i];
      m.tsig = std::move(rec);
    } else {
      rest.push_back(std::move(rec));
    }
  }
  m.additional = std::move(rest);
  return ok();
}

}  // namespace

// Header, then each section against the bytes left (RFC 1035 §4.1): reads better whole.
Result<detail::Parsed> detail::parse_detailed(std::span<const std::uint8_t> wire) {
  Reader r(wire);
  if (wire.size() < kHeaderSize) return parse_error("shorter than a header");
  Parsed p;
  Message& m = p.message;
  BOOST_OUTCOME_TRY(id, r.u16());
  BOOST_OUTCOME_TRY(flags, r.u16());
  m.header.id = id;
  read_flags(m.header, flags);
  std::uint16_t counts[4];
  for (auto& c : counts) {
    BOOST_OUTCOME_TRY(c0, r.u16());
    c = c0;
  }
  if (std::size_t{counts[0]} * kMinQuestion > r.left())
    return parse_error("question count exceeds message");
  for (std::uint16_t i = 0; i < counts[0]; ++i) {
    BOOST_OUTCOME_TRY(name, r.name());
    BOOST_OUTCOME_TRY(type, r.u16());
    BOOST_OUTCOME_TRY(klass, r.u16());
    m.questions.push_back(Question{std::move(name), static_cast<RrType>(type), klass});
  }
  BOOST_OUTCOME_TRY(an, read_section(r, counts[1]));
  BOOST_OUTCOME_TRY(ns, read_section(r, counts[2]));
  m.answers = std::move(an);
  m.authority = std::move(ns);
  if (std::size_t{counts[3]} * kMinRecord > r.left())
    return parse_error("additional count exceeds message");
  std::vector<std::size_t> starts;
  for (std::uint16_t i = 0; i < counts[3]; ++i) {
    starts.push_back(r.pos());
    BOOST_OUTCOME_TRY(rec, read_record(r));
    m.additional.push_back(std::move(rec));
  }
  if (r.left() != 0) return parse_error("trailing bytes after message");
  p.tsig_start = wire.size();
  BOOST_OUTCOME_TRY(lift_pseudo(m, &p.tsig_start, starts));
  for (const auto* sec : {&m.answers, &m.authority})
    for (const auto& rec : *sec)
      if (rec.type == RrType::kOpt || rec.type == RrType::kTsig)
        return parse_error("OPT/TSIG outside additional");
  return p;
}

Result<Message> parse(std::span<const std::uint8_t> wire) {
  BOOST_OUTCOME_TRY(p, detail::parse_detailed(wire));
  return std::move(p.message);
}

namespace {
void write_record(Writer& w, const Record& rec, bool compress = true) {
  w.name(rec.name, compress);
  w.u16(static_cast<std::uint16_t>(rec.type));
  w.u16(rec.klass);
  w.u32(rec.ttl);
  const std::size_t len_at = w.size();
  w.u16(0);
  detail::write_rdata(w, rec.rdata);
  w.patch_u16(len_at, static_cast<std::uint16_t>(w.size() - len_at - 2));
}
}  // namespace

std::vector<std::uint8_t> serialize(const Message& m) {
  Writer w;
  w.u16(m.header.id);
  w.u16(write_flags(m.header));
  const std::size_t ar = m.additional.size() + (m.edns ? 1 : 0) + (m.tsig ? 1 : 0);
  for (std::size_t c : {m.questions.size(), m.answers.size(), m.authority.size(), ar})
    w.u16(static_cast<std::uint16_t>(c));
  for (const auto& q : m.questions) {
    w.name(q.name, true);
    w.u16(static_cast<std::uint16_t>(q.type));
    w.u16(q.klass);
  }
  for (const auto* sec : {&m.answers, &m.authority, &m.additional})
    for (const auto& rec : *sec) write_record(w, rec);
  if (m.edns) write_record(w, edns_to(*m.edns));
  if (m.tsig) write_record(w, *m.tsig);
  return std::move(w.buffer());
}

void detail::append_record(std::vector<std::uint8_t>& wire, const Record& rec) {
  Writer w;  // no compression against the existing message: start fresh
  write_record(w, rec, false);
  wire.insert(wire.end(), w.buffer().begin(), w.buffer().end());
}

Rcode Message::full_rcode() const {
  const unsigned hi = edns ? edns->ext_rcode : 0;
  return static_cast<Rcode>((hi << 4) | header.rcode);
}

void Message::set_rcode(Rcode r) {
  const auto v = static_cast<unsigned>(r);
  header.rcode = static_cast<std::uint8_t>(v & 0xF);
  if (edns) edns->ext_rcode = static_cast<std::uint8_t>(v >> 4);
}

}  // namespace fc::dns

// Presentation format of rdata (RFC 1035 §5.1, RFC 3597 §5, RFC 8659 §4.1).
#include <arpa/inet.h>

#include <cctype>
#include <cstdio>
#include <sstream>

#include "dns/detail/message.hpp"
#include "dns/detail/wire.hpp"

namespace fc::dns {
namespace {

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

std::string hex(std::span<const std::uint8_t> b) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string s;
  for (auto x : b) {
    s.push_back(kHex[x >> 4]);
    s.push_back(kHex[x & 15]);
  }
  return s;
}

struct ToText {
  std::string operator()(const OpaqueRdata& v) const {
    std::string s = "\\# " + std::to_string(v.data.size());
    if (!v.data.empty()) s += " " + hex(v.data);
    return s;
  }
  std::string operator()(const ARdata& v) const {
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, v.addr.data(), buf, sizeof buf);
    return buf;
  }
  std::string operator()(const AaaaRdata& v) const {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, v.addr.data(), buf, sizeof buf);
    return buf;
  }
  std::string operator()(const NsRdata& v) const { return v.host.to_text(); }
  std::string operator()(const CnameRdata& v) const { return v.target.to_text(); }
  std::string operator()(const SoaRdata& v) const {
    std::ostringstream o;
    o << v.mname.to_text() << ' ' << v.rname.to_text() << ' ' << v.serial << ' ' << v.refresh << ' '
      << v.retry << ' ' << v.expire << ' ' << v.minimum;
    return o.str();
  }
  std::string operator()(const TxtRdata& v) const {
    std::string s;
    for (const auto& x : v.strings) s += (s.empty() ? "" : " ") + quote(x);
    return s;
  }
  std::string operator()(const CaaRdata& v) const {
    return std::to_string(v.flags) + " " + v.tag + " " + quote(v.value);
  }
  std::string operator()(const HinfoRdata& v) const { return quote(v.cpu) + " " + quote(v.os); }
  std::string operator()(const TsigRdata& v) const {
    return v.algorithm.to_text() + " " + std::to_string(v.time_signed) + " " +
           std::to_string(v.fudge) + " " + std::to_string(v.mac.size()) + " " +
           detail::base64_encode(v.mac) + " " + std::to_string(v.original_id) + " " +
           std::to_string(v.error) + " " + std::to_string(v.other.size());
  }
};

// Splits presentation text into tokens. Escapes stay in the token (names
// decode them in Name::from_text, strings in unescape()); quotes are removed.
Result<std::vector<std::string>> tokenize(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (std::isspace(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    std::string tok;
    const bool quoted = s[i] == '"';
    if (quoted) ++i;
    while (i < s.size() &&
           (quoted ? s[i] != '"' : !std::isspace(static_cast<unsigned char>(s[i])))) {
      if (s[i] == '\\' && i + 1 < s.size()) tok.push_back(s[i++]);
      tok.push_back(s[i++]);
    }
    if (quoted) {
      if (i >= s.size()) return make_error(Code::kParse, "unterminated quote");
      ++i;
    }
    out.push_back(std::move(tok));
  }
  return out;
}

// RFC 1035 §5.1 <character-string> escapes: \X and \DDD.
Result<std::string> unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 1 >= s.size()) return make_error(Code::kParse, "dangling escape");
    if (i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      if (!std::isdigit(static_cast<unsigned char>(s[i + 2])) ||
          !std::isdigit(static_cast<unsigned char>(s[i + 3])))
        return make_error(Code::kParse, "bad \\DDD escape");
      const int v = (s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 + (s[i + 3] - '0');
      if (v > 255) return make_error(Code::kParse, "bad \\DDD escape");
      out.push_back(static_cast<char>(v));
      i += 3;
      continue;
    }
    out.push_back(s[++i]);
  }
  return out;
}

Result<std::vector<std::string>> unescape_all(const std::vector<std::string>& t) {
  std::vector<std::string> out;
  for (const auto& x : t) {
    BOOST_OUTCOME_TRY(u, unescape(x));
    if (u.size() > 255) return make_error(Code::kParse, "character-string longer than 255");
    out.push_back(std::move(u));
  }
  return out;
}

Result<std::uint32_t> number(const std::string& s, std::uint64_t max) {
  if (s.empty() || s.size() > 10) return make_error(Code::kParse, "bad number");
  std::uint64_t v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return make_error(Code::kParse, "bad number");
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return make_error(Code::kParse, "number out of range");
  return static_cast<std::uint32_t>(v);
}

Result<std::vector<std::uint8_t>> unhex(const std::string& s) {
  if (s.size() % 2 != 0) return make_error(Code::kParse, "odd hex");
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < s.size(); i += 2) {
    unsigned v = 0;
    if (std::sscanf(s.substr(i, 2).c_str(), "%2x", &v) != 1 ||
        !std::isxdigit(static_cast<unsigned char>(s[i])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 1])))
      return make_error(Code::kParse, "bad hex");
    out.push_back(static_cast<std::uint8_t>(v));
  }
  return out;
}

Result<Rdata> generic(const std::vector<std::string>& t) {
  if (t.size() < 2 || t[0] != "\\#") return make_error(Code::kParse, "expected \\# LEN HEX");
  BOOST_OUTCOME_TRY(len, number(t[1], 0xFFFF));
  std::string h;
  for (std::size_t i = 2; i < t.size(); ++i) h += t[i];
  BOOST_OUTCOME_TRY(data, unhex(h));
  if (data.size() != len) return make_error(Code::kParse, "\\# length mismatch");
  return Rdata{OpaqueRdata{std::move(data)}};
}

Result<Rdata> soa(const std::vector<std::string>& t) {
  if (t.size() != 7) return make_error(Code::kParse, "SOA needs 7 fields");
  BOOST_OUTCOME_TRY(m, Name::from_text(t[0]));
  BOOST_OUTCOME_TRY(r, Name::from_text(t[1]));
  SoaRdata s{std::move(m), std::move(r)};
  std::uint32_t* f[] = {&s.serial, &s.refresh, &s.retry, &s.expire, &s.minimum};
  for (int i = 0; i < 5; ++i) {
    BOOST_OUTCOME_TRY(v, number(t[static_cast<std::size_t>(i) + 2], 0xFFFFFFFF));
    *f[i] = v;
  }
  return Rdata{std::move(s)};
}

// One case per RR type, like the table it mirrors: reads better whole than split.
Result<Rdata> from_tokens(RrType type, const std::vector<std::string>& t) {
  if (!t.empty() && t[0] == "\\#") return generic(t);
  auto one = [&]() -> Result<std::string> {
    if (t.size() != 1) return make_error(Code::kParse, "expected one field");
    return t[0];
  };
  switch (type) {
    case RrType::kA: {
      BOOST_OUTCOME_TRY(s, one());
      ARdata a;
      if (inet_pton(AF_INET, s.c_str(), a.addr.data()) != 1)
        return make_error(Code::kParse, "bad IPv4");
      return Rdata{a};
    }
    case RrType::kAaaa: {
      BOOST_OUTCOME_TRY(s, one());
      AaaaRdata a;
      if (inet_pton(AF_INET6, s.c_str(), a.addr.data()) != 1)
        return make_error(Code::kParse, "bad IPv6");
      return Rdata{a};
    }
    case RrType::kNs:
    case RrType::kCname: {
      BOOST_OUTCOME_TRY(s, one());
      BOOST_OUTCOME_TRY(n, Name::from_text(s));
      if (type == RrType::kNs) return Rdata{NsRdata{std::move(n)}};
      return Rdata{CnameRdata{std::move(n)}};
    }
    case RrType::kSoa: return soa(t);
    case RrType::kTxt: {
      if (t.empty()) return make_error(Code::kParse, "TXT needs a string");
      BOOST_OUTCOME_TRY(strings, unescape_all(t));
      return Rdata{TxtRdata{std::move(strings)}};
    }
    case RrType::kCaa: {
      if (t.size() != 3 || t[1].empty())
        return make_error(Code::kParse, "CAA needs flags tag value");
      BOOST_OUTCOME_TRY(flags, number(t[0], 255));
      BOOST_OUTCOME_TRY(value, unescape(t[2]));
      return Rdata{CaaRdata{static_cast<std::uint8_t>(flags), t[1], std::move(value)}};
    }
    case RrType::kHinfo: {
      if (t.size() != 2) return make_error(Code::kParse, "HINFO needs cpu os");
      BOOST_OUTCOME_TRY(strings, unescape_all(t));
      return Rdata{HinfoRdata{strings[0], strings[1]}};
    }
    default: return make_error(Code::kParse, "use \\# LEN HEX for " + type_name(type));
  }
}

}  // namespace

std::string rdata_to_text(const Rdata& rd) { return std::visit(ToText{}, rd); }

Result<Rdata> rdata_from_text(RrType type, std::string_view text) {
  BOOST_OUTCOME_TRY(tokens, tokenize(text));
  return from_tokens(type, tokens);
}

std::string record_to_text(const Record& r) {
  const std::string klass = r.klass == kClassIn ? "IN" : "CLASS" + std::to_string(r.klass);
  return r.name.to_text() + " " + std::to_string(r.ttl) + " " + klass + " " + type_name(r.type) +
         " " + rdata_to_text(r.rdata);
}

}  // namespace fc::dns

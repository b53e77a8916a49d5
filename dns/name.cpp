// Name helpers and type/rcode mnemonics.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <utility>

#include "dns/detail/wire.hpp"

namespace fc::dns {
namespace {

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

constexpr std::array<std::pair<RrType, std::string_view>, 13> kTypes{{
    {RrType::kA, "A"},
    {RrType::kNs, "NS"},
    {RrType::kCname, "CNAME"},
    {RrType::kSoa, "SOA"},
    {RrType::kHinfo, "HINFO"},
    {RrType::kTxt, "TXT"},
    {RrType::kAaaa, "AAAA"},
    {RrType::kOpt, "OPT"},
    {RrType::kTsig, "TSIG"},
    {RrType::kIxfr, "IXFR"},
    {RrType::kAxfr, "AXFR"},
    {RrType::kAny, "ANY"},
    {RrType::kCaa, "CAA"},
}};

// Appends one presentation-format label character (RFC 1035 §5.1 escapes).
void put_label_char(std::string& out, unsigned char c) {
  if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' || c == '@' ||
      c == '$') {
    out.push_back('\\');
    out.push_back(static_cast<char>(c));
  } else if (c <= 0x20 || c >= 0x7F) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
    out += buf;
  } else {
    out.push_back(static_cast<char>(c));
  }
}

}  // namespace

std::string type_name(RrType t) {
  for (const auto& [v, n] : kTypes)
    if (v == t) return std::string(n);
  return "TYPE" + std::to_string(static_cast<unsigned>(t));
}

Result<RrType> type_from_name(std::string_view s) {
  for (const auto& [v, n] : kTypes)
    if (ieq(n, s)) return v;
  if (s.size() > 4 && ieq(s.substr(0, 4), "TYPE")) {
    unsigned v = 0;
    for (char c : s.substr(4)) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return make_error(Code::kParse, "bad type");
      v = v * 10 + static_cast<unsigned>(c - '0');
      if (v > 0xFFFF) return make_error(Code::kParse, "type out of range");
    }
    return static_cast<RrType>(v);
  }
  return make_error(Code::kParse, "unknown type " + std::string(s));
}

std::string rcode_name(Rcode r) {
  static constexpr std::array<std::string_view, 11> kNames{
      "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
  const auto v = static_cast<unsigned>(r);
  if (v < kNames.size()) return std::string(kNames[v]);
  if (r == Rcode::kBadSig) return "BADSIG";
  if (r == Rcode::kBadKey) return "BADKEY";
  if (r == Rcode::kBadTime) return "BADTIME";
  return "RCODE" + std::to_string(v);
}

// RFC 1035 §5.1 presentation format, escapes and limits in one scan: reads better whole.
Result<Name> Name::from_text(std::string_view text) {
  Name n;
  if (text == "." || text.empty()) return n;
  std::string label;
  std::size_t wire = 1;
  auto finish = [&]() -> Status {
    if (label.empty()) return make_error(Code::kParse, "empty label");
    if (label.size() > detail::kMaxLabel) return make_error(Code::kParse, "label longer than 63");
    wire += 1 + label.size();
    if (wire > detail::kMaxName) return make_error(Code::kParse, "name longer than 255");
    n.labels.push_back(std::move(label));
    label.clear();
    return ok();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      BOOST_OUTCOME_TRY(finish());
      continue;
    }
    if (c != '\\') {
      label.push_back(c);
      continue;
    }
    if (i + 1 >= text.size()) return make_error(Code::kParse, "dangling escape");
    if (i + 3 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      const std::string_view d = text.substr(i + 1, 3);
      if (!std::all_of(d.begin(), d.end(),
                       [](char x) { return std::isdigit(static_cast<unsigned char>(x)); }))
        return make_error(Code::kParse, "bad \\DDD escape");
      const int v = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
      if (v > 255) return make_error(Code::kParse, "bad \\DDD escape");
      label.push_back(static_cast<char>(v));
      i += 3;
      continue;
    }
    label.push_back(text[++i]);
  }
  if (!label.empty()) {
    BOOST_OUTCOME_TRY(finish());
  }
  return n;
}

std::string Name::to_text() const {
  if (labels.empty()) return ".";
  std::string out;
  for (const auto& l : labels) {
    for (char c : l) put_label_char(out, static_cast<unsigned char>(c));
    out.push_back('.');
  }
  return out;
}

std::string Name::key() const {
  std::string k = to_text();
  for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return k;
}

std::size_t Name::wire_length() const {
  std::size_t n = 1;
  for (const auto& l : labels) n += 1 + l.size();
  return n;
}

bool Name::is_subdomain_of(const Name& zone) const {
  if (zone.labels.size() > labels.size()) return false;
  const std::size_t off = labels.size() - zone.labels.size();
  for (std::size_t i = 0; i < zone.labels.size(); ++i)
    if (!ieq(labels[off + i], zone.labels[i])) return false;
  return true;
}

Name Name::parent() const {
  Name p;
  if (!labels.empty()) p.labels.assign(labels.begin() + 1, labels.end());
  return p;
}

Name Name::prepend(std::string_view label) const {
  Name p;
  p.labels.reserve(labels.size() + 1);
  p.labels.emplace_back(label);
  p.labels.insert(p.labels.end(), labels.begin(), labels.end());
  return p;
}

bool operator==(const Name& a, const Name& b) {
  if (a.labels.size() != b.labels.size()) return false;
  for (std::size_t i = 0; i < a.labels.size(); ++i)
    if (!ieq(a.labels[i], b.labels[i])) return false;
  return true;
}

}  // namespace fc::dns

// Hostname normalisation (API.md "Custom domains"): UTS #46 non-transitional
// processing through libidn2 (IDNA2008), then the syntax rules of a public
// DNS name (RFC 1035 §2.3.1, RFC 1123 §2.1, RFC 3696 §2: no all-digit TLD).
#include <arpa/inet.h>
#include <idn2.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "domains/domain.hpp"

namespace fc::domains {
namespace {

constexpr std::size_t kMaxInput = 1024;  // before IDNA: anything longer cannot fit 253 octets
constexpr std::size_t kMaxName = 253;    // presentation form without the trailing dot
constexpr std::size_t kMaxLabel = 63;

Error reject(const std::string& why) { return make_error(Code::kInvalidArgument, why); }

bool is_ip_literal(std::string_view s) {
  std::string t(s);
  if (t.size() > 2 && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
  unsigned char buf[16];
  return ::inet_pton(AF_INET, t.c_str(), buf) == 1 || ::inet_pton(AF_INET6, t.c_str(), buf) == 1;
}

std::vector<std::string_view> split_labels(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    auto dot = s.find('.', start);
    out.push_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

bool all_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// libidn2: non-transitional first (IDNA2008 keeps ß and ς); names that only
// the transitional mapping accepts fall back to it, as libidn2's docs advise.
Result<std::string> to_ascii(const std::string& in) {
  char* out = nullptr;
  int rc = idn2_to_ascii_8z(in.c_str(), &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
  if (rc == IDN2_DISALLOWED)
    rc = idn2_to_ascii_8z(in.c_str(), &out, IDN2_TRANSITIONAL | IDN2_NFC_INPUT);
  std::unique_ptr<char, decltype(&idn2_free)> guard(out, &idn2_free);
  if (rc != IDN2_OK)
    return reject(std::string("not a valid internationalised name: ") + idn2_strerror(rc));
  return std::string(out);
}

bool ldh(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

Status check_syntax(const std::string& name) {
  if (name.size() > kMaxName) return reject("longer than 253 characters");
  auto labels = split_labels(name);
  if (labels.size() < 2) return reject("a single label is not a public DNS name");
  for (auto l : labels) {
    if (l.empty()) return reject("an empty label");
    if (l.size() > kMaxLabel) return reject("a label longer than 63 characters");
    if (!std::all_of(l.begin(), l.end(), ldh))
      return reject("only letters, digits and hyphens are allowed in a label");
    if (l.front() == '-' || l.back() == '-')
      return reject("a label may not start or end with a hyphen");
  }
  auto tld = labels.back();
  if (std::all_of(tld.begin(), tld.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return reject("the top-level label is all digits");
  return ok();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

bool inside_zone(const std::string& name, std::string_view zone) {
  std::string z = lower(zone);
  while (!z.empty() && z.back() == '.') z.pop_back();
  if (z.empty()) return false;
  if (name == z) return true;
  return name.size() > z.size() && name.compare(name.size() - z.size(), z.size(), z) == 0 &&
         name[name.size() - z.size() - 1] == '.';
}

// Rejections that must be named before IDNA processing mangles the input.
Status precheck(std::string_view s) {
  if (s.empty()) return reject("the hostname is empty");
  if (s.size() > kMaxInput) return reject("longer than 253 characters");
  if (is_ip_literal(s)) return reject("an IP address is not a hostname");
  if (s.find('*') != std::string_view::npos) return reject("a wildcard is not allowed");
  if (s.find('_') != std::string_view::npos) return reject("an underscore is not allowed");
  if (s.find('\0') != std::string_view::npos) return reject("a NUL character is not allowed");
  for (auto l : split_labels(s)) {
    if (l.empty()) return reject("an empty label");
  }
  return ok();
}

}  // namespace

Result<std::string> normalize_hostname(std::string_view input, std::string_view platform_zone) {
  std::string_view s = input;
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  BOOST_OUTCOME_TRY(precheck(s));
  std::string name;
  if (all_ascii(s)) {
    name = lower(s);
  } else {
    BOOST_OUTCOME_TRY(a, to_ascii(std::string(s)));
    name = lower(a);
  }
  BOOST_OUTCOME_TRY(check_syntax(name));
  if (name.rfind("xn--", 0) == 0 || name.find(".xn--") != std::string::npos) {
    // An A-label must be a valid IDNA2008 label: round-trip it through libidn2.
    BOOST_OUTCOME_TRY(checked, to_ascii(name));
    if (lower(checked) != name) return reject("not a valid internationalised name: bad A-label");
  }
  if (inside_zone(name, platform_zone))
    return reject("a name inside the platform zone cannot be claimed");
  return name;
}

}  // namespace fc::domains

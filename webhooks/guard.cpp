// The outbound guard (docs/webhooks.md "Outbound requests"): which addresses
// a webhook may connect to, and which URLs an endpoint may have. Pure.
#include <arpa/inet.h>

#include <array>
#include <cstdint>

#include "webhooks/service.hpp"

namespace fc::webhooks {

namespace {

struct V4Block {
  std::uint32_t net;
  int bits;
  const char* why;
};

// RFC 6890 special-purpose blocks that are not globally reachable.
constexpr V4Block kV4Blocks[] = {
    {0x00000000, 8, "unspecified"},     {0x0A000000, 8, "private"},
    {0x64400000, 10, "shared (CGNAT)"}, {0x7F000000, 8, "loopback"},
    {0xA9FE0000, 16, "link-local"},     {0xAC100000, 12, "private"},
    {0xC0000000, 24, "reserved"},       {0xC0A80000, 16, "private"},
    {0xC6120000, 15, "benchmarking"},   {0xE0000000, 4, "multicast"},
    {0xF0000000, 4, "reserved"},
};

std::optional<std::string> refused_v4(std::uint32_t a) {
  for (const auto& b : kV4Blocks) {
    const std::uint32_t mask = b.bits == 0 ? 0 : ~std::uint32_t{0} << (32 - b.bits);
    if ((a & mask) == b.net) return std::string(b.why);
  }
  return std::nullopt;
}

std::optional<std::string> refused_v6(const std::array<std::uint8_t, 16>& a) {
  bool zero10 = true;
  for (int i = 0; i < 10; ++i) zero10 = zero10 && a[i] == 0;
  const std::uint32_t tail = (std::uint32_t{a[12]} << 24) | (std::uint32_t{a[13]} << 16) |
                             (std::uint32_t{a[14]} << 8) | a[15];
  if (zero10 && a[10] == 0xff && a[11] == 0xff) return refused_v4(tail);  // ::ffff:a.b.c.d
  if (zero10 && a[10] == 0 && a[11] == 0) {
    if (tail == 0) return "unspecified";
    if (tail == 1) return "loopback";
    return "reserved";  // IPv4-compatible (deprecated)
  }
  // 64:ff9b::/96 (NAT64) carries an IPv4 address.
  if (a[0] == 0 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b) return refused_v4(tail);
  if ((a[0] & 0xfe) == 0xfc) return "private";                     // fc00::/7 unique local
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return "link-local";  // fe80::/10
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return "private";     // fec0::/10 site-local
  if (a[0] == 0xff) return "multicast";
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) return "documentation";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> refused_address(std::string_view ip) {
  std::string text(ip);
  if (auto pct = text.find('%'); pct != std::string::npos) text.resize(pct);  // fe80::1%eth0
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return refused_v4(ntohl(v4.s_addr));
  std::array<std::uint8_t, 16> v6{};
  if (::inet_pton(AF_INET6, text.c_str(), v6.data()) == 1) return refused_v6(v6);
  return "not an IP address";
}

std::optional<std::string> check_url(std::string_view url, bool allow_private) {
  if (url.size() > 2048) return "must be at most 2048 characters";
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return "must be an http:// or https:// URL";
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return "must not contain spaces or control characters";
  }
  if (url.find('#') != std::string_view::npos) return "must not have a fragment";
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority.find('@') != std::string_view::npos) return "must not contain user info";
  std::string_view host = authority;
  if (host.starts_with("[")) {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return "has an unterminated IPv6 literal";
    const std::string_view after = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!after.empty() && !after.starts_with(":")) return "has a malformed host";
    if (after.size() > 1) {
      for (char c : after.substr(1)) {
        if (c < '0' || c > '9') return "has a malformed port";
      }
    }
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = host.substr(colon + 1);
    host = host.substr(0, colon);
    if (port.empty() || port.size() > 5) return "has a malformed port";
    for (char c : port) {
      if (c < '0' || c > '9') return "has a malformed port";
    }
    if (std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535)
      return "has a port out of range";
  }
  if (host.empty() || host.size() > 253) return "must name a host";
  if (allow_private) return std::nullopt;
  if (host == "localhost" || host.ends_with(".localhost")) return "names a loopback host";
  std::string text(host);
  in_addr v4{};
  std::array<std::uint8_t, 16> v6{};
  const bool literal = ::inet_pton(AF_INET, text.c_str(), &v4) == 1 ||
                       ::inet_pton(AF_INET6, text.c_str(), v6.data()) == 1;
  if (!literal) return std::nullopt;  // a name: checked at every connect
  if (auto why = refused_address(text))
    return "points at a " + *why + " address (set webhooks.allow_private to allow it)";
  return std::nullopt;
}

}  // namespace fc::webhooks

#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fc::certs::test {

// The time the table tests run at, in ms since the epoch (2023-11-14).
inline constexpr std::int64_t kNow = 1'700'000'000'000;
inline std::vector<std::uint8_t> unhex(std::string_view h) {
  std::vector<std::uint8_t> out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    if (h[i] == ':') {
      --i;
      continue;
    }
    out.push_back(static_cast<std::uint8_t>(nib(h[i]) << 4 | nib(h[i + 1])));
  }
  return out;
}
inline std::string hex(std::string_view s) {
  static constexpr char k[] = "0123456789abcdef";
  std::string o;
  for (unsigned char c : s) {
    o += k[c >> 4];
    o += k[c & 15];
  }
  return o;
}
inline std::string str(const std::vector<std::uint8_t>& v) { return {v.begin(), v.end()}; }
}  // namespace fc::certs::test

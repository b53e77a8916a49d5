// Shared helpers for the dns unit tests.
#pragma once
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dns/codec.hpp"

namespace fc::dns::test {

inline std::vector<std::uint8_t> from_hex(const std::string& h) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoul(h.substr(i, 2), nullptr, 16)));
  return out;
}

inline std::string to_hex(const std::vector<std::uint8_t>& b) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (auto x : b) {
    s.push_back(k[x >> 4]);
    s.push_back(k[x & 15]);
  }
  return s;
}

inline Name N(const std::string& s) {
  auto n = Name::from_text(s);
  REQUIRE(n);
  return n.value();
}

inline Rdata RD(RrType t, const std::string& text) {
  auto r = rdata_from_text(t, text);
  REQUIRE_MESSAGE(r, text);
  return r.value();
}

}  // namespace fc::dns::test

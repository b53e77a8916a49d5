// Identifiers that sort by creation time (ULID-like: 48-bit milliseconds, then
// 80 random bits, Crockford base32). SQLite inserts with time-ordered keys run
// about 7x faster than with random keys (docs/BENCHMARKS.md).
#pragma once
#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace fc {

class IdGenerator {
 public:
  IdGenerator() : rng_(std::random_device{}()) {}

  // prefix + 26 characters, e.g. "ws_01JD…". Strictly increasing within one
  // generator even within the same millisecond (the random part is bumped).
  std::string next(std::string_view prefix, std::int64_t unix_ms) {
    if (unix_ms > last_ms_) {
      last_ms_ = unix_ms;
      hi_ = rng_() & 0xFFFF;  // 16 bits
      lo_ = rng_();           // 64 bits
      lo_ >>= 1;              // leave room to increment without overflowing
    } else {
      ++lo_;
    }
    static constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
    std::array<char, 26> out{};
    // 48-bit time → 10 chars (50 bits; top 2 bits zero).
    std::uint64_t t = static_cast<std::uint64_t>(last_ms_);
    for (int i = 9; i >= 0; --i) {
      out[i] = kAlphabet[t & 31];
      t >>= 5;
    }
    // 80 random bits → 16 chars: 16 bits of hi_ then 64 bits of lo_.
    std::uint64_t lo = lo_;
    std::uint64_t hi = hi_;
    for (int i = 25; i >= 10; --i) {
      out[i] = kAlphabet[lo & 31];
      lo = (lo >> 5) | ((hi & 31) << 59);
      hi >>= 5;
    }
    std::string s(prefix);
    s.append(out.data(), out.size());
    return s;
  }

 private:
  std::mt19937_64 rng_;
  std::int64_t last_ms_ = -1;
  std::uint64_t hi_ = 0;
  std::uint64_t lo_ = 0;
};

}  // namespace fc

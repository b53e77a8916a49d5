// UDP fast path: the answer-cache key read from a query's wire, and the cache.
#include "dns/detail/fast_path.hpp"

#include <algorithm>

namespace fc::dns::detail {
namespace {

constexpr std::size_t kHeader = 12;
constexpr std::uint16_t kTypeOpt = 41;

std::uint16_t u16(std::span<const std::uint8_t> w, std::size_t at) {
  return static_cast<std::uint16_t>((w[at] << 8) | w[at + 1]);
}

std::uint8_t lower(std::uint8_t c) {  // ASCII only (RFC 4343)
  return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c;
}

std::uint64_t fnv1a(std::span<const std::uint8_t> b) {
  std::uint64_t h = 1469598103934665603ull;
  for (auto c : b) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

std::optional<FastKey> fast_key(std::span<const std::uint8_t> q, std::uint16_t max_udp) {
  if (q.size() < kHeader + 5) return std::nullopt;
  // QR=0, opcode QUERY, AA=0, TC=0; Z=0 and RCODE=0 (RD, RA, AD, CD may be anything).
  if ((q[2] & 0xFE) != 0 || (q[3] & 0x4F) != 0) return std::nullopt;
  if (u16(q, 4) != 1 || u16(q, 6) != 0 || u16(q, 8) != 0) return std::nullopt;
  const std::uint16_t arcount = u16(q, 10);
  if (arcount > 1) return std::nullopt;

  FastKey k;
  std::size_t at = kHeader;
  for (;;) {
    if (at >= q.size()) return std::nullopt;
    const std::uint8_t len = q[at];
    if (len == 0) break;
    if (len > 63) return std::nullopt;  // a pointer or a reserved label type
    if (at + 1 + len > q.size() || at + 1 + len - kHeader > 254) return std::nullopt;
    k.bytes[k.size++] = len;
    for (std::size_t i = 0; i < len; ++i) k.bytes[k.size++] = lower(q[at + 1 + i]);
    at += 1 + len;
  }
  k.bytes[k.size++] = 0;
  ++at;
  k.qname_len = static_cast<std::uint16_t>(at - kHeader);
  if (at + 4 > q.size()) return std::nullopt;
  for (int i = 0; i < 4; ++i) k.bytes[k.size++] = q[at + i];  // type, class
  at += 4;

  std::uint16_t limit = 512;  // RFC 6891 §6.2.5: 512 without OPT, never over our ceiling
  std::uint8_t edns = 0;
  if (arcount == 1) {
    // root name, TYPE OPT, CLASS = payload size, TTL = ext-rcode, version, flags, RDLEN, options
    if (at + 11 > q.size() || q[at] != 0 || u16(q, at + 1) != kTypeOpt) return std::nullopt;
    if (q[at + 5] != 0 || q[at + 6] != 0) return std::nullopt;  // version 0 (else BADVERS)
    if (at + 11 + u16(q, at + 9) != q.size()) return std::nullopt;
    // Options (a resolver's COOKIE, say) do not change our answer, but must be
    // well-formed TLVs, as the full parse requires.
    for (std::size_t o = at + 11; o < q.size();) {
      if (o + 4 > q.size() || o + 4 + u16(q, o + 2) > q.size()) return std::nullopt;
      o += 4 + u16(q, o + 2);
    }
    limit = std::clamp<std::uint16_t>(u16(q, at + 3), 512, std::max<std::uint16_t>(max_udp, 512));
    edns = static_cast<std::uint8_t>(1 | ((q[at + 7] & 0x80) ? 2 : 0));
  } else if (at != q.size()) {
    return std::nullopt;
  }
  k.bytes[k.size++] = edns;
  k.bytes[k.size++] = static_cast<std::uint8_t>(limit >> 8);
  k.bytes[k.size++] = static_cast<std::uint8_t>(limit);
  k.hash = fnv1a(k.view());
  return k;
}

AnswerCache::AnswerCache(std::size_t slots) : slots_(std::max<std::size_t>(slots, 1)) {}

void AnswerCache::use_zone(const std::shared_ptr<const ZoneSnapshot>& zone) {
  if (zone == zone_) return;
  zone_ = zone;  // held, so a new snapshot can never reuse the address of a cached one
  ++generation_;
}

bool AnswerCache::lookup(const FastKey& k, std::span<const std::uint8_t> query,
                         std::vector<std::uint8_t>& out) {
  const Slot& s = slots_[k.hash % slots_.size()];
  const auto key = k.view();
  if (s.generation != generation_ ||
      !std::equal(s.key.begin(), s.key.end(), key.begin(), key.end())) {
    ++misses_;
    return false;
  }
  ++hits_;
  out.assign(s.reply.begin(), s.reply.end());
  out[0] = query[0];  // id
  out[1] = query[1];
  out[2] = static_cast<std::uint8_t>((out[2] & ~0x01) | (query[2] & 0x01));  // RD copied back
  out[3] = static_cast<std::uint8_t>((out[3] & ~0x10) | (query[3] & 0x10));  // CD copied back
  // The question as asked (case preserved, e.g. for 0x20-randomising resolvers).
  std::copy_n(query.begin() + kHeader, k.qname_len, out.begin() + kHeader);
  return true;
}

void AnswerCache::store(const FastKey& k, std::span<const std::uint8_t> reply) {
  if (reply.size() < kHeader + k.qname_len + 4 || u16(reply, 4) != 1) return;
  // The reply's question must be the key's name (compared lower-cased), so
  // patching the asked case over it later is exact.
  for (std::size_t i = 0; i < k.qname_len; ++i)
    if (lower(reply[kHeader + i]) != k.bytes[i]) return;
  Slot& s = slots_[k.hash % slots_.size()];
  s.generation = generation_;
  const auto key = k.view();
  s.key.assign(key.begin(), key.end());
  s.reply.assign(reply.begin(), reply.end());
}

}  // namespace fc::dns::detail

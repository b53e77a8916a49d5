// The pure core of the authoritative server: wire query in, wire replies out.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "dns/server.hpp"

namespace fc::dns::detail {

enum class Transport { kUdp, kTcp };

struct QueryContext {
  Transport transport = Transport::kUdp;
  bool acl_allows_transfer = false;  // client address is in dns.axfr_allow
  std::span<const TsigKey> keys;     // dns.axfr_tsig
  std::uint64_t now = 0;             // unix seconds, for TSIG
  std::uint16_t max_udp = 1232;      // our ceiling for EDNS payloads
  std::size_t max_transfer_message = 60000;
};

struct Reply {
  std::vector<std::vector<std::uint8_t>> wires;  // empty: drop; several: a transfer
  bool transfer = false;
  bool truncated = false;
};

Reply handle_query(const ZoneSnapshot& zone, std::span<const std::uint8_t> wire,
                   const QueryContext& ctx);

// Answers one QUERY question from the zone (RFC 1034 §4.3.2 minus referrals):
// AA, CNAME chase inside the zone, NXDOMAIN/NODATA with the SOA, minimal ANY.
void answer_question(const ZoneSnapshot& zone, const Question& q, Message& resp);

// Serializes `resp`; over `limit` bytes it drops the additional section, then
// every record section and sets TC (RFC 2181 §9).
std::vector<std::uint8_t> encode_within(Message resp, std::size_t limit, bool* truncated);

// AXFR (RFC 5936): SOA first and last, split so each message stays under
// `max_bytes` (an upper bound computed without cross-record compression).
std::vector<Message> build_transfer(const ZoneSnapshot& zone, const Message& query,
                                    std::size_t max_bytes);

}  // namespace fc::dns::detail

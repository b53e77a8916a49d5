// Internal message helpers shared by the codec, TSIG and the server.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "dns/codec.hpp"

namespace fc::dns::detail {

struct Parsed {
  Message message;
  std::size_t tsig_start = 0;  // offset of the TSIG RR, or the wire size when none
};
Result<Parsed> parse_detailed(std::span<const std::uint8_t> wire);

// Appends one uncompressed record (used to append TSIG after signing).
void append_record(std::vector<std::uint8_t>& wire, const Record& rec);

std::vector<std::uint8_t> base64_decode_or_empty(std::string_view s, bool* ok);
std::string base64_encode(std::span<const std::uint8_t> b);

}  // namespace fc::dns::detail

// The UDP fast path: a reply cache keyed by what an answer depends on, read
// straight from the query's wire without building a Message. A hit is the
// cached reply with the query's id, RD/CD bits and question-name case patched
// in; a miss goes through handle_query and its reply is stored. See docs/dns.md
// "UDP workers and the answer cache".
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace fc::dns {
class ZoneSnapshot;
}

namespace fc::dns::detail {

// Everything a plain query's reply depends on besides the zone: the lower-cased
// question name (wire form), type, class, whether it had an OPT record, its DO
// bit and the UDP size limit the reply was encoded within.
struct FastKey {
  std::array<std::uint8_t, 263> bytes{};
  std::uint16_t size = 0;
  std::uint16_t qname_len = 0;  // wire length of the question name, at offset 12
  std::uint64_t hash = 0;
  std::span<const std::uint8_t> view() const { return {bytes.data(), size}; }
};

// Only the common shape qualifies: QUERY opcode, one question with an
// uncompressed name, no answer or authority records, at most one OPT record
// (version 0, well-formed options, which our answers ignore) and nothing after it. Anything else
// (TSIG, NOTIFY, EDNS options, malformed input) returns nullopt and takes the full path.
std::optional<FastKey> fast_key(std::span<const std::uint8_t> query, std::uint16_t max_udp);

// Direct-mapped: a fixed number of slots, a new entry replaces the slot's old
// one, so memory is bounded and a flood of distinct names only evicts. Entries
// belong to one zone snapshot: a different snapshot invalidates them all.
// Not thread-safe: one cache per UDP worker.
class AnswerCache {
 public:
  explicit AnswerCache(std::size_t slots);
  // A new snapshot invalidates every entry (O(1): a generation counter).
  void use_zone(const std::shared_ptr<const ZoneSnapshot>& zone);
  // On a hit, writes the reply to `query` into `out` and returns true.
  bool lookup(const FastKey& k, std::span<const std::uint8_t> query,
              std::vector<std::uint8_t>& out);
  // Stores `reply` (the full path's answer to a query with key `k`) when it
  // has the expected shape: one question whose name matches the key's.
  void store(const FastKey& k, std::span<const std::uint8_t> reply);
  std::uint64_t hits() const { return hits_; }
  std::uint64_t misses() const { return misses_; }

 private:
  struct Slot {
    std::uint64_t generation = 0;  // 0: never used
    std::vector<std::uint8_t> key;
    std::vector<std::uint8_t> reply;
  };
  std::vector<Slot> slots_;
  std::shared_ptr<const ZoneSnapshot> zone_;
  std::uint64_t generation_ = 1;
  std::uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace fc::dns::detail

// Bounds-checked wire reader and compressing writer (internal to dns/).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "dns/codec.hpp"

namespace fc::dns::detail {

inline constexpr std::size_t kMaxLabel = 63;
inline constexpr std::size_t kMaxName = 255;
inline constexpr int kMaxPointerHops = 32;

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> buf, std::size_t pos = 0) : buf_(buf), pos_(pos) {}
  std::size_t pos() const { return pos_; }
  std::size_t left() const { return buf_.size() - pos_; }
  std::span<const std::uint8_t> whole() const { return buf_; }
  Result<std::uint8_t> u8();
  Result<std::uint16_t> u16();
  Result<std::uint32_t> u32();
  Result<std::uint64_t> u48();
  Result<std::vector<std::uint8_t>> bytes(std::size_t n);
  Status skip(std::size_t n);
  Result<std::string> char_string();  // RFC 1035 <character-string>
  // Names may use backwards compression pointers only, at most kMaxPointerHops.
  Result<Name> name();

 private:
  std::span<const std::uint8_t> buf_;
  std::size_t pos_ = 0;
};

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v);
  void u32(std::uint32_t v);
  void u48(std::uint64_t v);
  void bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void char_string(const std::string& s);  // truncated at 255 octets
  void name(const Name& n, bool compress);
  std::size_t size() const { return out_.size(); }
  void patch_u16(std::size_t at, std::uint16_t v);
  std::vector<std::uint8_t>& buffer() { return out_; }

 private:
  std::vector<std::uint8_t> out_;
  std::unordered_map<std::string, std::uint16_t> offsets_;  // lower-cased suffix → offset
};

Result<Rdata> read_rdata(Reader& r, RrType type, std::uint16_t rdlen);
void write_rdata(Writer& w, const Rdata& rd);
RrType rdata_type(const Rdata& rd);  // kA for ARdata … ; OpaqueRdata → kAny (unknown)
// Lower-cased, uncompressed wire form (RFC 8945 §4.3.3 canonical names).
void write_canonical_name(std::vector<std::uint8_t>& out, const Name& n);

Error parse_error(std::string detail);

}  // namespace fc::dns::detail

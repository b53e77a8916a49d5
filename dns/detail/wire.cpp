#include "dns/detail/wire.hpp"

#include <algorithm>
#include <cctype>

namespace fc::dns::detail {

Error parse_error(std::string detail) { return make_error(Code::kParse, std::move(detail)); }

Result<std::uint8_t> Reader::u8() {
  if (left() < 1) return parse_error("truncated");
  return buf_[pos_++];
}

Result<std::uint16_t> Reader::u16() {
  if (left() < 2) return parse_error("truncated");
  auto v = static_cast<std::uint16_t>((buf_[pos_] << 8) | buf_[pos_ + 1]);
  pos_ += 2;
  return v;
}

Result<std::uint32_t> Reader::u32() {
  if (left() < 4) return parse_error("truncated");
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | buf_[pos_++];
  return v;
}

Result<std::uint64_t> Reader::u48() {
  if (left() < 6) return parse_error("truncated");
  std::uint64_t v = 0;
  for (int i = 0; i < 6; ++i) v = (v << 8) | buf_[pos_++];
  return v;
}

Result<std::vector<std::uint8_t>> Reader::bytes(std::size_t n) {
  if (left() < n) return parse_error("truncated");
  std::vector<std::uint8_t> v(buf_.begin() + pos_, buf_.begin() + pos_ + n);
  pos_ += n;
  return v;
}

Status Reader::skip(std::size_t n) {
  if (left() < n) return parse_error("truncated");
  pos_ += n;
  return ok();
}

Result<std::string> Reader::char_string() {
  BOOST_OUTCOME_TRY(len, u8());
  if (left() < len) return parse_error("truncated character-string");
  std::string s(reinterpret_cast<const char*>(buf_.data() + pos_), len);
  pos_ += len;
  return s;
}

Result<Name> Reader::name() {
  Name n;
  std::size_t p = pos_;
  std::size_t wire_len = 1;    // the root label
  std::size_t end = 0;         // where reading resumes after the first pointer
  std::size_t segment = pos_;  // start of the labels being read now
  int hops = 0;
  while (true) {
    if (p >= buf_.size()) return parse_error("truncated name");
    const std::uint8_t len = buf_[p];
    if ((len & 0xC0) == 0xC0) {
      if (p + 1 >= buf_.size()) return parse_error("truncated pointer");
      const std::size_t target = ((len & 0x3F) << 8) | buf_[p + 1];
      // Only pointers to before the current segment: strictly decreasing, no loops.
      if (target >= segment) return parse_error("forward compression pointer");
      if (++hops > kMaxPointerHops) return parse_error("too many compression pointers");
      if (end == 0) end = p + 2;
      p = segment = target;
      continue;
    }
    if ((len & 0xC0) != 0) return parse_error("unsupported label type");
    if (len == 0) break;
    if (p + 1 + len > buf_.size()) return parse_error("truncated label");
    wire_len += 1 + len;
    if (wire_len > kMaxName) return parse_error("name longer than 255 octets");
    n.labels.emplace_back(reinterpret_cast<const char*>(buf_.data() + p + 1), len);
    p += 1 + len;
  }
  pos_ = end != 0 ? end : p + 1;
  return n;
}

void Writer::u16(std::uint16_t v) {
  out_.push_back(static_cast<std::uint8_t>(v >> 8));
  out_.push_back(static_cast<std::uint8_t>(v));
}

void Writer::u32(std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out_.push_back(static_cast<std::uint8_t>(v >> s));
}

void Writer::u48(std::uint64_t v) {
  for (int s = 40; s >= 0; s -= 8) out_.push_back(static_cast<std::uint8_t>(v >> s));
}

void Writer::char_string(const std::string& s) {
  const std::size_t n = std::min<std::size_t>(s.size(), 255);
  out_.push_back(static_cast<std::uint8_t>(n));
  out_.insert(out_.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
}

void Writer::patch_u16(std::size_t at, std::uint16_t v) {
  out_.at(at) = static_cast<std::uint8_t>(v >> 8);
  out_.at(at + 1) = static_cast<std::uint8_t>(v);
}

namespace {
std::string suffix_key(const Name& n, std::size_t from) {
  std::string k;
  for (std::size_t i = from; i < n.labels.size(); ++i) {
    for (char c : n.labels[i])
      k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    k.push_back('\0');  // labels may contain dots, so separate with NUL plus length
    k.push_back(static_cast<char>(n.labels[i].size()));
  }
  return k;
}
}  // namespace

void Writer::name(const Name& n, bool compress) {
  for (std::size_t i = 0; i < n.labels.size(); ++i) {
    const std::string key = suffix_key(n, i);
    if (compress) {
      auto it = offsets_.find(key);
      if (it != offsets_.end()) {
        u16(static_cast<std::uint16_t>(0xC000 | it->second));
        return;
      }
    }
    if (out_.size() < 0x3FFF) offsets_.emplace(key, static_cast<std::uint16_t>(out_.size()));
    const std::string& l = n.labels[i];
    out_.push_back(static_cast<std::uint8_t>(std::min<std::size_t>(l.size(), kMaxLabel)));
    out_.insert(
        out_.end(), l.begin(),
        l.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(l.size(), kMaxLabel)));
  }
  out_.push_back(0);
}

void write_canonical_name(std::vector<std::uint8_t>& out, const Name& n) {
  for (const auto& l : n.labels) {
    out.push_back(static_cast<std::uint8_t>(l.size()));
    for (char c : l)
      out.push_back(static_cast<std::uint8_t>(std::tolower(static_cast<unsigned char>(c))));
  }
  out.push_back(0);
}

}  // namespace fc::dns::detail

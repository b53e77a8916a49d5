// DNS wire codec (RFC 1035, EDNS(0) RFC 6891, TSIG RFC 8945): plain values and
// pure functions, no I/O. See docs/dns.md.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.hpp"

namespace fc::dns {

// Open set: any 16-bit value is a valid RrType (unknown ones are opaque).
enum class RrType : std::uint16_t {
  kA = 1,
  kNs = 2,
  kCname = 5,
  kSoa = 6,
  kHinfo = 13,
  kTxt = 16,
  kAaaa = 28,
  kOpt = 41,
  kTsig = 250,
  kIxfr = 251,
  kAxfr = 252,
  kAny = 255,
  kCaa = 257,
};
enum class Opcode : std::uint8_t { kQuery = 0, kIQuery = 1, kStatus = 2, kNotify = 4, kUpdate = 5 };
enum class Rcode : std::uint16_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
  kYxDomain = 6,
  kYxRrset = 7,
  kNxRrset = 8,
  kNotAuth = 9,
  kNotZone = 10,
  kBadSig = 16,
  kBadKey = 17,
  kBadTime = 18,
};
inline constexpr std::uint16_t kClassIn = 1;
inline constexpr std::uint16_t kClassNone = 254;
inline constexpr std::uint16_t kClassAny = 255;

std::string type_name(RrType t);                    // "A", "TYPE65534"
Result<RrType> type_from_name(std::string_view s);  // case-insensitive
std::string rcode_name(Rcode r);                    // "NOERROR", "BADSIG", "RCODE23"

// A domain name as labels (no terminal root label). Case is preserved; every
// comparison is ASCII case-insensitive (RFC 1035 §2.3.3, RFC 4343).
struct Name {
  std::vector<std::string> labels;

  static Result<Name> from_text(std::string_view text);  // "a.b." or "a.b"; "\." and "\DDD" escapes
  std::string to_text() const;                           // always fully qualified, "." for root
  std::string key() const;                               // lower-cased text, for hash maps
  std::size_t wire_length() const;                       // uncompressed
  bool is_root() const { return labels.empty(); }
  bool is_subdomain_of(const Name& zone) const;  // true when equal, too
  Name parent() const;                           // root's parent is root
  Name prepend(std::string_view label) const;
  friend bool operator==(const Name& a, const Name& b);
};

struct ARdata {
  std::array<std::uint8_t, 4> addr{};
  bool operator==(const ARdata&) const = default;
};
struct AaaaRdata {
  std::array<std::uint8_t, 16> addr{};
  bool operator==(const AaaaRdata&) const = default;
};
struct NsRdata {
  Name host;
  bool operator==(const NsRdata&) const = default;
};
struct CnameRdata {
  Name target;
  bool operator==(const CnameRdata&) const = default;
};
struct SoaRdata {
  Name mname, rname;
  std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
  bool operator==(const SoaRdata&) const = default;
};
struct TxtRdata {
  std::vector<std::string> strings;
  bool operator==(const TxtRdata&) const = default;
};
struct CaaRdata {
  std::uint8_t flags = 0;
  std::string tag, value;
  bool operator==(const CaaRdata&) const = default;
};
struct HinfoRdata {
  std::string cpu, os;
  bool operator==(const HinfoRdata&) const = default;
};
// RFC 8945 §4.2. `other` carries the server time on BADTIME.
struct TsigRdata {
  Name algorithm;
  std::uint64_t time_signed = 0;  // 48 bits
  std::uint16_t fudge = 300;
  std::vector<std::uint8_t> mac;
  std::uint16_t original_id = 0;
  std::uint16_t error = 0;
  std::vector<std::uint8_t> other;
  bool operator==(const TsigRdata&) const = default;
};
struct OpaqueRdata {
  std::vector<std::uint8_t> data;
  bool operator==(const OpaqueRdata&) const = default;
};

using Rdata = std::variant<OpaqueRdata, ARdata, AaaaRdata, NsRdata, CnameRdata, SoaRdata, TxtRdata,
                           CaaRdata, HinfoRdata, TsigRdata>;

struct Record {
  Name name;
  RrType type = RrType::kA;
  std::uint16_t klass = kClassIn;
  std::uint32_t ttl = 0;
  Rdata rdata;
  bool operator==(const Record&) const = default;
};

struct Question {
  Name name;
  RrType type = RrType::kA;
  std::uint16_t klass = kClassIn;
  bool operator==(const Question&) const = default;
};

struct EdnsOption {
  std::uint16_t code = 0;
  std::vector<std::uint8_t> data;
  bool operator==(const EdnsOption&) const = default;
};
// The OPT pseudo-record (RFC 6891 §6), lifted out of the additional section.
struct Edns {
  std::uint16_t udp_size = 1232;
  std::uint8_t ext_rcode = 0;  // upper 8 bits of the 12-bit rcode
  std::uint8_t version = 0;
  bool dnssec_ok = false;
  std::vector<EdnsOption> options;
  bool operator==(const Edns&) const = default;
};

struct Header {
  std::uint16_t id = 0;
  bool qr = false, aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
  bool z = false;
  Opcode opcode = Opcode::kQuery;
  std::uint8_t rcode = 0;  // low 4 bits; see Message::full_rcode
  bool operator==(const Header&) const = default;
};

// OPT and TSIG are lifted out of `additional` into `edns` / `tsig`; serialize()
// writes them back as the last additional records (OPT, then TSIG, RFC 8945 §5.1).
struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<Record> answers, authority, additional;
  std::optional<Edns> edns;
  std::optional<Record> tsig;  // rdata is TsigRdata

  Rcode full_rcode() const;
  void set_rcode(Rcode r);  // sets ext_rcode too when edns is present
  bool operator==(const Message&) const = default;
};

inline constexpr std::size_t kHeaderSize = 12;

// Parse a whole message. Every read is bounds-checked: truncation, forward or
// looping compression pointers, labels > 63, names > 255, lying counts, OPT or
// TSIG in the wrong place and trailing garbage are all Code::kParse.
Result<Message> parse(std::span<const std::uint8_t> wire);
// Names are compressed where RFC 3597 §4 allows it (owner names, NS, CNAME, SOA).
std::vector<std::uint8_t> serialize(const Message& m);

// Presentation format of rdata (RFC 1035 §5.1; RFC 3597 "\# len hex" for others).
std::string rdata_to_text(const Rdata& rd);
Result<Rdata> rdata_from_text(RrType type, std::string_view text);
std::string record_to_text(const Record& r);  // "name. ttl IN TYPE rdata"

// --- TSIG (RFC 8945) -------------------------------------------------------
struct TsigKey {
  std::string name;       // key name, e.g. "xfr-key."
  std::string algorithm;  // "hmac-sha256" (also hmac-sha1, hmac-sha224, hmac-sha384, hmac-sha512)
  std::vector<std::uint8_t> secret;
  static Result<TsigKey> from_base64(std::string name, std::string algorithm,
                                     std::string_view secret_b64);
};

struct TsigSignOptions {
  std::uint64_t now = 0;  // unix seconds
  std::uint16_t fudge = 300;
  std::vector<std::uint8_t> prior_mac;  // request MAC (responses) or previous message MAC
  bool timers_only = false;             // RFC 8945 §5.3.1 subsequent messages
  std::uint16_t error = 0;              // TSIG error field (BADSIG etc.)
};
struct Signed {
  std::vector<std::uint8_t> wire;
  std::vector<std::uint8_t> mac;
};
// Appends a TSIG record to an unsigned wire message and bumps ARCOUNT.
Result<Signed> tsig_sign(std::span<const std::uint8_t> wire, const TsigKey& key,
                         const TsigSignOptions& opt);

struct TsigVerified {
  std::string key_name;
  std::vector<std::uint8_t> mac;  // to chain into the response / next message
  std::uint16_t error = 0;        // 0 ok, else BADSIG(16)/BADKEY(17)/BADTIME(18)
};
// Verifies the TSIG of a signed wire message against `keys`. A missing TSIG
// is kInvalidArgument; a bad signature is a value (error != 0), so a server can
// answer NOTAUTH with the right TSIG error.
Result<TsigVerified> tsig_verify(std::span<const std::uint8_t> wire, std::span<const TsigKey> keys,
                                 const TsigSignOptions& opt);

}  // namespace fc::dns

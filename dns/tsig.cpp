// TSIG (RFC 8945) with OpenSSL 3 EVP_MAC HMAC.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>

#include "dns/detail/message.hpp"
#include "dns/detail/wire.hpp"

namespace fc::dns {
namespace {

template <auto Free>
struct CFree {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using MacPtr = std::unique_ptr<EVP_MAC, CFree<&EVP_MAC_free>>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, CFree<&EVP_MAC_CTX_free>>;

Error crypto_error(const char* what) {
  std::string d = what;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    d += std::string(": ") + buf;
  }
  return make_error(Code::kCrypto, d);
}

std::string normalize_alg(std::string a) {
  for (auto& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!a.empty() && a.back() == '.') a.pop_back();
  return a;
}

// RFC 8945 §6 algorithm names → OpenSSL digest names.
const char* digest_for(const std::string& alg) {
  const std::string a = normalize_alg(alg);
  if (a == "hmac-sha256") return "SHA256";
  if (a == "hmac-sha1") return "SHA1";
  if (a == "hmac-sha224") return "SHA224";
  if (a == "hmac-sha384") return "SHA384";
  if (a == "hmac-sha512") return "SHA512";
  return nullptr;
}

Result<std::vector<std::uint8_t>> hmac(const TsigKey& key, std::span<const std::uint8_t> data) {
  const char* digest = digest_for(key.algorithm);
  if (digest == nullptr) return make_error(Code::kUnsupported, "TSIG algorithm " + key.algorithm);
  MacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return crypto_error("EVP_MAC_fetch");
  MacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) return crypto_error("EVP_MAC_CTX_new");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), key.secret.data(), key.secret.size(), params) != 1)
    return crypto_error("EVP_MAC_init");
  if (EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1)
    return crypto_error("EVP_MAC_update");
  std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
  std::size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1)
    return crypto_error("EVP_MAC_final");
  out.resize(len);
  return out;
}

void put16(std::vector<std::uint8_t>& v, std::uint16_t x) {
  v.push_back(static_cast<std::uint8_t>(x >> 8));
  v.push_back(static_cast<std::uint8_t>(x));
}

// RFC 8945 §4.3: [prior MAC] ‖ message ‖ TSIG variables (or timers only, §4.3.1).
std::vector<std::uint8_t> digest_input(std::span<const std::uint8_t> unsigned_msg,
                                       const Name& key_name, const Name& alg, const TsigRdata& t,
                                       const TsigSignOptions& opt) {
  std::vector<std::uint8_t> in;
  if (!opt.prior_mac.empty()) {
    put16(in, static_cast<std::uint16_t>(opt.prior_mac.size()));
    in.insert(in.end(), opt.prior_mac.begin(), opt.prior_mac.end());
  }
  in.insert(in.end(), unsigned_msg.begin(), unsigned_msg.end());
  if (!opt.timers_only) {
    detail::write_canonical_name(in, key_name);
    put16(in, kClassAny);
    put16(in, 0);
    put16(in, 0);  // TTL 0 (32 bits)
    detail::write_canonical_name(in, alg);
  }
  for (int s = 40; s >= 0; s -= 8) in.push_back(static_cast<std::uint8_t>(t.time_signed >> s));
  put16(in, t.fudge);
  if (!opt.timers_only) {
    put16(in, t.error);
    put16(in, static_cast<std::uint16_t>(t.other.size()));
    in.insert(in.end(), t.other.begin(), t.other.end());
  }
  return in;
}

const TsigKey* find_key(std::span<const TsigKey> keys, const Name& name, const Name& alg) {
  for (const auto& k : keys) {
    auto kn = Name::from_text(k.name);
    auto ka = Name::from_text(normalize_alg(k.algorithm));
    if (kn && ka && kn.value() == name && ka.value() == alg) return &k;
  }
  return nullptr;
}

}  // namespace

Result<TsigKey> TsigKey::from_base64(std::string name, std::string algorithm,
                                     std::string_view secret_b64) {
  if (digest_for(algorithm) == nullptr)
    return make_error(Code::kUnsupported, "TSIG algorithm " + algorithm);
  BOOST_OUTCOME_TRY(n, Name::from_text(name));
  (void)n;
  bool good = false;
  auto secret = detail::base64_decode_or_empty(secret_b64, &good);
  if (!good || secret.empty())
    return make_error(Code::kInvalidArgument, "TSIG secret is not base64");
  return TsigKey{std::move(name), normalize_alg(std::move(algorithm)), std::move(secret)};
}

Result<Signed> tsig_sign(std::span<const std::uint8_t> wire, const TsigKey& key,
                         const TsigSignOptions& opt) {
  if (wire.size() < kHeaderSize)
    return make_error(Code::kInvalidArgument, "message shorter than header");
  BOOST_OUTCOME_TRY(key_name, Name::from_text(key.name));
  BOOST_OUTCOME_TRY(alg, Name::from_text(normalize_alg(key.algorithm)));
  TsigRdata t;
  t.algorithm = alg;
  t.time_signed = opt.now & 0xFFFFFFFFFFFFull;
  t.fudge = opt.fudge;
  t.original_id = static_cast<std::uint16_t>((wire[0] << 8) | wire[1]);
  t.error = opt.error;
  if (opt.error == static_cast<std::uint16_t>(Rcode::kBadTime)) {
    for (int s = 40; s >= 0; s -= 8) t.other.push_back(static_cast<std::uint8_t>(opt.now >> s));
  }
  const auto input = digest_input(wire, key_name, alg, t, opt);
  BOOST_OUTCOME_TRY(mac, hmac(key, input));
  t.mac = mac;
  Signed out{std::vector<std::uint8_t>(wire.begin(), wire.end()), mac};
  const std::uint16_t ar = static_cast<std::uint16_t>(((out.wire[10] << 8) | out.wire[11]) + 1);
  out.wire[10] = static_cast<std::uint8_t>(ar >> 8);
  out.wire[11] = static_cast<std::uint8_t>(ar);
  detail::append_record(out.wire,
                        Record{key_name, RrType::kTsig, kClassAny, 0, Rdata{std::move(t)}});
  return out;
}

Result<TsigVerified> tsig_verify(std::span<const std::uint8_t> wire, std::span<const TsigKey> keys,
                                 const TsigSignOptions& opt) {
  BOOST_OUTCOME_TRY(p, detail::parse_detailed(wire));
  if (!p.message.tsig) return make_error(Code::kInvalidArgument, "message is not TSIG-signed");
  const Record& rec = *p.message.tsig;
  const auto& t = std::get<TsigRdata>(rec.rdata);
  TsigVerified v{rec.name.to_text(), {}, 0};
  const TsigKey* key = find_key(keys, rec.name, t.algorithm);
  if (key == nullptr) {
    v.error = static_cast<std::uint16_t>(Rcode::kBadKey);
    return v;
  }
  // The message as it was signed: TSIG removed, ARCOUNT back, original ID.
  std::vector<std::uint8_t> msg(wire.begin(),
                                wire.begin() + static_cast<std::ptrdiff_t>(p.tsig_start));
  const std::uint16_t ar = static_cast<std::uint16_t>(((msg[10] << 8) | msg[11]) - 1);
  msg[10] = static_cast<std::uint8_t>(ar >> 8);
  msg[11] = static_cast<std::uint8_t>(ar);
  msg[0] = static_cast<std::uint8_t>(t.original_id >> 8);
  msg[1] = static_cast<std::uint8_t>(t.original_id);
  BOOST_OUTCOME_TRY(expect, hmac(*key, digest_input(msg, rec.name, t.algorithm, t, opt)));
  // RFC 8945 §5.2.2.1: truncation is allowed down to max(10, half the length).
  const std::size_t min_len = std::max<std::size_t>(10, expect.size() / 2);
  if (t.mac.size() < min_len || t.mac.size() > expect.size() ||
      CRYPTO_memcmp(t.mac.data(), expect.data(), t.mac.size()) != 0) {
    v.error = static_cast<std::uint16_t>(Rcode::kBadSig);
    return v;
  }
  v.mac = t.mac;
  const std::uint64_t now = opt.now;
  const std::uint64_t skew = now > t.time_signed ? now - t.time_signed : t.time_signed - now;
  if (skew > t.fudge) v.error = static_cast<std::uint16_t>(Rcode::kBadTime);
  return v;
}

namespace detail {

std::vector<std::uint8_t> base64_decode_or_empty(std::string_view s, bool* ok) {
  static constexpr std::string_view kAlpha =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<std::uint8_t> out;
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t pad = 0;
  *ok = false;
  for (char c : s) {
    if (c == '=') {
      ++pad;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    const auto i = kAlpha.find(c);
    if (i == std::string_view::npos || pad > 0) return {};
    acc = (acc << 6) | static_cast<std::uint32_t>(i);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
    }
  }
  if (pad > 2) return {};
  *ok = true;
  return out;
}

std::string base64_encode(std::span<const std::uint8_t> b) {
  static constexpr char kAlpha[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < b.size(); i += 3) {
    const std::uint32_t v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlpha[(v >> s) & 63]);
  }
  if (i < b.size()) {
    std::uint32_t v = b[i] << 16;
    if (i + 1 < b.size()) v |= b[i + 1] << 8;
    out.push_back(kAlpha[(v >> 18) & 63]);
    out.push_back(kAlpha[(v >> 12) & 63]);
    out.push_back(i + 1 < b.size() ? kAlpha[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace detail
}  // namespace fc::dns

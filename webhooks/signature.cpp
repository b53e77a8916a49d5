// Standard Webhooks signatures: HMAC-SHA256 through OpenSSL 3's EVP_MAC, one
// context per key set up once (Signer) and restarted per message.
#include "webhooks/signature.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>

namespace fc::webhooks {

namespace {
constexpr std::string_view kPrefix = "whsec_";
constexpr std::size_t kSecretBytes = 24;
}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > 4096) return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool pad = c == '=' && i + 2 >= text.size();
    if (!pad && !std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/')
      return std::nullopt;
    if (!pad && i > 0 && text[i - 1] == '=') return std::nullopt;
  }
  std::vector<std::uint8_t> out(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the bytes that the padding stands for.
  std::size_t pad = 0;
  if (text.ends_with("==")) {
    pad = 2;
  } else if (text.ends_with("=")) {
    pad = 1;
  }
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

Result<std::string> new_secret() {
  std::array<unsigned char, kSecretBytes> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
    return make_error(Code::kCrypto, "RAND_bytes failed");
  return std::string(kPrefix) +
         base64_encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

Result<std::vector<std::uint8_t>> secret_key(std::string_view secret) {
  if (!secret.starts_with(kPrefix))
    return make_error(Code::kInvalidArgument, "a webhook secret starts with whsec_");
  auto key = base64_decode(secret.substr(kPrefix.size()));
  if (!key || key->size() < 16 || key->size() > 64)
    return make_error(Code::kInvalidArgument,
                      "a webhook secret is whsec_ and the base64 of 16 to 64 bytes");
  return std::move(*key);
}

namespace {
struct MacFree {
  void operator()(EVP_MAC* m) const noexcept { EVP_MAC_free(m); }
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacFree>;

// The HMAC implementation, fetched once per process (a fetch takes the
// provider store's lock and its property query: the cost a one-shot HMAC()
// paid per message).
EVP_MAC* hmac_algorithm() {
  static const std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  return mac.get();
}
}  // namespace

struct Signer::Impl {
  std::vector<MacCtxPtr> keys;  // each initialised with its key and SHA-256
};

Signer::Signer() : impl_(std::make_unique<Impl>()) {}
Signer::~Signer() = default;
Signer::Signer(Signer&&) noexcept = default;
Signer& Signer::operator=(Signer&&) noexcept = default;

Result<Signer> Signer::create(const std::vector<std::string>& secrets) {
  EVP_MAC* mac = hmac_algorithm();
  if (mac == nullptr) return make_error(Code::kCrypto, "HMAC is not available");
  Signer out;
  for (const auto& secret : secrets) {
    BOOST_OUTCOME_TRY(key, secret_key(secret));
    MacCtxPtr ctx(EVP_MAC_CTX_new(mac));
    if (!ctx) return make_error(Code::kCrypto, "EVP_MAC_CTX_new failed");
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1)
      return make_error(Code::kCrypto, "HMAC-SHA256 set-up failed");
    out.impl_->keys.push_back(std::move(ctx));
  }
  return out;
}

std::size_t Signer::size() const { return impl_ ? impl_->keys.size() : 0; }  // 0 once moved from

Result<std::string> Signer::header(std::string_view msg_id, std::int64_t timestamp_s,
                                   std::string_view body, std::size_t keys) {
  keys = std::min(keys, size());
  const std::string ts = std::to_string(timestamp_s);
  std::string out;
  out.reserve(48 * keys);
  for (std::size_t k = 0; k < keys; ++k) {
    EVP_MAC_CTX* ctx = impl_->keys[k].get();
    // A null key restarts the MAC with the key it was set up with (no new
    // key schedule); the signed content is `id.timestamp.body`, fed in parts.
    const auto feed = [ctx](std::string_view part) {
      return EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(part.data()),
                            part.size()) == 1;
    };
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    std::size_t len = 0;
    if (EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1 || !feed(msg_id) || !feed(".") || !feed(ts) ||
        !feed(".") || !feed(body) || EVP_MAC_final(ctx, mac.data(), &len, mac.size()) != 1)
      return make_error(Code::kCrypto, "HMAC-SHA256 failed");
    if (!out.empty()) out += ' ';
    out += "v1,";
    out += base64_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), len));
  }
  return out;
}

Result<std::string> sign(std::string_view secret, std::string_view msg_id, std::int64_t timestamp_s,
                         std::string_view body) {
  BOOST_OUTCOME_TRY(signer, Signer::create({std::string(secret)}));
  return signer.header(msg_id, timestamp_s, body, 1);
}

Result<std::string> signature_header(const std::vector<std::string>& secrets,
                                     std::string_view msg_id, std::int64_t timestamp_s,
                                     std::string_view body) {
  BOOST_OUTCOME_TRY(signer, Signer::create(secrets));
  return signer.header(msg_id, timestamp_s, body, secrets.size());
}

}  // namespace fc::webhooks

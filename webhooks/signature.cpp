// Standard Webhooks signatures: HMAC-SHA256 through OpenSSL's one-shot HMAC.
#include "webhooks/signature.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cctype>

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

Result<std::string> sign(std::string_view secret, std::string_view msg_id, std::int64_t timestamp_s,
                         std::string_view body) {
  BOOST_OUTCOME_TRY(key, secret_key(secret));
  std::string content;
  content.reserve(msg_id.size() + body.size() + 24);
  content.append(msg_id).append(".").append(std::to_string(timestamp_s)).append(".").append(body);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac.data(),
           &len) == nullptr)
    return make_error(Code::kCrypto, "HMAC-SHA256 failed");
  return "v1," + base64_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), len));
}

Result<std::string> signature_header(const std::vector<std::string>& secrets,
                                     std::string_view msg_id, std::int64_t timestamp_s,
                                     std::string_view body) {
  std::string out;
  for (const auto& s : secrets) {
    BOOST_OUTCOME_TRY(sig, sign(s, msg_id, timestamp_s, body));
    if (!out.empty()) out += ' ';
    out += sig;
  }
  return out;
}

}  // namespace fc::webhooks

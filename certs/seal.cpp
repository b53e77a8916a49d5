// AES-256-GCM sealing of private keys at rest: nonce(12) ‖ ciphertext ‖ tag(16).
#include <openssl/rand.h>

#include "certs/detail/ossl.hpp"
#include "certs/pki.hpp"

namespace fc::certs {
using namespace detail;
namespace {

constexpr std::size_t kNonce = 12;
constexpr std::size_t kTag = 16;

Result<EvpCipherCtxPtr> gcm_ctx(std::span<const std::uint8_t> key32,
                                std::span<const std::uint8_t> nonce, bool encrypt) {
  if (key32.size() != 32)
    return make_error(Code::kInvalidArgument, "AES-256-GCM key must be 32 bytes");
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return ossl_error("EVP_CIPHER_CTX_new");
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key32.data(), nonce.data(),
                        encrypt ? 1 : 0) != 1)
    return ossl_error("EVP_CipherInit_ex(aes-256-gcm)");
  return ctx;
}

}  // namespace

Result<std::string> seal_with_nonce(std::span<const std::uint8_t> key32,
                                    std::span<const std::uint8_t> nonce12,
                                    std::string_view plaintext) {
  if (nonce12.size() != kNonce)
    return make_error(Code::kInvalidArgument, "GCM nonce must be 12 bytes");
  BOOST_OUTCOME_TRY(ctx, gcm_ctx(key32, nonce12, true));
  std::string out(reinterpret_cast<const char*>(nonce12.data()), kNonce);
  out.resize(kNonce + plaintext.size() + kTag);
  auto* o = reinterpret_cast<unsigned char*>(out.data()) + kNonce;
  int len = 0;
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(ctx.get(), o, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1)
    return ossl_error("EVP_EncryptUpdate");
  int fin = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), o + len, &fin) != 1) return ossl_error("EVP_EncryptFinal_ex");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, o + plaintext.size()) != 1)
    return ossl_error("EVP_CTRL_GCM_GET_TAG");
  return out;
}

Result<std::string> seal(std::span<const std::uint8_t> key32, std::string_view plaintext) {
  std::uint8_t nonce[kNonce];
  if (RAND_bytes(nonce, kNonce) != 1) return ossl_error("RAND_bytes");
  return seal_with_nonce(key32, nonce, plaintext);
}

Result<std::string> open(std::span<const std::uint8_t> key32, std::string_view sealed) {
  if (sealed.size() < kNonce + kTag) return make_error(Code::kCrypto, "sealed box too short");
  const auto* s = reinterpret_cast<const unsigned char*>(sealed.data());
  BOOST_OUTCOME_TRY(ctx, gcm_ctx(key32, {s, kNonce}, false));
  const std::size_t n = sealed.size() - kNonce - kTag;
  std::string out(n, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  if (n > 0 && EVP_DecryptUpdate(ctx.get(), o, &len, s + kNonce, static_cast<int>(n)) != 1)
    return ossl_error("EVP_DecryptUpdate");
  std::uint8_t tag[kTag];
  std::copy(s + kNonce + n, s + sealed.size(), tag);
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag) != 1)
    return ossl_error("EVP_CTRL_GCM_SET_TAG");
  int fin = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), o + len, &fin) != 1) {
    ERR_clear_error();
    return make_error(Errc::kSealBroken,
                      "sealed box failed authentication (wrong key or tampered)");
  }
  return out;
}

}  // namespace fc::certs

// sha256_hex (storage/db.hpp).
#include "storage/db.hpp"

#include <openssl/evp.h>

#include <cstdlib>

namespace fc::storage {

namespace {
// One fetched SHA-256 and one context per thread: EVP_Digest would fetch the
// algorithm (a lock) and allocate a context on every call, and a token is
// hashed on every authenticated request (docs/api-server.md "Hot path").
struct Sha256 {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Sha256() {
    if (md == nullptr || ctx == nullptr) std::abort();
  }
  ~Sha256() {
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
  }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
};
}  // namespace

std::string sha256_hex(std::string_view data) {
  thread_local Sha256 sha;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // Fails only without memory or with a broken OpenSSL: not recoverable.
  if (EVP_DigestInit_ex2(sha.ctx, sha.md, nullptr) != 1 ||
      EVP_DigestUpdate(sha.ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(sha.ctx, md, &len) != 1)
    std::abort();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace fc::storage

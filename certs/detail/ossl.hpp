// RAII handles for OpenSSL objects and the one way to turn an OpenSSL failure
// into an fc::Error (STYLE.md "RAII", "Errors"). Never included outside certs/.
#pragma once
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace fc::certs::detail {

template <auto Free>
struct CFree {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, CFree<&EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, CFree<&EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, CFree<&EVP_MD_CTX_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CFree<&EVP_CIPHER_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, CFree<&X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, CFree<&X509_REQ_free>>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, CFree<&X509_EXTENSION_free>>;
using BioPtr = std::unique_ptr<BIO, CFree<&BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, CFree<&BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, CFree<&ECDSA_SIG_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, CFree<&GENERAL_NAMES_free>>;
using Asn1OctetPtr = std::unique_ptr<ASN1_OCTET_STRING, CFree<&ASN1_OCTET_STRING_free>>;

inline void free_ext_stack(STACK_OF(X509_EXTENSION) * s) {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
using ExtStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), CFree<&free_ext_stack>>;

// Drains the thread's OpenSSL error queue into the detail, so that no stale
// error is blamed on the next, unrelated call.
inline Error ossl_error(std::string_view what) {
  std::string detail(what);
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    detail += "; ";
    detail += buf;
  }
  return make_error(Code::kCrypto, std::move(detail));
}

inline Result<BioPtr> mem_bio(std::string_view data) {
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) return ossl_error("BIO_new_mem_buf");
  return bio;
}

inline std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

// Loads a private key (PKCS#8 or traditional PEM).
Result<EvpPkeyPtr> load_private_key(std::string_view pem);
// PKCS#8 PEM of a private key.
Result<std::string> private_key_pem(EVP_PKEY* key);
Result<EvpPkeyPtr> generate_ec_p256();
Result<std::vector<std::uint8_t>> sha256(std::span<const std::uint8_t> data);
Result<X509Ptr> parse_cert_pem(std::string_view pem);
Result<std::string> cert_pem(X509* cert);
// DER of the first certificate of a PEM chain.
Result<std::vector<std::uint8_t>> leaf_der(std::string_view chain_pem);
Result<X509ExtPtr> make_san_extension(const std::vector<std::string>& names);

}  // namespace fc::certs::detail

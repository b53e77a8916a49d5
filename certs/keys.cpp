// Key generation, PEM import/export and CSRs (EVP APIs only).
#include <openssl/pem.h>

#include "certs/detail/ossl.hpp"
#include "certs/pki.hpp"

namespace fc::certs {
namespace detail {

Result<EvpPkeyPtr> load_private_key(std::string_view pem) {
  BOOST_OUTCOME_TRY(bio, mem_bio(pem));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return ossl_error("PEM_read_bio_PrivateKey: not a private key PEM");
  return key;
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return ossl_error("BIO_new");
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return ossl_error("PEM_write_bio_PKCS8PrivateKey");
  return bio_contents(bio.get());
}

Result<EvpPkeyPtr> generate_ec_p256() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return ossl_error("EVP_PKEY_Q_keygen(EC P-256)");
  return key;
}

Result<std::vector<std::uint8_t>> sha256(std::span<const std::uint8_t> data) {
  std::vector<std::uint8_t> out(32);
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &n, EVP_sha256(), nullptr) != 1 || n != 32)
    return ossl_error("EVP_Digest(SHA-256)");
  return out;
}

Result<X509Ptr> parse_cert_pem(std::string_view pem) {
  BOOST_OUTCOME_TRY(bio, mem_bio(pem));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return ossl_error("PEM_read_bio_X509: not a certificate PEM");
  return cert;
}

Result<std::string> cert_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return ossl_error("BIO_new");
  if (PEM_write_bio_X509(bio.get(), cert) != 1) return ossl_error("PEM_write_bio_X509");
  return bio_contents(bio.get());
}

}  // namespace detail

using namespace detail;

Result<std::string> generate_key_pem(KeyType type) {
  EvpPkeyPtr key;
  if (type == KeyType::kRsa2048) {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
    if (!key) return ossl_error("EVP_PKEY_Q_keygen(RSA 2048)");
  } else {
    BOOST_OUTCOME_TRY(k, generate_ec_p256());
    key = std::move(k);
  }
  return private_key_pem(key.get());
}

namespace {

Result<X509ExtPtr> san_extension(const std::vector<std::string>& names) {
  GeneralNamesPtr gens(GENERAL_NAMES_new());
  if (!gens) return ossl_error("GENERAL_NAMES_new");
  for (const auto& name : names) {
    GENERAL_NAME* gen = GENERAL_NAME_new();
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    if (gen == nullptr || ia5 == nullptr ||
        ASN1_STRING_set(ia5, name.data(), static_cast<int>(name.size())) != 1) {
      GENERAL_NAME_free(gen);
      ASN1_IA5STRING_free(ia5);
      return ossl_error("GENERAL_NAME for SAN");
    }
    GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
    if (sk_GENERAL_NAME_push(gens.get(), gen) == 0) {
      GENERAL_NAME_free(gen);
      return ossl_error("sk_GENERAL_NAME_push");
    }
  }
  X509ExtPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, gens.get()));
  if (!ext) return ossl_error("X509V3_EXT_i2d(subjectAltName)");
  return ext;
}

}  // namespace

namespace detail {
Result<X509ExtPtr> make_san_extension(const std::vector<std::string>& names) {
  return san_extension(names);
}
}  // namespace detail

Result<std::vector<std::uint8_t>> make_csr_der(std::string_view key_pem,
                                               const std::vector<std::string>& dns_names) {
  if (dns_names.empty()) return make_error(Code::kInvalidArgument, "CSR needs at least one name");
  BOOST_OUTCOME_TRY(key, load_private_key(key_pem));
  X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1) return ossl_error("X509_REQ_new");
  X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  const auto& cn = dns_names.front();
  if (cn.size() <= 64 && X509_NAME_add_entry_by_NID(
                             subject, NID_commonName, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1)
    return ossl_error("X509_NAME_add_entry_by_NID(CN)");
  BOOST_OUTCOME_TRY(ext, san_extension(dns_names));
  ExtStackPtr exts(sk_X509_EXTENSION_new_null());
  if (!exts || sk_X509_EXTENSION_push(exts.get(), ext.get()) == 0)
    return ossl_error("sk_X509_EXTENSION_push");
  ext.release();  // owned by the stack now
  if (X509_REQ_set_pubkey(req.get(), key.get()) != 1) return ossl_error("X509_REQ_set_pubkey");
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1)
    return ossl_error("X509_REQ_add_extensions");
  if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) return ossl_error("X509_REQ_sign");
  unsigned char* der = nullptr;
  const int n = i2d_X509_REQ(req.get(), &der);
  if (n <= 0) return ossl_error("i2d_X509_REQ");
  std::vector<std::uint8_t> out(der, der + n);
  OPENSSL_free(der);
  return out;
}

}  // namespace fc::certs

// The internal issuer: a local root (ECDSA P-256, 10 years) signing 90-day
// serverAuth leaves. For development and for names no public CA may certify.
#include <openssl/rand.h>

#include <algorithm>

#include "certs/detail/ossl.hpp"
#include "certs/pki.hpp"

namespace fc::certs {
using namespace detail;
namespace {

using std::chrono::hours;

Status set_serial(X509* cert) {
  unsigned char buf[16];
  if (RAND_bytes(buf, sizeof buf) != 1) return ossl_error("RAND_bytes(serial)");
  buf[0] &= 0x7F;  // positive, RFC 5280 §4.1.2.2
  buf[0] |= 0x01;  // and full length
  BnPtr bn(BN_bin2bn(buf, sizeof buf, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr)
    return ossl_error("BN_to_ASN1_INTEGER(serial)");
  return ok();
}

Status set_validity(X509* cert, SysTime from, SysTime to) {
  if (ASN1_TIME_set(X509_getm_notBefore(cert), std::chrono::system_clock::to_time_t(from)) ==
          nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), std::chrono::system_clock::to_time_t(to)) == nullptr)
    return ossl_error("ASN1_TIME_set");
  return ok();
}

Status add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    return ossl_error(std::string("X509 extension ") + OBJ_nid2sn(nid));
  return ok();
}

Result<X509Ptr> new_cert(EVP_PKEY* subject_key, SysTime from, SysTime to) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return ossl_error("X509_new");
  BOOST_OUTCOME_TRY(set_serial(cert.get()));
  BOOST_OUTCOME_TRY(set_validity(cert.get(), from, to));
  if (X509_set_pubkey(cert.get(), subject_key) != 1) return ossl_error("X509_set_pubkey");
  return cert;
}

Status set_cn(X509_NAME* name, std::string_view cn) {
  std::string s(cn.substr(0, 64));
  if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(s.c_str()), -1, -1, 0) != 1)
    return ossl_error("X509_NAME_add_entry_by_NID(CN)");
  return ok();
}

Result<std::vector<std::string>> csr_dns_names(X509_REQ* req) {
  ExtStackPtr exts(X509_REQ_get_extensions(req));
  std::vector<std::string> names;
  for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts.get()); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    GeneralNamesPtr gens(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
    for (int j = 0; gens && j < sk_GENERAL_NAME_num(gens.get()); ++j) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(gens.get(), j);
      if (g->type != GEN_DNS) continue;
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                         static_cast<std::size_t>(ASN1_STRING_length(g->d.dNSName)));
    }
  }
  if (names.empty()) return make_error(Code::kInvalidArgument, "CSR has no dNSName SAN");
  return names;
}

}  // namespace

Result<InternalCa> create_internal_ca(SysTime now, std::string_view common_name) {
  BOOST_OUTCOME_TRY(key, generate_ec_p256());
  BOOST_OUTCOME_TRY(cert, new_cert(key.get(), now - hours(1), now + hours(24 * 3653)));
  BOOST_OUTCOME_TRY(set_cn(X509_get_subject_name(cert.get()), common_name));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1)
    return ossl_error("X509_set_issuer_name");
  BOOST_OUTCOME_TRY(add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  BOOST_OUTCOME_TRY(add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  BOOST_OUTCOME_TRY(add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return ossl_error("X509_sign(root)");
  BOOST_OUTCOME_TRY(cert_text, cert_pem(cert.get()));
  BOOST_OUTCOME_TRY(key_text, private_key_pem(key.get()));
  return InternalCa{std::move(cert_text), std::move(key_text)};
}

Result<std::string> issue_from_csr(const InternalCa& ca, std::span<const std::uint8_t> csr_der,
                                   SysTime now, std::chrono::seconds validity) {
  if (validity.count() <= 0) return make_error(Code::kInvalidArgument, "validity must be positive");
  const unsigned char* p = csr_der.data();
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(csr_der.size())));
  if (!req) return ossl_error("d2i_X509_REQ: malformed CSR");
  EVP_PKEY* req_key = X509_REQ_get0_pubkey(req.get());
  if (req_key == nullptr || X509_REQ_verify(req.get(), req_key) != 1)
    return ossl_error("CSR signature does not verify");
  BOOST_OUTCOME_TRY(names, csr_dns_names(req.get()));
  BOOST_OUTCOME_TRY(root, parse_cert_pem(ca.root_cert_pem));
  BOOST_OUTCOME_TRY(root_key, load_private_key(ca.root_key_pem));
  // Backdated for clock skew: an hour, or a tenth of a short lifetime.
  const auto backdate = std::min<std::chrono::seconds>(hours(1), validity / 10);
  BOOST_OUTCOME_TRY(leaf, new_cert(req_key, now - backdate, now + validity));
  BOOST_OUTCOME_TRY(set_cn(X509_get_subject_name(leaf.get()), names.front()));
  if (X509_set_issuer_name(leaf.get(), X509_get_subject_name(root.get())) != 1)
    return ossl_error("X509_set_issuer_name");
  BOOST_OUTCOME_TRY(add_ext(leaf.get(), root.get(), NID_basic_constraints, "critical,CA:FALSE"));
  BOOST_OUTCOME_TRY(
      add_ext(leaf.get(), root.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment"));
  BOOST_OUTCOME_TRY(add_ext(leaf.get(), root.get(), NID_ext_key_usage, "serverAuth"));
  BOOST_OUTCOME_TRY(add_ext(leaf.get(), root.get(), NID_subject_key_identifier, "hash"));
  BOOST_OUTCOME_TRY(add_ext(leaf.get(), root.get(), NID_authority_key_identifier, "keyid:always"));
  BOOST_OUTCOME_TRY(san, make_san_extension(names));
  if (X509_add_ext(leaf.get(), san.get(), -1) != 1) return ossl_error("X509_add_ext(SAN)");
  if (X509_sign(leaf.get(), root_key.get(), EVP_sha256()) <= 0)
    return ossl_error("X509_sign(leaf)");
  BOOST_OUTCOME_TRY(leaf_text, cert_pem(leaf.get()));
  return leaf_text + ca.root_cert_pem;
}

Result<IssuedCert> issue_with_new_key(const InternalCa& ca, const std::vector<std::string>& names,
                                      SysTime now, KeyType type, std::chrono::seconds validity) {
  BOOST_OUTCOME_TRY(key_pem, generate_key_pem(type));
  BOOST_OUTCOME_TRY(csr, make_csr_der(key_pem, names));
  BOOST_OUTCOME_TRY(chain, issue_from_csr(ca, csr, now, validity));
  return IssuedCert{std::move(chain), std::move(key_pem)};
}

}  // namespace fc::certs

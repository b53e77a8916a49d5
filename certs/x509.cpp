// Facts about certificates in a PEM chain (validity, SANs, issuer, ARI id).
#include <openssl/pem.h>

#include <algorithm>
#include <ctime>

#include "certs/detail/ossl.hpp"
#include "certs/pki.hpp"

namespace fc::certs {
using namespace detail;
namespace {

constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
constexpr std::string_view kEnd = "-----END CERTIFICATE-----";

Result<SysTime> asn1_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return ossl_error("ASN1_TIME_to_tm");
  // SysTime counts nanoseconds in 64 bits (years 1678-2262): RFC 5280's
  // 99991231235959Z ("no well-defined expiration") is clamped to the last
  // representable second instead of overflowing.
  constexpr std::time_t kLimit =
      std::chrono::duration_cast<std::chrono::seconds>(SysTime::duration::max()).count() - 1;
  return std::chrono::system_clock::from_time_t(
      std::clamp<std::time_t>(timegm(&tm), -kLimit, kLimit));
}

std::string name_cn(const X509_NAME* name) {
  const int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  if (s == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

std::vector<std::string> dns_sans(X509* cert) {
  std::vector<std::string> out;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
    if (g->type != GEN_DNS) continue;
    const ASN1_IA5STRING* s = g->d.dNSName;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
  }
  return out;
}

// Content octets of the serial's DER INTEGER (RFC 9773 §4.1 wants these,
// including a leading zero byte that keeps the number positive).
Result<std::vector<std::uint8_t>> serial_der_content(X509* cert) {
  unsigned char* der = nullptr;
  const int n = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &der);
  if (n <= 2) return ossl_error("i2d_ASN1_INTEGER(serial)");
  std::vector<std::uint8_t> tlv(der, der + n);
  OPENSSL_free(der);
  std::size_t hdr = 2;
  if (tlv[1] & 0x80) hdr += tlv[1] & 0x7F;  // long-form length
  if (hdr >= tlv.size()) return make_error(Code::kParse, "serial: bad DER length");
  return std::vector<std::uint8_t>(tlv.begin() + static_cast<long>(hdr), tlv.end());
}

std::string hex_upper(std::span<const std::uint8_t> b) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string s;
  for (auto c : b) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

}  // namespace

Result<std::vector<std::string>> split_pem_chain(std::string_view pem) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t b = pem.find(kBegin, pos);
    if (b == std::string_view::npos) break;
    const std::size_t e = pem.find(kEnd, b);
    if (e == std::string_view::npos)
      return make_error(Code::kParse, "PEM chain: unterminated block");
    std::string block(pem.substr(b, e + kEnd.size() - b));
    block += '\n';
    out.push_back(std::move(block));
    pos = e + kEnd.size();
  }
  if (out.empty()) return make_error(Code::kParse, "PEM chain: no certificate");
  return out;
}

Result<CertInfo> parse_leaf(std::string_view chain_pem) {
  BOOST_OUTCOME_TRY(blocks, split_pem_chain(chain_pem));
  BOOST_OUTCOME_TRY(cert, parse_cert_pem(blocks.front()));
  CertInfo info;
  BOOST_OUTCOME_TRY(nb, asn1_time(X509_get0_notBefore(cert.get())));
  BOOST_OUTCOME_TRY(na, asn1_time(X509_get0_notAfter(cert.get())));
  info.not_before = nb;
  info.not_after = na;
  info.dns_names = dns_sans(cert.get());
  info.subject_cn = name_cn(X509_get_subject_name(cert.get()));
  info.issuer_cn = name_cn(X509_get_issuer_name(cert.get()));
  BOOST_OUTCOME_TRY(serial, serial_der_content(cert.get()));
  info.serial_hex = hex_upper(serial);
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(cert.get());
  if (aki != nullptr) {
    std::span<const std::uint8_t> kid(ASN1_STRING_get0_data(aki),
                                      static_cast<std::size_t>(ASN1_STRING_length(aki)));
    info.ari_id = ari_cert_id(kid, serial);
  }
  ERR_clear_error();  // X509_get0_authority_key_id may leave a "no extension" entry
  return info;
}

namespace detail {
Result<std::vector<std::uint8_t>> leaf_der(std::string_view chain_pem) {
  BOOST_OUTCOME_TRY(cert, parse_cert_pem(chain_pem));
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert.get(), &der);
  if (n <= 0) return ossl_error("i2d_X509");
  std::vector<std::uint8_t> out(der, der + n);
  OPENSSL_free(der);
  return out;
}
}  // namespace detail

Result<std::string> top_issuer_cn(std::string_view chain_pem) {
  BOOST_OUTCOME_TRY(blocks, split_pem_chain(chain_pem));
  BOOST_OUTCOME_TRY(cert, parse_cert_pem(blocks.back()));
  return name_cn(X509_get_issuer_name(cert.get()));
}

}  // namespace fc::certs

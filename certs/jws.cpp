// ES256 JWS and friends for ACME (RFC 7515, 7517, 7518, 7638, 8555 §6.2).
#include "certs/detail/jws.hpp"

#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include "certs/pki.hpp"

namespace fc::certs::detail {
namespace {

using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, CFree<&OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, CFree<&OSSL_PARAM_free>>;

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Result<std::string> bn_param_b64(EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return ossl_error("EVP_PKEY_get_bn_param");
  BnPtr bn(raw);
  std::vector<std::uint8_t> buf(32);
  if (BN_bn2binpad(bn.get(), buf.data(), 32) != 32) return ossl_error("BN_bn2binpad");
  return base64url_encode(buf);
}

}  // namespace

Status EcKey::load_jwk() {
  char group[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key_.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &len) != 1)
    return ossl_error("not an EC key");
  if (std::string_view(group) != "prime256v1")
    return make_error(Code::kInvalidArgument, "ES256 needs a P-256 key, got " + std::string(group));
  BOOST_OUTCOME_TRY(x, bn_param_b64(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X));
  BOOST_OUTCOME_TRY(y, bn_param_b64(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y));
  // Members in lexicographic order: nlohmann::json objects are sorted maps.
  jwk_ = nlohmann::json{{"crv", "P-256"}, {"kty", "EC"}, {"x", x}, {"y", y}};
  return ok();
}

Result<EcKey> EcKey::generate() {
  BOOST_OUTCOME_TRY(k, generate_ec_p256());
  EcKey key(std::move(k));
  BOOST_OUTCOME_TRY(key.load_jwk());
  return key;
}

Result<EcKey> EcKey::from_pem(std::string_view pem) {
  BOOST_OUTCOME_TRY(k, load_private_key(pem));
  EcKey key(std::move(k));
  BOOST_OUTCOME_TRY(key.load_jwk());
  return key;
}

Result<EcKey> EcKey::from_jwk(std::string_view x, std::string_view y, std::string_view d) {
  BOOST_OUTCOME_TRY(xb, base64url_decode(x));
  BOOST_OUTCOME_TRY(yb, base64url_decode(y));
  if (xb.size() != 32 || yb.size() != 32)
    return make_error(Code::kInvalidArgument, "P-256 coordinates must be 32 bytes");
  std::vector<std::uint8_t> point{0x04};
  point.insert(point.end(), xb.begin(), xb.end());
  point.insert(point.end(), yb.begin(), yb.end());
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) return ossl_error("OSSL_PARAM_BLD_new");
  BnPtr priv;
  if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1)
    return ossl_error("OSSL_PARAM_BLD_push");
  if (!d.empty()) {
    BOOST_OUTCOME_TRY(db, base64url_decode(d));
    priv.reset(BN_bin2bn(db.data(), static_cast<int>(db.size()), nullptr));
    if (!priv || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) != 1)
      return ossl_error("OSSL_PARAM_BLD_push_BN");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1)
    return ossl_error("EVP_PKEY_fromdata_init");
  EVP_PKEY* raw = nullptr;
  const int selection = d.empty() ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1)
    return ossl_error("EVP_PKEY_fromdata");
  EcKey key{EvpPkeyPtr(raw)};
  BOOST_OUTCOME_TRY(key.load_jwk());
  return key;
}

Result<std::string> EcKey::to_pem() const { return private_key_pem(key_.get()); }

std::string EcKey::thumbprint() const {
  auto t = jwk_thumbprint(jwk_);
  if (!t) std::abort();  // our own JWK always has the members; a bug otherwise
  return t.value();
}

Result<std::string> EcKey::sign_es256(std::string_view input) const {
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  size_t len = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &len, bytes(input).data(), input.size()) != 1)
    return ossl_error("EVP_DigestSignInit");
  std::vector<std::uint8_t> der(len);
  if (EVP_DigestSign(md.get(), der.data(), &len, bytes(input).data(), input.size()) != 1)
    return ossl_error("EVP_DigestSign");
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  if (!sig) return ossl_error("d2i_ECDSA_SIG");
  std::string out(64, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), o, 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), o + 32, 32) != 32)
    return ossl_error("BN_bn2binpad(R|S)");
  return out;
}

Result<bool> EcKey::verify_es256(std::string_view input, std::string_view sig64) const {
  if (sig64.size() != 64) return false;
  const auto* s = reinterpret_cast<const unsigned char*>(sig64.data());
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(s, 32, nullptr);
  BIGNUM* ss = BN_bin2bn(s + 32, 32, nullptr);
  if (!sig || r == nullptr || ss == nullptr || ECDSA_SIG_set0(sig.get(), r, ss) != 1) {
    BN_free(r);
    BN_free(ss);
    return ossl_error("ECDSA_SIG_set0");
  }
  unsigned char* der = nullptr;
  const int n = i2d_ECDSA_SIG(sig.get(), &der);
  if (n <= 0) return ossl_error("i2d_ECDSA_SIG");
  std::vector<std::uint8_t> d(der, der + n);
  OPENSSL_free(der);
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1)
    return ossl_error("EVP_DigestVerifyInit");
  const int rc = EVP_DigestVerify(md.get(), d.data(), d.size(), bytes(input).data(), input.size());
  ERR_clear_error();  // a bad signature leaves an entry; it is an answer, not a failure
  return rc == 1;
}

Result<std::string> jwk_thumbprint(const nlohmann::json& jwk) {
  if (!jwk.is_object() || !jwk.contains("kty") || !jwk["kty"].is_string())
    return make_error(Code::kInvalidArgument, "JWK without kty");
  const std::string kty = jwk["kty"];
  std::vector<const char*> members;
  if (kty == "EC")
    members = {"crv", "kty", "x", "y"};
  else if (kty == "RSA")
    members = {"e", "kty", "n"};
  else
    return make_error(Code::kUnsupported, "JWK kty " + kty);
  nlohmann::json canon = nlohmann::json::object();
  for (const char* m : members) {
    if (!jwk.contains(m) || !jwk[m].is_string())
      return make_error(Code::kInvalidArgument, std::string("JWK lacks ") + m);
    canon[m] = jwk[m];
  }
  BOOST_OUTCOME_TRY(digest, sha256(bytes(canon.dump())));
  return base64url_encode(digest);
}

Result<std::string> acme_jws(const EcKey& key, std::string_view kid, std::string_view nonce,
                             std::string_view url, const std::optional<nlohmann::json>& payload) {
  nlohmann::json prot{{"alg", "ES256"}, {"nonce", nonce}, {"url", url}};
  if (kid.empty())
    prot["jwk"] = key.jwk();
  else
    prot["kid"] = kid;
  const std::string p64 = base64url_encode(prot.dump());
  const std::string b64 = payload ? base64url_encode(payload->dump()) : std::string();
  BOOST_OUTCOME_TRY(sig, key.sign_es256(p64 + "." + b64));
  nlohmann::json jws{{"protected", p64}, {"payload", b64}, {"signature", base64url_encode(sig)}};
  return jws.dump();
}

Result<std::string> hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                bytes(data).data(), data.size(), out, sizeof out, &len) == nullptr)
    return ossl_error("EVP_Q_mac(HMAC-SHA256)");
  return std::string(reinterpret_cast<char*>(out), len);
}

Result<nlohmann::json> eab_jws(std::string_view eab_kid, std::string_view mac_key_b64url,
                               const nlohmann::json& account_jwk, std::string_view url) {
  BOOST_OUTCOME_TRY(mac_key, base64url_decode(mac_key_b64url));
  if (mac_key.empty()) return make_error(Code::kInvalidArgument, "EAB MAC key is empty");
  nlohmann::json prot{{"alg", "HS256"}, {"kid", eab_kid}, {"url", url}};
  const std::string p64 = base64url_encode(prot.dump());
  const std::string b64 = base64url_encode(account_jwk.dump());
  BOOST_OUTCOME_TRY(mac, hmac_sha256(std::string_view(reinterpret_cast<const char*>(mac_key.data()),
                                                      mac_key.size()),
                                     p64 + "." + b64));
  return nlohmann::json{{"protected", p64}, {"payload", b64}, {"signature", base64url_encode(mac)}};
}

std::string key_authorization(std::string_view token, std::string_view thumbprint) {
  std::string out(token);
  out += '.';
  out += thumbprint;
  return out;
}

std::string dns01_txt_value(std::string_view key_authorization) {
  auto digest = sha256(bytes(key_authorization));
  if (!digest) std::abort();  // SHA-256 of a buffer cannot fail short of OOM
  return base64url_encode(digest.value());
}

}  // namespace fc::certs::detail

// JOSE for ACME: ES256 account keys, JWK (RFC 7517) and thumbprint (RFC 7638),
// flattened JWS (RFC 7515 §7.2.2, RFC 8555 §6.2), EAB (RFC 8555 §7.3.4), key
// authorizations (§8.1) and the DNS-01 TXT value (§8.4).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "certs/detail/ossl.hpp"

namespace fc::certs::detail {

class EcKey {
 public:
  static Result<EcKey> generate();
  static Result<EcKey> from_pem(std::string_view pem);
  // From JWK members (base64url); `d` may be empty for a public key.
  static Result<EcKey> from_jwk(std::string_view x, std::string_view y, std::string_view d);

  Result<std::string> to_pem() const;
  // {"crv":"P-256","kty":"EC","x":…,"y":…}
  const nlohmann::json& jwk() const { return jwk_; }
  std::string thumbprint() const;
  // Raw R‖S, 64 bytes (RFC 7518 §3.4), not DER.
  Result<std::string> sign_es256(std::string_view input) const;
  Result<bool> verify_es256(std::string_view input, std::string_view sig64) const;
  EVP_PKEY* get() const { return key_.get(); }

 private:
  explicit EcKey(EvpPkeyPtr k) : key_(std::move(k)) {}
  Status load_jwk();
  EvpPkeyPtr key_;
  nlohmann::json jwk_;
};

// RFC 7638 §3: SHA-256 over the required members in lexicographic order with
// no whitespace; base64url. Supports EC (crv,kty,x,y) and RSA (e,kty,n).
Result<std::string> jwk_thumbprint(const nlohmann::json& jwk);

// One flattened JWS: {"protected","payload","signature"}. `payload` nullopt is
// POST-as-GET (RFC 8555 §6.3: empty payload). With `kid` empty the JWK is
// embedded (newAccount, revocation by certificate key).
Result<std::string> acme_jws(const EcKey& key, std::string_view kid, std::string_view nonce,
                             std::string_view url, const std::optional<nlohmann::json>& payload);

Result<std::string> hmac_sha256(std::string_view key, std::string_view data);
// RFC 8555 §7.3.4: HS256 JWS over the account JWK, {"alg","kid","url"}.
Result<nlohmann::json> eab_jws(std::string_view eab_kid, std::string_view mac_key_b64url,
                               const nlohmann::json& account_jwk, std::string_view url);

std::string key_authorization(std::string_view token, std::string_view thumbprint);
std::string dns01_txt_value(std::string_view key_authorization);

}  // namespace fc::certs::detail

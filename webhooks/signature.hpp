// Standard Webhooks signing (https://www.standardwebhooks.com, "Signature
// scheme"): the signed content is `msg_id.timestamp.body`, the key is the
// secret's bytes (base64 after the "whsec_" prefix), the signature is
// "v1," + base64(HMAC-SHA256). Pure: no I/O, no clock.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace fc::webhooks {

// A new secret: "whsec_" + base64 of 24 random bytes (as Svix issues them).
Result<std::string> new_secret();
// The key bytes of a "whsec_…" secret; kInvalidArgument when it is not one.
Result<std::vector<std::uint8_t>> secret_key(std::string_view secret);
// "v1," + base64(HMAC-SHA256(key, id "." timestamp "." body)).
Result<std::string> sign(std::string_view secret, std::string_view msg_id, std::int64_t timestamp_s,
                         std::string_view body);
// The webhook-signature header: one signature per secret, space-separated
// (during a rotation's grace period the old secret signs too).
Result<std::string> signature_header(const std::vector<std::string>& secrets,
                                     std::string_view msg_id, std::int64_t timestamp_s,
                                     std::string_view body);

// An endpoint's signing keys, decoded and each set up in an HMAC-SHA256
// context once (when the endpoint is loaded or its secret rotated), so that a
// delivery runs only the MAC itself: no base64 decode, no algorithm fetch, no
// key schedule and no copy of the body per message (docs/webhooks.md
// "Cost per delivery"). Not thread-safe: one per endpoint, on one thread.
class Signer {
 public:
  Signer();
  ~Signer();
  Signer(Signer&&) noexcept;
  Signer& operator=(Signer&&) noexcept;
  // kInvalidArgument for a secret that is not whsec_ + base64, kCrypto when
  // OpenSSL cannot set HMAC-SHA256 up.
  static Result<Signer> create(const std::vector<std::string>& secrets);
  std::size_t size() const;
  // The webhook-signature header signed with the first `keys` secrets
  // (signature_header's value for those secrets).
  Result<std::string> header(std::string_view msg_id, std::int64_t timestamp_s,
                             std::string_view body, std::size_t keys);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Standard base64 with padding (RFC 4648 §4).
std::string base64_encode(std::string_view bytes);
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace fc::webhooks

// Standard Webhooks signing (https://www.standardwebhooks.com, "Signature
// scheme"): the signed content is `msg_id.timestamp.body`, the key is the
// secret's bytes (base64 after the "whsec_" prefix), the signature is
// "v1," + base64(HMAC-SHA256). Pure: no I/O, no clock.
#pragma once
#include <cstdint>
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

// Standard base64 with padding (RFC 4648 §4).
std::string base64_encode(std::string_view bytes);
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace fc::webhooks

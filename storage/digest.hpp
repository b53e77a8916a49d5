// SHA-256 as lower-case hex: migration checksums, stored token hashes,
// idempotency request fingerprints.
#pragma once
#include <string>
#include <string_view>

namespace fc::storage {

std::string sha256_hex(std::string_view data);

}  // namespace fc::storage

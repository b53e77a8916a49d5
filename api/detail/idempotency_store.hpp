// The `idempotency_keys` table (migration 0001), owned by api: the only SQL on it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace fc::storage {
class Conn;
}

namespace fc::api::detail {

// The response stored for an Idempotency-Key in a scope.
struct IdempotencyRecord {
  std::string body_sha256;  // of the request that stored it
  int status = 0;
  std::string response;  // the body
};

Result<std::optional<IdempotencyRecord>> find_idempotency_key(storage::Conn& c,
                                                              const std::string& scope,
                                                              const std::string& key);
// Inside the transaction that made the response.
Status insert_idempotency_key(storage::Conn& c, const std::string& scope, const std::string& key,
                              const IdempotencyRecord& r, std::int64_t now_ms);

}  // namespace fc::api::detail

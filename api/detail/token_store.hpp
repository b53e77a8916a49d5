// The `tokens` table (migration 0001), owned by api: the only SQL on it.
// Plain records in, plain records out (docs/storage.md "Owners").
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/http.hpp"
#include "common/result.hpp"

namespace fc::storage {
class Conn;
}

namespace fc::api::detail {

struct TokenRecord {
  std::string id;
  TokenKind kind = TokenKind::kAdmin;
  std::string sha256;
  std::string region;        // "" unless an agent token
  std::string workspace_id;  // "" unless a tenant token
  std::int64_t created_at = 0;
  std::optional<std::int64_t> last_used_at;
  std::string tenant_id;  // "" unless a tenant-wide tenant token
};

Status insert_token(storage::Conn& c, const TokenRecord& r);
Result<std::vector<TokenRecord>> load_tokens(storage::Conn& c);
// The token with this SHA-256, or nullopt.
Result<std::optional<TokenRecord>> find_token(storage::Conn& c, const std::string& sha256);
// False when no token has this id.
Result<bool> delete_token(storage::Conn& c, const std::string& id);
Result<std::int64_t> count_tokens(storage::Conn& c);
// Every token scoped to `region` (when not empty) and to `workspace_id` (when
// not empty), inside the caller's transaction (the scheduler's scope listener).
Status delete_scope_tokens(storage::Conn& c, const std::string& region,
                           const std::string& workspace_id);
// (token id, last use in ms) pairs.
Status write_last_used(storage::Conn& c,
                       const std::vector<std::pair<std::string, std::int64_t>>& used);

}  // namespace fc::api::detail

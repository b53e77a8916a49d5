// API tokens: 32 random bytes, base64url, with a prefix naming the kind;
// only the SHA-256 is stored. Lookups are served from memory; the database is
// written first and memory updated after commit.
#pragma once
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/detail/token_store.hpp"
#include "api/http.hpp"
#include "common/ids.hpp"
#include "storage/db.hpp"

namespace fc::api::detail {

struct Minted {
  std::string token;  // the secret: shown once, never stored or logged
  TokenRecord record;
};

using storage::sha256_hex;
std::string random_base64url(std::size_t bytes);
const char* token_prefix(TokenKind k);

Minted mint(TokenKind kind, std::string region, std::string workspace_id, std::int64_t now_ms,
            IdGenerator& ids);

class TokenStore {
 public:
  Status load(storage::Conn& c);
  void add(const TokenRecord& r);
  void remove(const std::string& id);
  // Removes every token of a workspace or region (after those rows are deleted).
  void remove_scope(const std::string& region, const std::string& workspace_id);
  // A token missing from memory is looked up in the database once (tokens
  // minted offline by `fleetcommand token create` while the daemon runs).
  std::optional<Principal> authenticate(const std::string& token, std::int64_t now_ms,
                                        storage::Conn* fallback = nullptr);
  std::vector<TokenRecord> list() const;
  bool empty() const { return by_hash_.empty(); }
  // Tokens used since the previous call, with their last use (to persist).
  std::vector<std::pair<std::string, std::int64_t>> take_dirty();

 private:
  std::unordered_map<std::string, TokenRecord> by_hash_;
  std::unordered_map<std::string, std::string> hash_by_id_;
  std::unordered_map<std::string, std::int64_t> dirty_;
};

}  // namespace fc::api::detail

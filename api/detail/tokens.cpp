#include "api/detail/tokens.hpp"

#include "certs/pki.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

namespace fc::api::detail {

std::string random_base64url(std::size_t n) {
  std::vector<std::uint8_t> b(n);
  if (RAND_bytes(b.data(), static_cast<int>(n)) != 1) {
    spdlog::critical("token entropy failed call=RAND_bytes bytes={}", n);  // a broken invariant
    std::abort();
  }
  return certs::base64url_encode(std::span<const std::uint8_t>(b));
}

const char* token_prefix(TokenKind k) {
  switch (k) {
    case TokenKind::kAdmin: return "fc_adm_";
    case TokenKind::kAgent: return "fc_agt_";
    case TokenKind::kTenant: return "fc_tnt_";
  }
  return "fc_adm_";
}

Minted mint(TokenKind kind, std::string region, std::string workspace_id, std::int64_t now_ms,
            IdGenerator& ids) {
  Minted m;
  m.token = std::string(token_prefix(kind)) + random_base64url(32);
  m.record.id = ids.next("tok_", now_ms);
  m.record.kind = kind;
  m.record.sha256 = sha256_hex(m.token);
  m.record.region = std::move(region);
  m.record.workspace_id = std::move(workspace_id);
  m.record.created_at = now_ms;
  return m;
}

Status TokenStore::load(storage::Conn& c) {
  BOOST_OUTCOME_TRY(rows, load_tokens(c));
  by_hash_.clear();
  hash_by_id_.clear();
  for (const auto& r : rows) add(r);
  return ok();
}

void TokenStore::add(const TokenRecord& r) {
  by_hash_[r.sha256] = r;
  hash_by_id_[r.id] = r.sha256;
}

void TokenStore::remove(const std::string& id) {
  auto it = hash_by_id_.find(id);
  if (it == hash_by_id_.end()) return;
  by_hash_.erase(it->second);
  dirty_.erase(id);
  hash_by_id_.erase(it);
}

void TokenStore::remove_scope(const std::string& region, const std::string& workspace_id) {
  std::vector<std::string> ids;
  for (const auto& [h, r] : by_hash_) {
    if ((!region.empty() && r.region == region) ||
        (!workspace_id.empty() && r.workspace_id == workspace_id))
      ids.push_back(r.id);
  }
  for (const auto& id : ids) remove(id);
}

std::optional<Principal> TokenStore::authenticate(const std::string& token, std::int64_t now_ms,
                                                  storage::Conn* fallback) {
  if (token.size() < 8 || token.size() > 128) return std::nullopt;
  std::string hash = sha256_hex(token);
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end() && fallback) {
    auto rec = find_token(*fallback, hash);
    if (rec && rec.value()) {
      add(*rec.value());
      it = by_hash_.find(hash);
    }
  }
  if (it == by_hash_.end()) return std::nullopt;
  auto& r = it->second;
  if (!r.last_used_at || now_ms - *r.last_used_at >= 1000) {
    r.last_used_at = now_ms;
    dirty_[r.id] = now_ms;
  }
  return Principal{r.id, r.kind, r.region, r.workspace_id, r.tenant_id};
}

std::vector<TokenRecord> TokenStore::list() const {
  std::vector<TokenRecord> out;
  for (const auto& [h, r] : by_hash_) out.push_back(r);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::vector<std::pair<std::string, std::int64_t>> TokenStore::take_dirty() {
  std::vector<std::pair<std::string, std::int64_t>> out(dirty_.begin(), dirty_.end());
  dirty_.clear();
  return out;
}

}  // namespace fc::api::detail

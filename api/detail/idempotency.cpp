// Idempotency-Key on POST /v1/workspaces (docs/api-server.md): replay or 409.
#include "api/detail/context.hpp"
#include "api/detail/idempotency_store.hpp"

namespace fc::api::detail {

std::optional<Response> lookup_idempotent(Context& ctx, const std::string& scope,
                                          const std::string& key, const std::string& body_hash) {
  auto found = find_idempotency_key(ctx.db.read(), scope, key);
  if (!found || !found.value()) return std::nullopt;
  const auto& rec = *found.value();
  if (rec.body_sha256 != body_hash) {
    return problem(409, "idempotency-key-reused", "Conflict",
                   "this Idempotency-Key was used with a different request body");
  }
  Response r;
  r.status = rec.status;
  r.body = rec.response;
  r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

Status store_idempotent(storage::Conn& c, const std::string& scope, const std::string& key,
                        const std::string& body_hash, int status, const std::string& response,
                        std::int64_t now) {
  return insert_idempotency_key(c, scope, key, IdempotencyRecord{body_hash, status, response}, now);
}

}  // namespace fc::api::detail

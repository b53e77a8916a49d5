#include "api/detail/context.hpp"

namespace fc::api::detail {

std::optional<Response> lookup_idempotent(Context& ctx, const std::string& scope, const std::string& key,
                                          const std::string& body_hash) {
  auto st = ctx.db.read().prepare(
      "SELECT body_sha256, status, response FROM idempotency_keys WHERE scope = ? AND key = ?");
  if (!st) return std::nullopt;
  auto& s = st.value();
  s.bind_all(scope, key);
  auto row = s.step();
  if (!row || !row.value()) return std::nullopt;
  if (s.col_text(0) != body_hash) {
    return problem(409, "idempotency-key-reused", "Conflict",
                   "this Idempotency-Key was used with a different request body");
  }
  Response r;
  r.status = static_cast<int>(s.col_int(1));
  r.body = s.col_text(2);
  r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

Status store_idempotent(storage::Conn& c, const std::string& scope, const std::string& key,
                        const std::string& body_hash, int status, const std::string& response, std::int64_t now) {
  BOOST_OUTCOME_TRY(s, c.prepare(
      "INSERT INTO idempotency_keys(scope, key, body_sha256, status, response, created_at) VALUES(?,?,?,?,?,?)"));
  return s.bind_all(scope, key, body_hash, status, response, now).run();
}

}  // namespace fc::api::detail

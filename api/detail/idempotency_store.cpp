#include "api/detail/idempotency_store.hpp"

#include "storage/db.hpp"

namespace fc::api::detail {

Result<std::optional<IdempotencyRecord>> find_idempotency_key(storage::Conn& c,
                                                              const std::string& scope,
                                                              const std::string& key) {
  BOOST_OUTCOME_TRY(st, c.prepare("SELECT body_sha256, status, response FROM idempotency_keys"
                                  " WHERE scope = ? AND key = ?"));
  st.bind_all(scope, key);
  BOOST_OUTCOME_TRY(row, st.step());
  if (!row) return std::optional<IdempotencyRecord>();
  return std::optional<IdempotencyRecord>(
      IdempotencyRecord{st.col_text(0), static_cast<int>(st.col_int(1)), st.col_text(2)});
}

Status insert_idempotency_key(storage::Conn& c, const std::string& scope, const std::string& key,
                              const IdempotencyRecord& r, std::int64_t now_ms) {
  BOOST_OUTCOME_TRY(st, c.prepare("INSERT INTO idempotency_keys(scope, key, body_sha256, status,"
                                  " response, created_at) VALUES(?,?,?,?,?,?)"));
  return st.bind_all(scope, key, r.body_sha256, r.status, r.response, now_ms).run();
}

}  // namespace fc::api::detail

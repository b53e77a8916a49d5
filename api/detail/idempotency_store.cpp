#include "api/detail/idempotency_store.hpp"

#include "storage/db.hpp"
#include "storage/deferred.hpp"

namespace fc::api::detail {

namespace {
// A create's stored answer: a set-based create defers it (storage/deferred.hpp).
// Two requests with the same key in one batch make the flush fail on the
// primary key; the writer then replays the batch caller by caller and the
// second one gets the conflict, as before.
constexpr storage::SetInsert kIdempotencyRow{
    "idempotency_keys",
    "INSERT INTO idempotency_keys(scope, key, body_sha256, status, response, created_at)", 6, "",
    "e->>0, e->>1, e->>2, (e->>3)::bigint, e->>4, (e->>5)::bigint"};
}  // namespace

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
  return storage::insert_row(c, kIdempotencyRow, scope, key, r.body_sha256, r.status, r.response,
                             now_ms);
}

}  // namespace fc::api::detail

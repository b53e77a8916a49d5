// Rows of the certificates tables (migrations/0005_certificates.sql). Plain
// SQL on the caller's connection; no policy here (certs/service.cpp decides).
#pragma once
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "certs/detail/budget.hpp"
#include "certs/detail/status.hpp"
#include "certs/service.hpp"
#include "common/result.hpp"
#include "storage/db.hpp"

namespace fc::certs::detail {

struct CertRow {
  std::string id;
  std::string names_key;
  std::vector<std::string> hostnames;
  std::string workspace_id;
  std::string challenge = "http-01";
  std::string dns01_delegate;
  CertStatus status = CertStatus::kPending;
  std::string issuer;
  std::int64_t issuer_index = 0;
  std::int64_t issuer_failures = 0;
  std::int64_t failures = 0;
  std::int64_t version = 0;
  std::optional<std::int64_t> not_before, not_after, renew_after, next_attempt_at;
  std::optional<std::string> last_error;
  bool renew = true;
  std::optional<std::string> chain_pem, key_sealed;
  std::optional<std::int64_t> order_issuer;
  std::optional<std::string> order_url, order_state, order_key_sealed;
  // RFC 9773: next renewalInfo request and the last suggested window (0008).
  std::optional<std::int64_t> ari_check_at, ari_window_start, ari_window_end;
};

// Lower-cased, sorted, de-duplicated names joined by ','.
std::string names_key(std::vector<std::string> names);

Result<std::optional<CertRow>> load_cert(storage::Conn& c, const std::string& id);
// Where a walk over the expiring certificates resumes: after this
// (not_after, id); the default starts at the beginning.
struct ExpiringCursor {
  std::int64_t not_after = std::numeric_limits<std::int64_t>::min();
  std::string id;
};
Result<std::vector<CertRow>> expiring_certs(storage::Conn& c, std::int64_t before, int limit,
                                            const ExpiringCursor& from = {});
// One page of the certificate.expiring check (certs/events.cpp): appends
// certificate.expiring for each of the next `limit` expiring versions not
// announced yet, and moves `from` past the page. Returns how many were
// announced; `done` is set when the page was the last.
Result<int> announce_expiring_page(storage::Conn& c, std::int64_t before, std::int64_t now,
                                   int limit, ExpiringCursor& from, bool& done);
// The certificate as its lifecycle events show it (certs/events.cpp): no key,
// no chain.
std::string cert_event_view(const CertRow& r);
Result<std::optional<std::string>> find_by_names(storage::Conn& c, const std::string& key);
Result<std::vector<CertRow>> list_certs(storage::Conn& c, const std::string& hostname,
                                        const std::string& workspace);
Status insert_cert(storage::Conn& c, const CertRow& r, std::int64_t now);
// Valid and renewing certificates by time to expiry at `now` (ms).
Result<ExpirySummary> expiry_summary(storage::Conn& c, std::int64_t now);
Status update_cert(storage::Conn& c, const CertRow& r, std::int64_t now);
Status delete_cert(storage::Conn& c, const std::string& id);
CertificateView to_view(const CertRow& r);

Result<std::optional<std::string>> get_meta(storage::Conn& c, const std::string& key);
Status put_meta(storage::Conn& c, const std::string& key, const std::string& value);

// Orders history (budgets are derived from it).
Status record_order(storage::Conn& c, const std::string& issuer, const CertRow& r,
                    const std::string& order_url, std::int64_t now);
// `result`: kValid or kInvalid (cert_orders.result, stored by its name).
Status finish_order(storage::Conn& c, const std::string& order_url, OrderStatus result,
                    std::int64_t now);

// Budget buckets (cert_budget_buckets, migration 0008).
Result<TatMap> load_tats(storage::Conn& c, const std::string& issuer,
                         const std::vector<BucketUse>& uses);
Status save_tats(storage::Conn& c, const std::string& issuer, const TatMap& tats);
// Renewals due now that have no order yet (new orders leave them tokens).
Result<std::int64_t> count_due_renewals(storage::Conn& c, std::int64_t now);

// ---- challenge answers (challenge_store.cpp) ----
// HTTP-01 key authorizations by token (acme_http_tokens, 0005): served by the
// responder of every instance.
Status put_http_token(storage::Conn& c, const std::string& token, const std::string& key_auth,
                      const std::string& cert_id, std::int64_t expires_at);
Status delete_http_token(storage::Conn& c, const std::string& token);
// A certificate's tokens, and every token that expired before `now`.
Status delete_http_tokens(storage::Conn& c, const std::string& cert_id, std::int64_t now);
Result<std::optional<std::string>> http_token_answer(storage::Conn& c, const std::string& token);

// DNS-01 TXT values written to another zone's primary (cert_dns01_external,
// 0008), so that a leftover can be deleted later.
struct ExternalTxt {
  std::string server, zone, name, value;
};
Status remember_external_txt(storage::Conn& c, const ExternalTxt& t, std::int64_t expires_at);
Status forget_external_txt(storage::Conn& c, const ExternalTxt& t);
// The oldest `limit` values that expired by `now`.
Result<std::vector<ExternalTxt>> expired_external_txt(storage::Conn& c, std::int64_t now,
                                                      int limit);

}  // namespace fc::certs::detail

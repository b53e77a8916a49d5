// Rows of the certificates tables (migrations/0005_certificates.sql). Plain
// SQL on the caller's connection; no policy here (certs/service.cpp decides).
#pragma once
#include <cstdint>
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
Result<std::optional<std::string>> find_by_names(storage::Conn& c, const std::string& key);
Result<std::vector<CertRow>> list_certs(storage::Conn& c, const std::string& hostname, const std::string& workspace);
Status insert_cert(storage::Conn& c, const CertRow& r, std::int64_t now);
Status update_cert(storage::Conn& c, const CertRow& r, std::int64_t now);
Status delete_cert(storage::Conn& c, const std::string& id);
CertificateView to_view(const CertRow& r);

Result<std::optional<std::string>> get_meta(storage::Conn& c, const std::string& key);
Status put_meta(storage::Conn& c, const std::string& key, const std::string& value);

// Orders history (budgets are derived from it).
Status record_order(storage::Conn& c, const std::string& issuer, const CertRow& r, const std::string& order_url,
                    std::int64_t now);
// `result`: kValid or kInvalid (cert_orders.result, stored by its name).
Status finish_order(storage::Conn& c, const std::string& order_url, OrderStatus result,
                    std::int64_t now);

// Budget buckets (cert_budget_buckets, migration 0008).
Result<TatMap> load_tats(storage::Conn& c, const std::string& issuer, const std::vector<BucketUse>& uses);
Status save_tats(storage::Conn& c, const std::string& issuer, const TatMap& tats);
// Renewals due now that have no order yet (new orders leave them tokens).
Result<std::int64_t> count_due_renewals(storage::Conn& c, std::int64_t now);

}  // namespace fc::certs::detail

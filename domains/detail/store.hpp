// SQL for the domains table (migrations/0006_domains.sql). Plain records in
// and out; policy lives in the service.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "domains/service.hpp"
#include "storage/db.hpp"

namespace fc::domains::store {

Status insert(storage::Conn& c, const Domain& d);
Status update(storage::Conn& c, const Domain& d);
Result<std::optional<Domain>> find_by_id(storage::Conn& c, const std::string& id);
// Live claims of a hostname, oldest first.
Result<std::vector<Domain>> live_for_host(storage::Conn& c, const std::string& hostname);
// Live claims of a workspace, oldest first.
Result<std::vector<Domain>> live_for_workspace(storage::Conn& c, const std::string& workspace_id);
// Every workspace's live claims, by id after `after`: of one status (""
// any) whose hostname starts with `prefix` ("" any); at most `limit`.
Result<std::vector<Domain>> page(storage::Conn& c, const std::string& status,
                                 const std::string& prefix, int limit, const std::string& after);
// What an assignment needs of a workspace's live claims, oldest first: three
// columns instead of whole rows (served on every agent poll).
struct Route {
  std::string hostname;
  bool routed = false;
  std::optional<std::string> certificate_id;
};
Result<std::vector<Route>> routes_for_workspace(storage::Conn& c, const std::string& workspace_id);
// Deleted claims of a hostname still reserved at `now`.
Result<std::vector<Domain>> reservations(storage::Conn& c, const std::string& hostname,
                                         std::int64_t now);
// Live claims in `issuing` that know the generation carrying their certificate.
Result<std::vector<Domain>> issuing_with_generation(storage::Conn& c);
// The workspaces that hold live claims, each once.
Result<std::vector<std::string>> live_workspace_ids(storage::Conn& c);
// The same in id order after `after`, at most `limit` of them (a slice).
Result<std::vector<std::string>> live_workspace_ids(storage::Conn& c, const std::string& after,
                                                    int limit);
// (hostname, workspace id) of every active domain (the live checks probe them).
Result<std::vector<std::pair<std::string, std::string>>> active_hostnames(storage::Conn& c);
// Live claims holding a certificate id.
Result<std::vector<Domain>> with_certificate(storage::Conn& c, const std::string& cert_id);
// Removes reservations that ended.
Status purge_reservations(storage::Conn& c, std::int64_t now);

// The verifier's schedule (next_check_at, migration 0009; deleted rows are
// never due). `check_at` sets it; `check_by` only moves it earlier.
Status check_at(storage::Conn& c, const std::string& id, std::int64_t at);
Status check_by(storage::Conn& c, const std::string& id, std::int64_t at);
// The `limit` live domains with the earliest next_check_at, earliest first
// (index domains_due): {id, next_check_at}.
Result<std::vector<std::pair<std::string, std::int64_t>>> earliest(storage::Conn& c, int limit);
// Up to `limit` live pending_verification domains due by `by` and last
// checked no later than `checked_by`, earliest first: {id, next_check_at}
// (re-checks pulled forward into spare capacity).
Result<std::vector<std::pair<std::string, std::int64_t>>> pending_due_by(storage::Conn& c,
                                                                         std::int64_t by,
                                                                         std::int64_t checked_by,
                                                                         int limit);
// How many live domains are due at `now` (the verifier's queue depth).
Result<std::int64_t> due_count(storage::Conn& c, std::int64_t now);

}  // namespace fc::domains::store

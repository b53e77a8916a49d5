#include "domains/detail/sweep.hpp"

#include <algorithm>
#include <map>

#include "domains/detail/store.hpp"
#include "scheduler/service.hpp"

namespace fc::domains::sweep {

namespace {

using Statuses = std::map<std::string, scheduler::WorkspaceStatus>;

Result<Statuses> statuses_of(storage::Conn& c, const std::vector<std::string>& ids) {
  BOOST_OUTCOME_TRY(found, scheduler::Service::workspace_statuses(c, ids));
  Statuses out;
  for (auto& s : found) {
    std::string id = s.id;
    out.emplace(std::move(id), std::move(s));
  }
  return out;
}

}  // namespace

Result<std::vector<Domain>> issuing_running(storage::Conn& c) {
  BOOST_OUTCOME_TRY(issuing, store::issuing_with_generation(c));
  std::vector<std::string> ids;
  for (const auto& d : issuing) ids.push_back(d.workspace_id);
  BOOST_OUTCOME_TRY(statuses, statuses_of(c, ids));
  std::vector<Domain> out;
  for (auto& d : issuing) {
    auto it = statuses.find(d.workspace_id);
    if (it == statuses.end()) continue;
    const auto& w = it->second;
    if (w.observed_phase == "running" && w.observed_generation >= *d.cert_generation)
      out.push_back(std::move(d));
  }
  return out;
}

Result<std::vector<Domain>> released(storage::Conn& c, const std::vector<std::string>& removed) {
  BOOST_OUTCOME_TRY(ids, scheduler::Service::workspace_ids_in_state(c, "deleting"));
  if (!removed.empty()) {
    BOOST_OUTCOME_TRY(statuses, statuses_of(c, removed));
    for (const auto& ws : removed)
      if (!statuses.count(ws)) ids.push_back(ws);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<Domain> out;
  for (const auto& ws : ids) {
    BOOST_OUTCOME_TRY(claims, store::live_for_workspace(c, ws));
    for (auto& d : claims) out.push_back(std::move(d));
  }
  return out;
}

namespace {

Result<std::vector<Domain>> orphaned_of(storage::Conn& c, const std::vector<std::string>& ids) {
  BOOST_OUTCOME_TRY(statuses, statuses_of(c, ids));
  std::vector<Domain> out;
  for (const auto& ws : ids) {
    auto it = statuses.find(ws);
    if (it != statuses.end() && it->second.state != "deleting") continue;
    BOOST_OUTCOME_TRY(claims, store::live_for_workspace(c, ws));
    for (auto& d : claims) out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

Result<std::vector<Domain>> orphaned(storage::Conn& c) {
  BOOST_OUTCOME_TRY(ids, store::live_workspace_ids(c));
  return orphaned_of(c, ids);
}

Result<std::vector<Domain>> orphaned_slice(storage::Conn& c, const std::string& after, int limit,
                                           std::string* last) {
  BOOST_OUTCOME_TRY(ids, store::live_workspace_ids(c, after, limit));
  *last = ids.empty() ? std::string() : ids.back();
  return orphaned_of(c, ids);
}

}  // namespace fc::domains::sweep

// Rows of probe_results (migrations/0014_probe_results.sql): the latest
// result per hostname. Plain SQL on the caller's connection.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "probes/probe.hpp"
#include "storage/db.hpp"

namespace fc::probes::store {

Result<std::optional<LiveResult>> load(storage::Conn& c, const std::string& hostname);
Status save(storage::Conn& c, const LiveResult& r);
// Rows of hostnames no longer probed (a deleted workspace or domain) go.
Status forget_except(storage::Conn& c, const std::vector<std::string>& keep);
// Hostnames by status (the /metrics gauge).
Result<std::map<std::string, std::int64_t>> count_by_status(storage::Conn& c);

}  // namespace fc::probes::store

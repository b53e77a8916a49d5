// What the periodic tick acts on: the domains rows (domains store) joined
// with the scheduler's view of their workspaces (scheduler::Service), one
// query each, never one per row.
#pragma once
#include <vector>

#include "common/result.hpp"
#include "domains/service.hpp"
#include "storage/db.hpp"

namespace fc::domains::sweep {

// Live claims in `issuing` whose certificate's generation is running.
Result<std::vector<Domain>> issuing_running(storage::Conn& c);
// Live claims whose workspace is gone or being deleted: every live claim is
// read (O(domains)); the daemon runs it once at start, then `released`.
Result<std::vector<Domain>> orphaned(storage::Conn& c);
// The same for the workspaces being deleted (through the scheduler's state
// index) and those of `removed` (workspaces whose row went since the last
// sweep, from the scheduler's scope listener) that are gone: as cheap as
// there are such workspaces, whatever the number of domains.
Result<std::vector<Domain>> released(storage::Conn& c, const std::vector<std::string>& removed);

}  // namespace fc::domains::sweep

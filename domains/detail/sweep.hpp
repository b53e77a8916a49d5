// What the periodic tick acts on: the domains rows (domains store) joined
// with the scheduler's view of their workspaces (scheduler::Service), one
// query each, never one per row.
#pragma once
#include <string>
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
// One slice of that: the claims among the next `limit` workspace ids with a
// live claim after `after` (in id order); `*last` is set to the last id read,
// empty once there is none left. The daemon's start-up sweep reads slices
// and lets the I/O thread serve between them (1M workspaces, 100k domains:
// the whole read held it ~1 s, the list's tail after a start).
Result<std::vector<Domain>> orphaned_slice(storage::Conn& c, const std::string& after, int limit,
                                           std::string* last);
// The same for the workspaces being deleted (through the scheduler's state
// index) and those of `removed` (workspaces whose row went since the last
// sweep, from the scheduler's scope listener) that are gone: as cheap as
// there are such workspaces, whatever the number of domains.
Result<std::vector<Domain>> released(storage::Conn& c, const std::vector<std::string>& removed);

}  // namespace fc::domains::sweep

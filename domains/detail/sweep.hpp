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
// Live claims whose workspace is gone or being deleted.
Result<std::vector<Domain>> orphaned(storage::Conn& c);

}  // namespace fc::domains::sweep

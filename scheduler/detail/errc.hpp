// The scheduler's own error codes (common/result.hpp "ErrorDomain"); the API
// maps them to HTTP in api/detail/problem.cpp.
#pragma once
#include <cstddef>
#include <iterator>

#include "common/result.hpp"

namespace fc::scheduler {

enum class Errc : std::uint8_t {
  kNoCapacity = 1,    // no region can take the workspace (or not the one asked for)
  kRegionExists,      // a region with that id exists
  kRegionNotEmpty,    // workspaces are still placed in the region
  kNameTaken,         // a workspace with that name exists
  kDoesNotFit,        // the region no longer has room for the new resources
  kWorkspaceBusy,     // the workspace is migrating/deleting, or already in that region
  kConcurrentChange,  // capacity or the workspace changed under us; retry
  kRevisionGone,      // `since` is outside the region's retained assignment log
};

inline constexpr ErrcEntry kErrcEntries[] = {
    {"no_capacity", Code::kUnavailable},    {"region_exists", Code::kConflict},
    {"region_not_empty", Code::kConflict},  {"name_taken", Code::kConflict},
    {"does_not_fit", Code::kConflict},      {"workspace_busy", Code::kConflict},
    {"concurrent_change", Code::kConflict}, {"revision_gone", Code::kGone},
};
static_assert(std::size(kErrcEntries) == static_cast<std::size_t>(Errc::kRevisionGone));
inline constexpr ErrorDomain kErrorDomain{"scheduler", kErrcEntries};
constexpr const ErrorDomain& error_domain(Errc) { return kErrorDomain; }

}  // namespace fc::scheduler

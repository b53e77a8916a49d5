// domains' own error codes (common/result.hpp "ErrorDomain"); the API maps
// them to HTTP in api/detail/problem.cpp.
#pragma once
#include <cstddef>
#include <iterator>

#include "common/result.hpp"

namespace fc::domains {

enum class Errc : std::uint8_t {
  kTaken = 1,          // verified for another workspace
  kReserved,           // reserved for the deleted workspace that had it
  kQuotaExceeded,      // over domains.max_per_workspace
  kWorkspaceDeleting,  // the workspace is being deleted
};

inline constexpr ErrcEntry kErrcEntries[] = {
    {"taken", Code::kConflict},
    {"reserved", Code::kConflict},
    {"quota_exceeded", Code::kInvalidArgument},
    {"workspace_deleting", Code::kConflict},
};
static_assert(std::size(kErrcEntries) == static_cast<std::size_t>(Errc::kWorkspaceDeleting));
inline constexpr ErrorDomain kErrorDomain{"domains", kErrcEntries};
constexpr const ErrorDomain& error_domain(Errc) { return kErrorDomain; }

}  // namespace fc::domains

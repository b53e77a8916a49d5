// tenants' own error codes (common/result.hpp "ErrorDomain"); the API maps
// each to a 422 naming its field (api/detail/tenant_routes.cpp).
#pragma once
#include <cstddef>
#include <iterator>

#include "common/result.hpp"

namespace fc::tenants {

enum class Errc : std::uint8_t {
  kUnknownTenant = 1,  // field "tenant"
  kUnknownPlan,        // field "plan"
  kWorkspaceQuota,     // max_workspaces of the plan reached (field "tenant" on create)
  kPlanQuota,          // the workspace no longer fits the new plan's quotas (field "plan")
  kRegionNotAllowed,   // the plan's allowed_regions (field "placement.regions")
  kTenantExists,       // a tenant with that name exists
};

inline constexpr ErrcEntry kErrcEntries[] = {
    {"unknown_tenant", Code::kInvalidArgument},     {"unknown_plan", Code::kInvalidArgument},
    {"workspace_quota", Code::kInvalidArgument},    {"plan_quota", Code::kInvalidArgument},
    {"region_not_allowed", Code::kInvalidArgument}, {"tenant_exists", Code::kConflict},
};
static_assert(std::size(kErrcEntries) == static_cast<std::size_t>(Errc::kTenantExists));
inline constexpr ErrorDomain kErrorDomain{"tenants", kErrcEntries};
constexpr const ErrorDomain& error_domain(Errc) { return kErrorDomain; }

}  // namespace fc::tenants

#include "scheduler/detail/types.hpp"

#include <cstdlib>

namespace fc::scheduler {

std::string_view region_state_name(RegionState s) {
  switch (s) {
    case RegionState::kActive: return "active";
    case RegionState::kCordoned: return "cordoned";
    case RegionState::kDraining: return "draining";
  }
  std::abort();  // out-of-range enum value: a bug, crash (STYLE.md)
}

std::optional<RegionState> parse_region_state(std::string_view s) {
  if (s == "active") return RegionState::kActive;
  if (s == "cordoned") return RegionState::kCordoned;
  if (s == "draining") return RegionState::kDraining;
  return std::nullopt;
}

std::string_view health_name(Health h) {
  switch (h) {
    case Health::kUnknown: return "unknown";
    case Health::kHealthy: return "healthy";
    case Health::kUnhealthy: return "unhealthy";
  }
  std::abort();  // out-of-range enum value: a bug, crash (STYLE.md)
}

std::string_view policy_name(Policy p) {
  switch (p) {
    case Policy::kSpread: return "spread";
    case Policy::kBinpack: return "binpack";
  }
  std::abort();  // out-of-range enum value: a bug, crash (STYLE.md)
}

std::optional<Policy> parse_policy(std::string_view s) {
  if (s == "spread") return Policy::kSpread;
  if (s == "binpack") return Policy::kBinpack;
  return std::nullopt;
}

}  // namespace fc::scheduler

// Builders for plain scheduler values used by the scheduler unit tests.
#pragma once
#include <chrono>
#include <string>

#include "common/clock.hpp"
#include "scheduler/placement.hpp"

namespace fc::scheduler::test {

// The time the scheduler tests run at (2023-11-14).
inline const fc::SysTime kNow{std::chrono::seconds(1'700'000'000)};

// An active, healthy region with no labels.
inline RegionView region(std::string id, Quantities capacity, Quantities allocated = {}) {
  RegionView v;
  v.id = std::move(id);
  v.state = RegionState::kActive;
  v.health = HealthStatus{Health::kHealthy, 1};
  v.capacity = capacity;
  v.allocated = allocated;
  return v;
}

inline RegionView big_region(std::string id) {
  return region(std::move(id), Quantities{65536, 32000, 100});
}

inline WorkspaceRequest request(std::int64_t memory_mib, std::int64_t cpu_millis,
                                PlacementConstraints placement = {}) {
  return WorkspaceRequest{Resources{memory_mib, cpu_millis}, std::move(placement)};
}

}  // namespace fc::scheduler::test

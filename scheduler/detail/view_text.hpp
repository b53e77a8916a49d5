// Pieces of the list page's text writer (scheduler/service_events.cpp,
// Service::workspace_views_json), exposed for their unit test.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace fc::scheduler {
struct PlacementConstraints;
}

namespace fc::scheduler::detail {

// Appends format_rfc3339(unix_ms) as a JSON string: the same bytes as
// put_str of it, without snprintf or a temporary string (a page of 1,000
// workspaces writes 2,000-3,000 of them). Years outside 0..9999 go through
// format_rfc3339 itself.
void append_rfc3339_json(std::string& out, std::int64_t unix_ms);

// A new workspace's `apply` assignment (agent/protocol.hpp's Assignment, the
// workspace's spec in it) written as text on the create's hot path: the same
// bytes as Service::Impl::assignment_body(w, "apply").dump() (nlohmann's
// object keys in std::map order), without building and freeing that DOM in
// the writer (tests/scheduler/view_text_test.cpp compares the two).
struct ApplyAssignment {
  std::string_view workspace_id;
  std::string_view name;
  std::string_view hostname;
  std::int64_t generation = 0;
  std::int64_t memory_mib = 0;
  std::int64_t cpu_millis = 0;
  bool suspended = false;
  std::string_view spec_json;  // the spec, already dumped
};
void append_apply_assignment(std::string& out, const ApplyAssignment& a);

// placement_json(p).dump() (scheduler/json.cpp), without the DOM when the
// workspace has no constraints (most creates).
std::string placement_text(const PlacementConstraints& p);

}  // namespace fc::scheduler::detail

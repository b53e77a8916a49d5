// Pieces of the list page's text writer (scheduler/service_events.cpp,
// Service::workspace_views_json), exposed for their unit test.
#pragma once
#include <cstdint>
#include <string>

namespace fc::scheduler::detail {

// Appends format_rfc3339(unix_ms) as a JSON string: the same bytes as
// put_str of it, without snprintf or a temporary string (a page of 1,000
// workspaces writes 2,000-3,000 of them). Years outside 0..9999 go through
// format_rfc3339 itself.
void append_rfc3339_json(std::string& out, std::int64_t unix_ms);

}  // namespace fc::scheduler::detail

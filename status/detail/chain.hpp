// Shared by the workspace and domain chain builders (status/ only).
#pragma once
#include "status/status.hpp"

namespace fc::status::detail {

// Blocked after the first non-True condition; fix kept on that one only.
void settle(std::vector<Condition>& chain);
Condition make(std::string type, Truth t, std::string reason, std::string message,
               std::optional<std::int64_t> since, std::int64_t generation);
// nullopt for 0 (a timestamp that was never set).
std::optional<std::int64_t> opt_ms(std::int64_t ms);
// The workspace part a domain chain reuses: its delivery condition.
Condition delivered_condition(const WorkspaceFacts& f, Audience who);

}  // namespace fc::status::detail

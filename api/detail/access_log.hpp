// The access log: one key=value line per answered request, never a token.
#pragma once
#include <chrono>

#include "api/http.hpp"

namespace fc::api::detail {

void access_log(const Request& req, const Response& resp, std::chrono::nanoseconds d);

}  // namespace fc::api::detail

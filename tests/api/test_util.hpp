// Helpers shared by the api unit tests.
#pragma once
#include <nlohmann/json.hpp>

#include "api/http.hpp"

namespace fc::api::test {

// The JSON body of a response (problem+json or application/json).
inline nlohmann::json body(const Response& r) { return nlohmann::json::parse(r.body); }

}  // namespace fc::api::test

// Response builders and RFC 9457 problem details (docs/api-server.md "Errors"):
// every error body the API sends is built here.
#include <spdlog/spdlog.h>

#include "api/http.hpp"

namespace fc::api {

using nlohmann::json;

Response json_response(int status, const json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

Response no_content() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

Response problem(int status, const std::string& type_suffix, const std::string& title,
                 const std::string& detail, json extra) {
  json j = {{"type", "https://fleetcommand.dev/problems/" + type_suffix},
            {"title", title},
            {"status", status},
            {"detail", detail}};
  for (auto& [k, v] : extra.items()) j[k] = v;
  Response r = json_response(status, j);
  r.content_type = "application/problem+json";
  return r;
}

Response validation_failed(const std::vector<FieldError>& errors) {
  json list = json::array();
  for (const auto& e : errors) list.push_back({{"field", e.field}, {"message", e.message}});
  std::string detail =
      errors.empty() ? "invalid request" : errors[0].field + ": " + errors[0].message;
  return problem(422, "validation-failed", "Unprocessable Content", detail, {{"errors", list}});
}

Response problem_from(const Error& e, const std::string& request_id) {
  switch (e.code) {
    case Code::kInvalidArgument: return validation_failed({{"", e.detail}});
    case Code::kParse: return problem(400, "malformed-request", "Bad Request", e.detail);
    case Code::kUnauthorized: return problem(401, "unauthorized", "Unauthorized", e.detail);
    case Code::kForbidden: return problem(403, "forbidden", "Forbidden", e.detail);
    case Code::kNotFound: return problem(404, "not-found", "Not Found", e.detail);
    case Code::kConflict: return problem(409, "conflict", "Conflict", e.detail);
    case Code::kGone: return problem(410, "gone", "Gone", e.detail);
    case Code::kTooLarge: return problem(413, "too-large", "Content Too Large", e.detail);
    case Code::kUnsupported:
      return problem(415, "unsupported-media-type", "Unsupported Media Type", e.detail);
    case Code::kRateLimited: return problem(429, "rate-limited", "Too Many Requests", e.detail);
    case Code::kNoCapacity: return problem(503, "no-capacity", "No Capacity", e.detail);
    case Code::kUnavailable:
    case Code::kTimeout: return problem(503, "unavailable", "Service Unavailable", e.detail);
    case Code::kIo:
    case Code::kCrypto:
    case Code::kInternal: break;
  }
  spdlog::error("internal error request_id={} code={} detail={}", request_id, code_name(e.code),
                e.detail);
  return problem(500, "internal", "Internal Server Error",
                 "internal error; see the server log for request " + request_id);
}

}  // namespace fc::api

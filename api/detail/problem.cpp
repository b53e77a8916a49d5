// Response builders and RFC 9457 problem details (docs/api-server.md "Error
// model"): every error body the API sends is built here, and this is the only
// place that maps error codes (common's generic classes and each component's
// own codes) to HTTP statuses and problem types.
#include <spdlog/spdlog.h>

#include <cstdint>

#include "api/http.hpp"
#include "certs/pki.hpp"
#include "dns/server.hpp"
#include "domains/domain.hpp"
#include "scheduler/placement.hpp"
#include "storage/db.hpp"
#include "tenants/usage.hpp"  // and tenants::Errc

namespace fc::api {

using nlohmann::json;

namespace {

constexpr ProblemShape kShapeInvalid{422, "validation-failed", "Unprocessable Content"};
constexpr ProblemShape kShapeBadRequest{400, "malformed-request", "Bad Request"};
constexpr ProblemShape kShapeUnauthorized{401, "unauthorized", "Unauthorized"};
constexpr ProblemShape kShapeForbidden{403, "forbidden", "Forbidden"};
constexpr ProblemShape kShapeNotFound{404, "not-found", "Not Found"};
constexpr ProblemShape kShapeConflict{409, "conflict", "Conflict"};
constexpr ProblemShape kShapeGone{410, "gone", "Gone"};
constexpr ProblemShape kShapeTooLarge{413, "too-large", "Content Too Large"};
constexpr ProblemShape kShapeUnsupported{415, "unsupported-media-type", "Unsupported Media Type"};
constexpr ProblemShape kShapeRateLimited{429, "rate-limited", "Too Many Requests"};
constexpr ProblemShape kShapeNoCapacity{503, "no-capacity", "No Capacity"};
constexpr ProblemShape kShapeUnavailable{503, "unavailable", "Service Unavailable"};
constexpr ProblemShape kShapeInternal{500, "internal", "Internal Server Error"};

struct ComponentRow {
  const ErrorDomain* domain;
  std::uint8_t value;
  ProblemShape shape;
};

template <ComponentErrc E>
ComponentRow shape_row(E e, ProblemShape shape) {
  return {&error_domain(e), static_cast<std::uint8_t>(e), shape};
}

// Every component code (tests/api/problem_test.cpp checks that none is
// missing). A peer's failure (the CA, an external DNS server) is ours to
// retry, so it answers 503, never the peer's 401/403/404.
const std::vector<ComponentRow>& component_rows() {
  namespace sch = scheduler;
  static const std::vector<ComponentRow> rows = {
      shape_row(sch::Errc::kNoCapacity, kShapeNoCapacity),
      shape_row(sch::Errc::kRegionExists, kShapeConflict),
      shape_row(sch::Errc::kRegionNotEmpty, kShapeConflict),
      shape_row(sch::Errc::kNameTaken, kShapeConflict),
      shape_row(sch::Errc::kDoesNotFit, kShapeConflict),
      shape_row(sch::Errc::kWorkspaceBusy, kShapeConflict),
      shape_row(sch::Errc::kConcurrentChange, kShapeConflict),
      shape_row(sch::Errc::kRevisionGone, kShapeGone),
      shape_row(storage::Errc::kConstraint, kShapeConflict),
      shape_row(storage::Errc::kBusy, kShapeUnavailable),
      shape_row(storage::Errc::kClosing, kShapeUnavailable),
      shape_row(storage::Errc::kUnavailable, kShapeUnavailable),
      shape_row(dns::Errc::kNotAuth, kShapeUnavailable),
      shape_row(dns::Errc::kBadResponseTsig, kShapeUnavailable),
      shape_row(dns::Errc::kUpdateRejected, kShapeUnavailable),
      shape_row(certs::Errc::kCaRateLimited, kShapeUnavailable),
      shape_row(certs::Errc::kCaUnavailable, kShapeUnavailable),
      shape_row(certs::Errc::kCaNotFound, kShapeUnavailable),
      shape_row(certs::Errc::kCaForbidden, kShapeUnavailable),
      shape_row(certs::Errc::kCaConflict, kShapeUnavailable),
      shape_row(certs::Errc::kCaRejected, kShapeInvalid),
      shape_row(certs::Errc::kCaProtocol, kShapeUnavailable),
      shape_row(certs::Errc::kOrderInvalid, kShapeInvalid),
      shape_row(certs::Errc::kSealBroken, kShapeInternal),
      shape_row(domains::Errc::kTaken, kShapeConflict),
      shape_row(domains::Errc::kReserved, kShapeConflict),
      shape_row(domains::Errc::kQuotaExceeded, kShapeInvalid),
      shape_row(domains::Errc::kWorkspaceDeleting, kShapeConflict),
      // The routes answer these as a 422 naming the field (tenants_failed).
      shape_row(tenants::Errc::kUnknownTenant, kShapeInvalid),
      shape_row(tenants::Errc::kUnknownPlan, kShapeInvalid),
      shape_row(tenants::Errc::kWorkspaceQuota, kShapeInvalid),
      shape_row(tenants::Errc::kPlanQuota, kShapeInvalid),
      shape_row(tenants::Errc::kRegionNotAllowed, kShapeInvalid),
      shape_row(tenants::Errc::kTenantExists, kShapeConflict),
  };
  return rows;
}

}  // namespace

ProblemShape problem_shape(Code code) {
  switch (code) {
    case Code::kInvalidArgument: return kShapeInvalid;
    case Code::kParse: return kShapeBadRequest;
    case Code::kUnauthorized: return kShapeUnauthorized;
    case Code::kForbidden: return kShapeForbidden;
    case Code::kNotFound: return kShapeNotFound;
    case Code::kConflict: return kShapeConflict;
    case Code::kGone: return kShapeGone;
    case Code::kTooLarge: return kShapeTooLarge;
    case Code::kUnsupported: return kShapeUnsupported;
    case Code::kRateLimited: return kShapeRateLimited;
    case Code::kUnavailable:
    case Code::kTimeout: return kShapeUnavailable;
    case Code::kIo:
    case Code::kCrypto:
    case Code::kInternal: return kShapeInternal;
  }
  return kShapeInternal;
}

std::optional<ProblemShape> component_problem_shape(const Error& e) {
  for (const auto& r : component_rows()) {
    if (r.domain == e.domain && r.value == e.value) return r.shape;
  }
  return std::nullopt;
}

ProblemShape problem_shape(const Error& e) {
  if (e.domain == nullptr) return problem_shape(e.code);
  return component_problem_shape(e).value_or(problem_shape(e.code));
}

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
  if (e.domain != nullptr && !component_problem_shape(e)) {
    spdlog::warn("unmapped error code request_id={} code={} class={}", request_id, e.name(),
                 code_name(e.code));
  }
  const ProblemShape s = problem_shape(e);
  if (s.status == kShapeInvalid.status) return validation_failed({{"", e.detail}});
  if (s.status != kShapeInternal.status) {
    // The database is busy or unreachable (PostgreSQL restarting): retry soon.
    // The driver's message (server address, libpq text) stays in the log.
    if (e.is(storage::Errc::kBusy) || e.is(storage::Errc::kUnavailable)) {
      spdlog::warn("database unavailable request_id={} reason={}", request_id, e.detail);
      Response r = problem(s.status, s.type, s.title, "the database is unavailable; retry later");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    return problem(s.status, s.type, s.title, e.detail);
  }
  spdlog::error("internal error request_id={} code={} detail={}", request_id, e.name(), e.detail);
  return problem(500, "internal", "Internal Server Error",
                 "internal error; see the server log for request " + request_id);
}

}  // namespace fc::api

// problem+json builders: problem_from per code, never leaking internal detail.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "api/http.hpp"
#include "api/test_util.hpp"
#include "certs/pki.hpp"
#include "dns/server.hpp"
#include "domains/domain.hpp"
#include "scheduler/placement.hpp"
#include "storage/db.hpp"
#include "tenants/usage.hpp"

using namespace fc::api;
using nlohmann::json;

namespace {
using fc::api::test::body;
}  // namespace

TEST_SUITE("api") {
  TEST_CASE("a busy or unreachable database is 503 with Retry-After; other 503s are not") {
    auto has_retry = [](const fc::api::Response& r) {
      for (const auto& [k, v] : r.headers)
        if (k == "Retry-After") return v == "1";
      return false;
    };
    auto down = problem_from(fc::make_error(fc::storage::Errc::kUnavailable, "d"), "r");
    CHECK(down.status == 503);
    CHECK(has_retry(down));
    CHECK(has_retry(problem_from(fc::make_error(fc::storage::Errc::kBusy, "d"), "r")));
    auto closing = problem_from(fc::make_error(fc::storage::Errc::kClosing, "d"), "r");
    CHECK(closing.status == 503);
    CHECK_FALSE(has_retry(closing));
  }

  TEST_CASE("problem_from never leaks internal detail; maps each code to its status") {
    auto r =
        problem_from(fc::make_error(fc::Code::kIo, "sqlite: disk I/O error at /var/db"), "req_1");
    CHECK(r.status == 500);
    CHECK(r.body.find("sqlite") == std::string::npos);
    CHECK(r.body.find("req_1") != std::string::npos);
    CHECK(problem_from(fc::make_error(fc::Code::kCrypto, "EVP failure"), "r").body.find("EVP") ==
          std::string::npos);
    const std::pair<fc::Code, int> map[] = {
        {fc::Code::kInvalidArgument, 422},
        {fc::Code::kParse, 400},
        {fc::Code::kUnauthorized, 401},
        {fc::Code::kForbidden, 403},
        {fc::Code::kNotFound, 404},
        {fc::Code::kConflict, 409},
        {fc::Code::kGone, 410},
        {fc::Code::kTooLarge, 413},
        {fc::Code::kUnsupported, 415},
        {fc::Code::kRateLimited, 429},
        {fc::Code::kTimeout, 503},
        {fc::Code::kUnavailable, 503},
        {fc::Code::kInternal, 500},
    };
    for (const auto& [code, status] : map) {
      auto p = problem_from(fc::make_error(code, "d"), "r");
      CHECK(p.status == status);
      auto j = body(p);
      CHECK(j["status"] == status);
      CHECK(j["type"].get<std::string>().rfind("https://fleetcommand.dev/problems/", 0) == 0);
    }
    auto v = body(validation_failed({{"name", "must be a DNS label"}, {"resources", "required"}}));
    CHECK(v["errors"].size() == 2);
    CHECK(v["errors"][0]["field"] == "name");
  }

  TEST_CASE("every component code has a row in the API's table, with the status it answers") {
    namespace sch = fc::scheduler;
    namespace ce = fc::certs;
    // Every value of every component's Errc, with the status the API answers.
    // A new code without a row here fails the count check below; a code
    // without a row in api/detail/problem.cpp fails component_problem_shape.
    const std::pair<fc::Error, int> rows[] = {
        {fc::make_error(sch::Errc::kNoCapacity, "d"), 503},
        {fc::make_error(sch::Errc::kRegionExists, "d"), 409},
        {fc::make_error(sch::Errc::kRegionNotEmpty, "d"), 409},
        {fc::make_error(sch::Errc::kNameTaken, "d"), 409},
        {fc::make_error(sch::Errc::kDoesNotFit, "d"), 409},
        {fc::make_error(sch::Errc::kWorkspaceBusy, "d"), 409},
        {fc::make_error(sch::Errc::kConcurrentChange, "d"), 409},
        {fc::make_error(sch::Errc::kRevisionGone, "d"), 410},
        {fc::make_error(fc::storage::Errc::kConstraint, "d"), 409},
        {fc::make_error(fc::storage::Errc::kBusy, "d"), 503},
        {fc::make_error(fc::storage::Errc::kClosing, "d"), 503},
        {fc::make_error(fc::storage::Errc::kUnavailable, "d"), 503},
        {fc::make_error(fc::tenants::Errc::kUnknownTenant, "d"), 422},
        {fc::make_error(fc::tenants::Errc::kUnknownPlan, "d"), 422},
        {fc::make_error(fc::tenants::Errc::kWorkspaceQuota, "d"), 422},
        {fc::make_error(fc::tenants::Errc::kPlanQuota, "d"), 422},
        {fc::make_error(fc::tenants::Errc::kRegionNotAllowed, "d"), 422},
        {fc::make_error(fc::tenants::Errc::kTenantExists, "d"), 409},
        {fc::make_error(fc::dns::Errc::kNotAuth, "d"), 503},
        {fc::make_error(fc::dns::Errc::kBadResponseTsig, "d"), 503},
        {fc::make_error(fc::dns::Errc::kUpdateRejected, "d"), 503},
        {fc::make_error(ce::Errc::kCaRateLimited, "d"), 503},
        {fc::make_error(ce::Errc::kCaUnavailable, "d"), 503},
        {fc::make_error(ce::Errc::kCaNotFound, "d"), 503},
        {fc::make_error(ce::Errc::kCaForbidden, "d"), 503},
        {fc::make_error(ce::Errc::kCaConflict, "d"), 503},
        {fc::make_error(ce::Errc::kCaRejected, "d"), 422},
        {fc::make_error(ce::Errc::kCaProtocol, "d"), 503},
        {fc::make_error(ce::Errc::kOrderInvalid, "d"), 422},
        {fc::make_error(ce::Errc::kSealBroken, "d"), 500},
        {fc::make_error(fc::domains::Errc::kTaken, "d"), 409},
        {fc::make_error(fc::domains::Errc::kReserved, "d"), 409},
        {fc::make_error(fc::domains::Errc::kQuotaExceeded, "d"), 422},
        {fc::make_error(fc::domains::Errc::kWorkspaceDeleting, "d"), 409},
    };
    const fc::ErrorDomain* domains[] = {&sch::kErrorDomain,         &fc::storage::kErrorDomain,
                                        &fc::dns::kErrorDomain,     &ce::kErrorDomain,
                                        &fc::domains::kErrorDomain, &fc::tenants::kErrorDomain};
    std::size_t values = 0;
    for (const auto* d : domains) values += d->entries.size();
    CHECK(std::size(rows) == values);
    for (const auto& [e, status] : rows) {
      CAPTURE(e.name());
      REQUIRE(e.domain != nullptr);
      REQUIRE(component_problem_shape(e).has_value());
      CHECK(component_problem_shape(e)->status == status);
      auto p = problem_from(e, "r");
      CHECK(p.status == status);
      CHECK(body(p)["status"] == status);
    }
  }

  TEST_CASE("the component code decides the answer where it differs from its generic class") {
    auto nc = body(problem_from(fc::make_error(fc::scheduler::Errc::kNoCapacity, "full"), "r"));
    CHECK(nc["type"] == "https://fleetcommand.dev/problems/no-capacity");
    CHECK(nc["title"] == "No Capacity");
    CHECK(body(problem_from(fc::make_error(fc::Code::kUnavailable, "x"), "r"))["type"] ==
          "https://fleetcommand.dev/problems/unavailable");
    // A peer DNS server refusing our TSIG is not the HTTP client's 401.
    auto na = fc::make_error(fc::dns::Errc::kNotAuth, "NOTAUTH");
    CHECK(na.code == fc::Code::kUnauthorized);
    CHECK(problem_from(na, "r").status == 503);
    // A component code the table lacks answers by its generic class.
    fc::Error stray = fc::make_error(fc::scheduler::Errc::kNameTaken, "d");
    stray.value = 200;
    CHECK_FALSE(component_problem_shape(stray).has_value());
    CHECK(problem_shape(stray).status == 409);
  }

  TEST_CASE("json_response replaces invalid UTF-8 instead of throwing") {
    auto r = json_response(200, {{"s", std::string("bad \xff byte")}});
    CHECK(r.status == 200);
    CHECK(json::parse(r.body, nullptr, false).is_object());
  }
}

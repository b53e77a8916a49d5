// problem+json builders: problem_from per code, never leaking internal detail.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "api/http.hpp"
#include "api/test_util.hpp"

using namespace fc::api;
using nlohmann::json;

namespace {
using fc::api::test::body;
}  // namespace

TEST_SUITE("api") {
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
        {fc::Code::kNoCapacity, 503},
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

  TEST_CASE("json_response replaces invalid UTF-8 instead of throwing") {
    auto r = json_response(200, {{"s", std::string("bad \xff byte")}});
    CHECK(r.status == 200);
    CHECK(json::parse(r.body, nullptr, false).is_object());
  }
}

// parse_json_body: the content type, JSON syntax and UTF-8, objects only.
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
  TEST_CASE("parse_json_body: 415, 400 (syntax, UTF-8), 422 (not an object)") {
    auto with = [](std::string ct, std::string b) {
      Request r;
      if (!ct.empty()) r.headers["content-type"] = ct;
      r.body = std::move(b);
      return r;
    };
    Response err;
    CHECK(parse_json_body(with("application/json", R"({"a":1})"), err));
    CHECK(parse_json_body(with("Application/JSON; charset=utf-8", R"({})"), err));
    struct Case {
      const char* ct;
      std::string body;
      int status;
    };
    const Case cases[] = {
        {"text/plain", "{}", 415},
        {"", "{}", 415},
        {"application/jsonp", "{}", 415},
        {"application/json", "{", 400},
        {"application/json", "", 400},
        {"application/json", "{\"a\":\"\xff\"}", 400},
        {"application/json", "{\"a\":\"\xc3\"}", 400},
        {"application/json", "[]", 422},
        {"application/json", "42", 422},
    };
    for (const auto& c : cases) {
      CAPTURE(c.body);
      CAPTURE(c.ct);
      Response e;
      CHECK_FALSE(parse_json_body(with(c.ct, c.body), e));
      CHECK(e.status == c.status);
      CHECK(e.content_type == "application/problem+json");
      CHECK(body(e)["status"] == c.status);
    }
  }
}

#include "ctl/detail/api.hpp"

#include <doctest/doctest.h>

#include "ctl/detail/commands.hpp"

namespace fc::ctl {
namespace {

using nlohmann::json;

TEST_SUITE("ctl") {
  TEST_CASE("problem+json is printed as title, status, detail and one line per field") {
    HttpResponse r{422, "application/problem+json", "",
                   json{{"type", "x"},
                        {"title", "Unprocessable Content"},
                        {"status", 422},
                        {"detail", "the request has invalid fields"},
                        {"errors", {{{"field", "name"}, {"message", "must be a DNS label"}}}}}
                       .dump()};
    CHECK(describe_failure(r, "http://s") ==
          "Unprocessable Content (HTTP 422): the request has invalid fields\n"
          "  name: must be a DNS label");
    HttpResponse nc{
        503, "", "",
        json{{"title", "No capacity"}, {"regions", {{{"id", "r1"}, {"reason", "full"}}}}}.dump()};
    CHECK(describe_failure(nc, "http://s") == "No capacity (HTTP 503)\n  region r1: full");
  }

  TEST_CASE("a 401 names the token; a non-problem answer names the server") {
    HttpResponse r{401, "", "", json{{"title", "Unauthorized"}}.dump()};
    auto s = describe_failure(r, "http://s");
    CHECK(s.find("Unauthorized (HTTP 401)") == 0);
    CHECK(s.find("refused the token") != std::string::npos);
    HttpResponse html{404, "text/html", "", "<html>nope</html>"};
    CHECK(
        describe_failure(html, "http://s") ==
        "http://s answered HTTP 404 without a problem document (is it a fleetcommand API server?)");
  }

  TEST_CASE("version check: same API major passes, another is one line") {
    CHECK(version_mismatch(json{{"version", FC_TEST_VERSION}, {"api", "v1"}}, "http://s").empty());
    auto v2 = version_mismatch(json{{"version", "2.0.0"}, {"api", "v2"}}, "http://s");
    CHECK(v2.find("http://s runs fleetcommand 2.0.0 (API v2)") == 0);
    CHECK(v2.find('\n') == std::string::npos);
    CHECK(version_mismatch(json{{"status", "ok"}}, "http://s").find("not a fleetcommand") !=
          std::string::npos);
  }

  TEST_CASE("durations") {
    CHECK(parse_duration("10m").value() == std::chrono::minutes(10));
    CHECK(parse_duration("500ms").value() == std::chrono::milliseconds(500));
    CHECK(parse_duration("2").value() == std::chrono::seconds(2));
    CHECK(parse_duration("1h").value() == std::chrono::hours(1));
    CHECK_FALSE(parse_duration("soon"));
    CHECK_FALSE(parse_duration("5d"));
    CHECK_FALSE(parse_duration(""));
  }
}

}  // namespace
}  // namespace fc::ctl

// URLs, percent-encoding, problem documents, pagination and backoff: the pure
// parts of the shared client (client/wire.cpp).
#include <doctest/doctest.h>

#include "client/client.hpp"

namespace fc::client {
namespace {

using nlohmann::json;

TEST_SUITE("client") {
  TEST_CASE("URL forms") {
    auto u = parse_url("https://[::1]:8443/base/");
    REQUIRE(u);
    CHECK(u.value().tls);
    CHECK(u.value().host == "::1");
    CHECK(u.value().port == "8443");
    CHECK(u.value().base_path == "/base");
    auto d = parse_url("https://cp.example.com");
    REQUIRE(d);
    CHECK(d.value().port == "443");
    CHECK(d.value().base_path.empty());
    auto p = parse_url("http://fleet.example.com/api//");
    REQUIRE(p);
    CHECK_FALSE(p.value().tls);
    CHECK(p.value().port == "80");
    CHECK(p.value().base_path == "/api");
    auto z = parse_url("http://127.0.0.1:08080");
    REQUIRE(z);
    CHECK(z.value().port == "8080");
  }

  TEST_CASE("bad URLs name what is wrong") {
    struct Case {
      const char* url;
      const char* detail;
    };
    const Case cases[] = {
        {"ftp://x", "expected an http:// or https:// URL, got 'ftp://x'"},
        {"http://", "the URL has no host"},
        {"http://:80", "the URL has no host"},
        {"http://user@host", "the URL has no host"},
        {"http://[::1", "unterminated IPv6 literal"},
        {"http://[::1]x", "bad authority"},
        {"http://x:port", "port: expected an integer in 1..65535, got 'port'"},
        {"http://x:0", "port: expected an integer in 1..65535, got '0'"},
        {"http://x:99999", "port: expected an integer in 1..65535, got '99999'"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.url);
      auto u = parse_url(c.url);
      REQUIRE_FALSE(u);
      CHECK(u.error().code == Code::kInvalidArgument);
      CHECK(u.error().detail == c.detail);
    }
  }

  TEST_CASE("url_encode keeps only unreserved characters") {
    CHECK(url_encode("ws_01JD-a.b~c") == "ws_01JD-a.b~c");
    CHECK(url_encode("a b/c?d&e=f") == "a%20b%2Fc%3Fd%26e%3Df");
    CHECK(url_encode("é") == "%C3%A9");
    CHECK(url_encode("") == "");
  }

  TEST_CASE("problem documents") {
    auto p = decode_problem(json{
        {"type", "https://fleetcommand.dev/problems/invalid"},
        {"title", "Unprocessable Content"},
        {"status", 422},
        {"detail", "bad"},
        {"errors",
         {{{"field", "name"}, {"message", "must be a DNS label"}},
          "not an object",
          {{"message", "no field"}}}},
        {"regions",
         json::array()}}.dump());
    REQUIRE(p);
    CHECK(p->type == "https://fleetcommand.dev/problems/invalid");
    CHECK(p->title == "Unprocessable Content");
    CHECK(p->status == 422);
    CHECK(p->detail == "bad");
    REQUIRE(p->errors.size() == 2);
    CHECK(p->errors[0].field == "name");
    CHECK(p->errors[1].field.empty());
    CHECK(p->document.contains("regions"));
    // Members of the wrong type are left empty, never thrown on.
    auto odd = decode_problem(R"({"title": 5, "detail": "d", "status": "x", "errors": 3})");
    REQUIRE(odd);
    CHECK(odd->title.empty());
    CHECK(odd->detail == "d");
    CHECK(odd->status == 0);
    CHECK(odd->errors.empty());
    CHECK_FALSE(decode_problem("<html>nope</html>"));
    CHECK_FALSE(decode_problem(""));
    CHECK_FALSE(decode_problem("[1,2]"));
    CHECK_FALSE(decode_problem(R"({"items": []})"));
  }

  TEST_CASE("paginate follows next_cursor and honours the limit") {
    std::vector<std::string> asked;
    auto fetch = [&](const std::string& q) -> Result<json> {
      asked.push_back(q);
      if (asked.size() == 1) return json{{"items", {1, 2}}, {"next_cursor", "c 1/2"}};
      if (asked.size() == 2) return json{{"items", {3, 4}}, {"next_cursor", "c2"}};
      return json{{"items", {5}}, {"next_cursor", nullptr}};
    };
    auto all = paginate(fetch, "GET /v1/x", "?state=active", 2, 0);
    REQUIRE(all);
    CHECK(all.value() == std::vector<json>{1, 2, 3, 4, 5});
    CHECK(asked == std::vector<std::string>{"?state=active&limit=2",
                                            "?state=active&limit=2&cursor=c%201%2F2",
                                            "?state=active&limit=2&cursor=c2"});
    asked.clear();
    auto three = paginate(fetch, "GET /v1/x", "", 2, 3);
    REQUIRE(three);
    CHECK(three.value().size() == 3);
    CHECK(asked == std::vector<std::string>{"?limit=2", "?limit=1&cursor=c%201%2F2"});
  }

  TEST_CASE("paginate: a page without items, and a failing page") {
    auto bad = paginate(
        [](const std::string&) -> Result<json> {
          return json{{"x", 1}};
        },
        "GET /v1/x", "", 10, 0);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Code::kParse);
    CHECK(bad.error().detail == "GET /v1/x answered without an items list");
    auto down = paginate(
        [](const std::string&) -> Result<json> { return make_error(Code::kUnavailable, "down"); },
        "GET /v1/x", "", 10, 0);
    REQUIRE_FALSE(down);
    CHECK(down.error().code == Code::kUnavailable);
  }

  TEST_CASE("backoff doubles and is capped") {
    using std::chrono::milliseconds;
    milliseconds d{0};
    std::vector<long> seen;
    for (int i = 0; i < 7; ++i) {
      d = next_backoff(d, milliseconds(250), milliseconds(5000));
      seen.push_back(static_cast<long>(d.count()));
    }
    CHECK(seen == std::vector<long>{250, 500, 1000, 2000, 4000, 5000, 5000});
    CHECK(next_backoff(milliseconds(0), milliseconds(9000), milliseconds(5000)).count() == 5000);
  }
}

}  // namespace
}  // namespace fc::client

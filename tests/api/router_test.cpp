// The router as a plain function: matching, 404 vs 405, bearer
// authentication, scopes, rate limiting.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "api/http.hpp"
#include "api/test_util.hpp"

using namespace fc::api;
using nlohmann::json;

namespace {

Handler echo(std::string name) {
  return [name](Request& r) -> fc::awaitable<Response> {
    json params = r.params;
    co_return json_response(200, {{"handler", name}, {"params", params}});
  };
}

fc::awaitable<void> run_dispatch(const Router* router, Request* req, Response* out) {
  *out = co_await router->dispatch(*req);
}

Response dispatch(const Router& router, Request req) {
  fc::asio::io_context io;
  Response out;
  out.status = -1;
  fc::asio::co_spawn(io, run_dispatch(&router, &req, &out), fc::asio::detached);
  io.run();
  REQUIRE(out.status != -1);
  return out;
}

Request req(std::string method, std::string path, std::string token = "") {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
  r.request_id = "req_test";
  return r;
}

// Tokens "admin-token", "agent-token-a", "tenant-token-w" are known.
Router make_router() {
  Router rt;
  rt.add("GET", "/healthz", Scope::kPublic, echo("health"));
  rt.add("GET", "/v1/regions/{id}", Scope::kAdmin, echo("region"));
  rt.add("DELETE", "/v1/regions/{id}", Scope::kAdmin, echo("region-delete"));
  rt.add("GET", "/v1/workspaces/{id}", Scope::kAdminOrTenant, echo("workspace"));
  rt.add("GET", "/v1/agent/assignments", Scope::kAgent, echo("assignments"));
  rt.set_authenticator([](const std::string& t) -> std::optional<Principal> {
    if (t == "admin-token") return Principal{"tok_1", TokenKind::kAdmin, "", "", ""};
    if (t == "agent-token-a") return Principal{"tok_2", TokenKind::kAgent, "a", "", ""};
    if (t == "tenant-token-w") return Principal{"tok_3", TokenKind::kTenant, "", "ws_w", ""};
    return std::nullopt;
  });
  return rt;
}

using fc::api::test::body;

}  // namespace

TEST_SUITE("api") {
  TEST_CASE("matching: params, 404 for unknown paths, 405 with Allow for known ones") {
    auto rt = make_router();
    auto r = dispatch(rt, req("GET", "/v1/regions/eu-west-1", "admin-token"));
    CHECK(r.status == 200);
    CHECK(body(r)["params"]["id"] == "eu-west-1");
    CHECK(dispatch(rt, req("GET", "/v1/regions", "admin-token")).status == 404);
    CHECK(dispatch(rt, req("GET", "/v1/regions/", "admin-token")).status == 404);  // empty param
    CHECK(dispatch(rt, req("GET", "/v1/regions/a/b", "admin-token")).status == 404);
    auto m = dispatch(rt, req("POST", "/v1/regions/x", "admin-token"));
    CHECK(m.status == 405);
    bool has_allow = false;
    for (const auto& [k, v] : m.headers) has_allow |= k == "Allow" && v == "GET, DELETE";
    CHECK(has_allow);
    CHECK(m.content_type == "application/problem+json");
  }

  TEST_CASE("matching: paths deeper than the inline segments, two params, the first route wins") {
    Router rt;
    rt.add("GET", "/a/{x}/c/d/e/f/g/h/i/{y}", Scope::kPublic, echo("deep"));
    rt.add("GET", "/a/{x}/c/d/e/f/g/h/i/{y}", Scope::kPublic, echo("second"));
    rt.add("PUT", "/a/{x}/c/d/e/f/g/h/i/j/k", Scope::kPublic, echo("put"));
    auto r = dispatch(rt, req("GET", "/a/1/c/d/e/f/g/h/i/2"));
    CHECK(r.status == 200);
    CHECK(body(r)["handler"] == "deep");
    CHECK(body(r)["params"] == json{{"x", "1"}, {"y", "2"}});
    CHECK(dispatch(rt, req("GET", "/a/1/c/d/e/f/g/h/i/j/k")).status == 405);
    CHECK(dispatch(rt, req("GET", "/a/1/c/d/e/f/g/h/x/j/k")).status == 404);
    CHECK(dispatch(rt, req("GET", "/a/1/c/d/e/f/g/h/i/")).status == 404);
  }

  TEST_CASE("scopes: every token kind against every scope") {
    auto rt = make_router();
    struct Case {
      const char* method;
      const char* path;
      const char* token;
      int status;
    };
    const Case cases[] = {
        {"GET", "/healthz", "", 200},
        {"GET", "/healthz", "garbage", 200},
        {"GET", "/v1/regions/x", "", 401},
        {"GET", "/v1/regions/x", "garbage", 401},
        {"GET", "/v1/regions/x", "admin-token", 200},
        {"GET", "/v1/regions/x", "agent-token-a", 403},
        {"GET", "/v1/regions/x", "tenant-token-w", 403},
        {"GET", "/v1/workspaces/ws_w", "admin-token", 200},
        {"GET", "/v1/workspaces/ws_w", "tenant-token-w", 200},
        {"GET", "/v1/workspaces/ws_w", "agent-token-a", 403},
        {"GET", "/v1/workspaces/ws_w", "", 401},
        {"GET", "/v1/agent/assignments", "agent-token-a", 200},
        {"GET", "/v1/agent/assignments", "admin-token", 403},
        {"GET", "/v1/agent/assignments", "tenant-token-w", 403},
        {"GET", "/v1/agent/assignments", "", 401},
    };
    for (const auto& c : cases) {
      CAPTURE(c.path);
      CAPTURE(c.token);
      auto r = dispatch(rt, req(c.method, c.path, c.token));
      CHECK(r.status == c.status);
      if (c.status == 401) {
        bool www = false;
        for (const auto& [k, v] : r.headers) www |= k == "WWW-Authenticate" && v == "Bearer";
        CHECK(www);
      }
    }
    // Not "Bearer": unauthenticated even with a valid token value.
    auto basic = req("GET", "/v1/regions/x");
    basic.headers["authorization"] = "Basic admin-token";
    CHECK(dispatch(rt, basic).status == 401);
  }

  TEST_CASE("the rate limiter answers 429 with Retry-After, per principal") {
    auto rt = make_router();
    int calls = 0;
    rt.set_rate_limiter([&calls](const Principal& p) -> std::optional<int> {
      ++calls;
      if (p.token_id == "tok_1") return 3;
      return std::nullopt;
    });
    auto r = dispatch(rt, req("GET", "/v1/regions/x", "admin-token"));
    CHECK(r.status == 429);
    bool retry = false;
    for (const auto& [k, v] : r.headers) retry |= k == "Retry-After" && v == "3";
    CHECK(retry);
    CHECK(dispatch(rt, req("GET", "/v1/workspaces/ws_w", "tenant-token-w")).status == 200);
    CHECK(dispatch(rt, req("GET", "/healthz")).status == 200);  // public routes are not limited
    CHECK(calls == 2);
  }
}

// A response's bytes (api/detail/response_wire.hpp): the same bytes as
// Beast's serializer for the message the server used to build, for every
// shape of answer the API gives, and Beast's own for the rest.
#include <doctest/doctest.h>

#include "api/detail/response_wire.hpp"

using namespace fc::api;
using fc::api::detail::beast_serialize;
using fc::api::detail::serialize_response;
using fc::api::detail::wire_response;

namespace {

Response make(int status, std::string body, std::vector<std::pair<std::string, std::string>> h = {},
              std::string ct = "application/json") {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(h);
  r.content_type = std::move(ct);
  return r;
}

void same_as_beast(const Response& r) {
  for (unsigned version : {10u, 11u}) {
    for (bool keep : {false, true}) {
      for (std::string rid : {"", "req_0123456789abcdef"}) {
        std::string fast;
        CAPTURE(r.status);
        CAPTURE(version);
        CAPTURE(keep);
        CAPTURE(rid);
        REQUIRE(serialize_response(r, version, keep, rid, fast));
        CHECK(fast == beast_serialize(r, version, keep, rid));
      }
    }
  }
}

}  // namespace

TEST_CASE("the serialized answer is Beast's, byte for byte") {
  same_as_beast(make(201, R"({"id":"ws_1","name":"a"})"));
  same_as_beast(make(200, ""));
  same_as_beast(make(200, "<html></html>", {}, "text/html; charset=utf-8"));
  same_as_beast(make(200, "no type", {}, ""));
  same_as_beast(make(202, "{}", {{"Location", "/v1/workspaces/ws_1"}}));
  same_as_beast(make(401, "{}", {{"WWW-Authenticate", "Bearer"}}, "application/problem+json"));
  same_as_beast(make(405, "{}", {{"Allow", "GET, POST"}}, "application/problem+json"));
  same_as_beast(make(429, "{}", {{"Retry-After", "3"}, {"X-Other", "  padded\t "}}));
  same_as_beast(make(503, "{}", {{"retry-after", "1"}}));
  for (int s : {400, 403, 404, 409, 410, 412, 413, 415, 422, 431, 500, 502, 504, 599})
    same_as_beast(make(s, "{\"status\":" + std::to_string(s) + "}"));
  Response closing = make(503, "{}", {{"Retry-After", "1"}});
  closing.close = true;
  same_as_beast(closing);
  same_as_beast(make(200, std::string(100000, 'x')));
}

TEST_CASE("what only Beast's message gets right falls back to it") {
  std::string out;
  for (const Response& r :
       {make(204, ""), make(304, ""), make(200, "{}", {{"Link", "a"}, {"link", "b"}}),
        make(200, "{}", {{"Content-Type", "text/plain"}}),
        make(200, "{}", {{"connection", "close"}}), make(200, "{}", {{"X-Bad", "a\r\nb: c"}})}) {
    CAPTURE(r.status);
    CHECK_FALSE(serialize_response(r, 11, true, "req_1", out));
    wire_response(r, 11, true, "req_1", out);
    CHECK(out == beast_serialize(r, 11, true, "req_1"));
  }
}

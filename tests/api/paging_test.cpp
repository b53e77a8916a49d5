// Paging parameters of list routes: the cursor decoder and limit checks.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "api/detail/paging.hpp"
#include "common/ids.hpp"

using fc::api::FieldError;
using fc::api::Request;
using fc::api::detail::decode_cursor;
using fc::api::detail::read_page_query;

namespace {

Request paging_request(std::map<std::string, std::string> query) {
  Request r;
  r.query = std::move(query);
  return r;
}

}  // namespace

TEST_SUITE("api") {
  TEST_CASE("decode_cursor accepts the ids the API hands out and nothing else") {
    fc::IdGenerator ids;
    const std::string id = ids.next("ws_", 1'700'000'000'000);
    CHECK(decode_cursor(id, "ws_") == id);
    std::string upper = id;
    upper[5] = 'J';
    std::string outside = id;
    outside.back() = 'i';  // Crockford base32 has no i, l, o, u
    std::string space = id;
    space.back() = ' ';
    const std::string bad[] = {
        "%%%%",  "ws_", "ws_01",  "dom_" + id.substr(3),       upper,
        outside, space, id + "0", id.substr(0, id.size() - 1), std::string(id.size(), '\0')};
    for (const auto& c : bad) {
      CAPTURE(c);
      CHECK_FALSE(decode_cursor(c, "ws_").has_value());
    }
    CHECK_FALSE(decode_cursor(id, "dom_").has_value());
  }

  TEST_CASE("read_page_query: defaults, bounds, and one error per bad field") {
    std::vector<FieldError> errors;
    auto q = read_page_query(paging_request({}), "ws_", errors);
    CHECK(errors.empty());
    CHECK(q.limit == 100);
    CHECK(q.after.empty());
    q = read_page_query(paging_request({{"limit", "1000"}, {"cursor", ""}}), "ws_", errors);
    CHECK(errors.empty());
    CHECK(q.limit == 1000);
    for (const char* limit : {"0", "-1", "1001", "99999", "abc", "", "1e3", " 5", "100000000"}) {
      CAPTURE(limit);
      errors.clear();
      (void)read_page_query(paging_request({{"limit", limit}}), "ws_", errors);
      REQUIRE(errors.size() == 1);
      CHECK(errors[0].field == "limit");
    }
    errors.clear();
    (void)read_page_query(paging_request({{"limit", "x"}, {"cursor", "%%%%"}}), "ws_", errors);
    REQUIRE(errors.size() == 2);
    CHECK(errors[0].field == "limit");
    CHECK(errors[1].field == "cursor");
  }
}

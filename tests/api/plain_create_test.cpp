// read_plain_create (api/detail/json_in.hpp): the create body it accepts is
// one the DOM path (nlohmann's parse, then JsonIn as read_workspace reads it)
// reads without an error, to the same values; everything else falls back to
// the DOM path, so every 400/422 stays the DOM path's.
#include <doctest/doctest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "api/detail/json_in.hpp"

using fc::api::FieldError;
using fc::api::detail::JsonIn;
using fc::api::detail::PlainCreate;
using fc::api::detail::read_plain_create;
using nlohmann::json;

namespace {

// The DOM path's reading of a body that names only these fields (workspace
// routes: parse_json_body, read_workspace, read_resources); nullopt when it
// would answer 400 or 422, or when the body names anything else.
std::optional<PlainCreate> dom_read(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  std::vector<FieldError> errors;
  JsonIn in(errors);
  in.only(j, {"name", "resources"}, "");
  PlainCreate out;
  out.name = in.str(j, "name", "name", true).value_or("");
  const json* res = in.object(j, "resources", "resources", true);
  if (res) {
    in.only(*res, {"memory_mib", "cpu_millis"}, "resources.");
    auto m = in.integer(*res, "memory_mib", "resources.memory_mib", true);
    auto c = in.integer(*res, "cpu_millis", "resources.cpu_millis", true);
    if (m) out.memory_mib = *m;
    if (c) out.cpu_millis = *c;
  }
  if (!errors.empty()) return std::nullopt;
  return out;
}

void same(const std::string& body) {
  const auto fast = read_plain_create(body);
  if (!fast) return;  // the DOM path reads it: nothing to compare
  const auto dom = dom_read(body);
  REQUIRE_MESSAGE(dom.has_value(), body);
  CHECK_MESSAGE(fast->name == dom->name, body);
  CHECK_MESSAGE(fast->memory_mib == dom->memory_mib, body);
  CHECK_MESSAGE(fast->cpu_millis == dom->cpu_millis, body);
}

}  // namespace

TEST_SUITE("api") {
  TEST_CASE("plain create: the common bodies are read without a DOM, to the DOM's values") {
    const char* accepted[] = {
        R"({"name":"web-1","resources":{"memory_mib":512,"cpu_millis":250}})",
        R"({"resources":{"cpu_millis":250,"memory_mib":512},"name":"web-1"})",
        " \t\r\n{ \"name\" : \"a b\" , \"resources\" : { \"memory_mib\" : 0 , \"cpu_millis\" : 1 } "
        "} \n",
        R"({"name":"","resources":{"memory_mib":1,"cpu_millis":1}})",
        R"({"name":"x","resources":{"memory_mib":999999999999999999,"cpu_millis":1}})",
    };
    for (const char* b : accepted) {
      INFO(b);
      CHECK(read_plain_create(b).has_value());
      same(b);
    }
    const auto p =
        read_plain_create(R"({"name":"web-1","resources":{"memory_mib":512,"cpu_millis":250}})");
    REQUIRE(p);
    CHECK(p->name == "web-1");
    CHECK(p->memory_mib == 512);
    CHECK(p->cpu_millis == 250);
  }

  TEST_CASE("plain create: anything else takes the DOM path") {
    const char* other[] = {
        "",
        "{}",
        "[]",
        "null",
        R"({"name":"web-1"})",
        R"({"resources":{"memory_mib":1,"cpu_millis":1}})",
        R"({"name":"w\u00e9","resources":{"memory_mib":1,"cpu_millis":1}})",
        R"({"name":"w\"x","resources":{"memory_mib":1,"cpu_millis":1}})",
        "{\"name\":\"caf\xc3\xa9\",\"resources\":{\"memory_mib\":1,\"cpu_millis\":1}}",
        "{\"name\":\"bad\xff\",\"resources\":{\"memory_mib\":1,\"cpu_millis\":1}}",
        "{\"name\":\"tab\there\",\"resources\":{\"memory_mib\":1,\"cpu_millis\":1}}",
        R"({"name":"a","name":"b","resources":{"memory_mib":1,"cpu_millis":1}})",
        R"({"name":"a","resources":{"memory_mib":1,"memory_mib":2,"cpu_millis":1}})",
        R"({"name":"a","resources":{"memory_mib":1,"cpu_millis":1},"spec":{}})",
        R"({"name":"a","resources":{"memory_mib":1,"cpu_millis":1},"tenant":"t"})",
        R"({"name":"a","resources":{"memory_mib":1,"cpu_millis":1,"disk":1}})",
        R"({"name":"a","resources":{"memory_mib":-1,"cpu_millis":1}})",
        R"({"name":"a","resources":{"memory_mib":1.0,"cpu_millis":1}})",
        R"({"name":"a","resources":{"memory_mib":1e3,"cpu_millis":1}})",
        R"({"name":"a","resources":{"memory_mib":01,"cpu_millis":1}})",
        R"({"name":"a","resources":{"memory_mib":1000000000000000000,"cpu_millis":1}})",
        R"({"name":"a","resources":{"memory_mib":"1","cpu_millis":1}})",
        R"({"name":"a","resources":{"memory_mib":null,"cpu_millis":1}})",
        R"({"name":1,"resources":{"memory_mib":1,"cpu_millis":1}})",
        R"({"name":"a","resources":{"memory_mib":1,"cpu_millis":1}} x)",
        R"({"name":"a","resources":{"memory_mib":1,"cpu_millis":1}}{})",
        R"({"name":"a","resources":{"memory_mib":1,"cpu_millis":1},})",
        R"({"name":"a","resources":{"memory_mib":1,"cpu_millis":1,}})",
        R"({"name":"a","resources":{"memory_mib":1,"cpu_millis":1})",
        "\xef\xbb\xbf{\"name\":\"a\",\"resources\":{\"memory_mib\":1,\"cpu_millis\":1}}",
        R"({"n\u0061me":"a","resources":{"memory_mib":1,"cpu_millis":1}})",
    };
    for (const char* b : other) {
      INFO(b);
      CHECK_FALSE(read_plain_create(b).has_value());
    }
  }

  TEST_CASE("plain create: mutated bodies it accepts are read the same by the DOM path") {
    const std::string base = R"({"name":"web-1","resources":{"memory_mib":512,"cpu_millis":250}})";
    const std::string alphabet = "{}[]\":,. \t\n0123456789-+eE\\uabnmrcx\xc3\xa9\xff";
    std::mt19937 rng(20261207);
    int accepted = 0;
    for (int i = 0; i < 30000; ++i) {
      std::string b = base;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        const std::size_t at = rng() % (b.size() + 1);
        const char c = alphabet[rng() % alphabet.size()];
        switch (rng() % 3) {
          case 0:
            if (at < b.size()) b[at] = c;
            break;
          case 1: b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), c); break;
          default:
            if (at < b.size()) b.erase(at, 1);
        }
      }
      if (read_plain_create(b)) ++accepted;
      same(b);
    }
    CHECK(accepted > 0);  // some mutations (digits, spaces) stay in the plain shape
  }
}

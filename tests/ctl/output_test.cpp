#include "ctl/detail/output.hpp"

#include <doctest/doctest.h>

namespace fc::ctl {
namespace {

using nlohmann::json;

TEST_SUITE("ctl") {
  TEST_CASE("relative times: seconds, minutes, hours, days, future") {
    const std::int64_t now = 1'800'000'000;
    struct Case {
      std::int64_t t;
      const char* want;
    };
    for (Case c :
         {Case{now, "just now"}, Case{now - 1, "just now"}, Case{now - 42, "42s ago"},
          Case{now - 180, "3m ago"}, Case{now - 3599, "59m ago"}, Case{now - 3600, "1h ago"},
          Case{now - 47 * 3600, "47h ago"}, Case{now - 3 * 86400, "3d ago"},
          Case{now + 89 * 86400, "in 89d"}, Case{now + 90, "in 1m"}}) {
      CAPTURE(c.want);
      CHECK(relative_time(c.t, now) == c.want);
    }
  }

  TEST_CASE("RFC 3339 parsing: Z, fractions, offsets; garbage rejected") {
    CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
    CHECK(parse_rfc3339("2026-12-06T13:05:52Z") == 1796562352);
    CHECK(parse_rfc3339("2026-12-06T13:05:52.123Z") == 1796562352);
    CHECK(parse_rfc3339("2026-12-06T14:05:52+01:00") == 1796562352);
    CHECK_FALSE(parse_rfc3339("2026-12-06").has_value());
    CHECK_FALSE(parse_rfc3339("2026-12-06T13:05:52").has_value());
    CHECK_FALSE(parse_rfc3339("yesterday").has_value());
    CHECK(rel_field(json(nullptr), 0) == "-");
    CHECK(rel_field(json("not a time"), 0) == "not a time");
  }

  TEST_CASE("tables: aligned columns, wide-only columns, no trailing blanks, ANSI not counted") {
    std::vector<Column> cols = {
        {"NAME", [](const json& j) { return j["n"].get<std::string>(); }},
        {"STATE",
         [](const json& j) { return colour_status(j["s"].get<std::string>(), Style{true}); }},
        {"EXTRA", [](const json&) { return std::string("x"); }, true}};
    std::vector<json> items = {{{"n", "a"}, {"s", "active"}}, {{"n", "longer-name"}, {"s", "odd"}}};
    CHECK(render_table(cols, items, false) ==
          "NAME          STATE\n"
          "a             \x1b[32mactive\x1b[0m\n"
          "longer-name   odd\n");
    CHECK(render_table(cols, items, true) ==
          "NAME          STATE    EXTRA\n"
          "a             \x1b[32mactive\x1b[0m   x\n"
          "longer-name   odd      x\n");
  }

  TEST_CASE("colour only when asked; unknown words (new phases) pass through") {
    CHECK(colour_status("failed", Style{false}) == "failed");
    CHECK(colour_status("failed", Style{true}) == "\x1b[31mfailed\x1b[0m");
    CHECK(colour_status("degraded-someday", Style{true}) == "degraded-someday");
  }

  TEST_CASE("cells: null, empty, arrays, objects") {
    CHECK(cell_text(json(nullptr)) == "-");
    CHECK(cell_text(json("")) == "-");
    CHECK(cell_text(json::array({"a", "b"})) == "a,b");
    CHECK(cell_text(json{{"k", "v"}, {"n", 2}}) == "k=v,n=2");
    CHECK(cell_text(json(7)) == "7");
  }

  TEST_CASE("YAML output keeps strings that look like other scalars as strings") {
    json j = {{"a", "true"},        {"b", 1},
              {"c", nullptr},       {"d", json::array({"x"})},
              {"e", false},         {"f", json::array()},
              {"g", json::object()}};
    auto y = to_yaml(j);
    CHECK(y.find("a: \"true\"") != std::string::npos);
    CHECK(y.find("b: 1") != std::string::npos);
    CHECK(y.find("c: ~") != std::string::npos);
    CHECK(y.find("- \"x\"") != std::string::npos);
    CHECK(y.find("e: false") != std::string::npos);
    CHECK(y.find("f: []") != std::string::npos);
    CHECK(y.find("g: {}") != std::string::npos);
  }

  TEST_CASE("output formats") {
    CHECK(parse_format("json").value() == Format::kJson);
    CHECK(parse_format("").value() == Format::kTable);
    CHECK(parse_format("wide").value() == Format::kWide);
    CHECK(parse_format("yaml").value() == Format::kYaml);
    CHECK_FALSE(parse_format("xml"));
  }
}

}  // namespace
}  // namespace fc::ctl

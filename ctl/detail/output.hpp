// What ctl prints: aligned tables (kubectl-style column sets, `-o wide` adds
// columns), relative times, colour only on a terminal without NO_COLOR, and
// the API's JSON unchanged as JSON or YAML.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace fc::ctl {

enum class Format { kTable, kWide, kJson, kYaml };
Result<Format> parse_format(std::string_view s);

// Seconds since the epoch of an RFC 3339 UTC time ("2026-12-06T13:05:52Z",
// fractions and offsets accepted); nullopt when it is not one.
std::optional<std::int64_t> parse_rfc3339(std::string_view s);
// "3m ago", "in 89d", "just now"; `now` and `t` in seconds since the epoch.
std::string relative_time(std::int64_t t, std::int64_t now);
// relative_time of a JSON time field; "-" when it is null or absent.
std::string rel_field(const nlohmann::json& v, std::int64_t now);

struct Column {
  std::string header;
  std::function<std::string(const nlohmann::json&)> cell;
  bool wide_only = false;
};

struct Style {
  bool colour = false;  // ANSI colours (a terminal and no NO_COLOR)
};

// Colours a status word: green for healthy/active/running/valid, yellow for
// pending and in-between states, red for failures; unknown words unchanged.
std::string colour_status(const std::string& word, const Style& s);

// An aligned table: headers, then one row per item, columns separated by three
// spaces, no trailing blanks. Cells may carry ANSI colour (not counted in width).
std::string render_table(const std::vector<Column>& cols, const std::vector<nlohmann::json>& items,
                         bool wide);

// The JSON value as a YAML document (yaml-cpp's emitter).
std::string to_yaml(const nlohmann::json& j);

// A short text of a JSON value for a table cell: strings bare, null "-",
// arrays joined with ",", objects as k=v pairs.
std::string cell_text(const nlohmann::json& v);

}  // namespace fc::ctl

#include "ctl/detail/output.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace fc::ctl {

using nlohmann::json;

Result<Format> parse_format(std::string_view s) {
  if (s.empty() || s == "table") return Format::kTable;
  if (s == "wide") return Format::kWide;
  if (s == "json") return Format::kJson;
  if (s == "yaml") return Format::kYaml;
  return make_error(Code::kInvalidArgument,
                    "unknown output format '" + std::string(s) + "' (table, wide, json, yaml)");
}

namespace {

bool ctl_digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// Visible width: ANSI escape sequences take no room; UTF-8 continuation bytes neither.
size_t visible_width(std::string_view s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b') {
      while (i < s.size() && s[i] != 'm') ++i;
      continue;
    }
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++w;
  }
  return w;
}

std::string ctl_unit(std::int64_t n, const char* unit) { return std::to_string(n) + unit; }

std::string span_text(std::int64_t d) {
  if (d < 60) return ctl_unit(d, "s");
  if (d < 3600) return ctl_unit(d / 60, "m");
  if (d < 48 * 3600) return ctl_unit(d / 3600, "h");
  return ctl_unit(d / 86400, "d");
}

void emit_yaml(YAML::Emitter& e, const json& j) {
  switch (j.type()) {
    case json::value_t::object:
      if (j.empty()) e << YAML::Flow;  // "spec: {}" rather than a block on its own line
      e << YAML::BeginMap;
      for (const auto& [k, v] : j.items()) {
        e << YAML::Key << k << YAML::Value;
        emit_yaml(e, v);
      }
      e << YAML::EndMap;
      return;
    case json::value_t::array:
      if (j.empty()) e << YAML::Flow;
      e << YAML::BeginSeq;
      for (const auto& v : j) emit_yaml(e, v);
      e << YAML::EndSeq;
      return;
    case json::value_t::string:
      // Quoted when YAML would read it as something else ("true", "1", "null").
      e << YAML::DoubleQuoted << j.get<std::string>();
      return;
    case json::value_t::null: e << YAML::Null; return;
    case json::value_t::boolean: e << j.get<bool>(); return;
    case json::value_t::number_integer: e << j.get<std::int64_t>(); return;
    case json::value_t::number_unsigned: e << j.get<std::uint64_t>(); return;
    case json::value_t::number_float: e << j.get<double>(); return;
    default: e << YAML::Null; return;
  }
}

}  // namespace

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
  std::tm tm{};
  int y, mo, d, h, mi, sec;
  if (!ctl_digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !ctl_digits(s, 5, 2, mo) ||
      s[7] != '-' || !ctl_digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !ctl_digits(s, 11, 2, h) || s[13] != ':' || !ctl_digits(s, 14, 2, mi) || s[16] != ':' ||
      !ctl_digits(s, 17, 2, sec))
    return std::nullopt;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  }
  std::int64_t offset = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!ctl_digits(s, i + 1, 2, oh) || i + 3 >= s.size() || !ctl_digits(s, i + 4, 2, om))
      return std::nullopt;
    offset = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  } else if (i >= s.size() || (s[i] != 'Z' && s[i] != 'z')) {
    return std::nullopt;
  }
  tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
  tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
  return static_cast<std::int64_t>(timegm(&tm)) - offset;
}

std::string relative_time(std::int64_t t, std::int64_t now) {
  std::int64_t d = now - t;
  if (d >= -1 && d <= 1) return "just now";
  if (d > 0) return span_text(d) + " ago";
  return "in " + span_text(-d);
}

std::string rel_field(const json& v, std::int64_t now) {
  if (!v.is_string()) return "-";
  auto t = parse_rfc3339(v.get<std::string>());
  return t ? relative_time(*t, now) : v.get<std::string>();
}

std::string colour_status(const std::string& word, const Style& s) {
  if (!s.colour) return word;
  static const char* kGreen[] = {"healthy", "active", "running", "valid", "synced", "true"};
  static const char* kRed[] = {"unhealthy", "failed", "expired", "moved", "false"};
  static const char* kYellow[] = {
      "pending",  "pending_verification", "issuing",   "renewing", "cordoned",
      "draining", "provisioning",         "migrating", "deleting", "unknown"};
  auto in = [&](const auto& list) {
    return std::find(std::begin(list), std::end(list), word) != std::end(list);
  };
  if (in(kGreen)) return "\x1b[32m" + word + "\x1b[0m";
  if (in(kRed)) return "\x1b[31m" + word + "\x1b[0m";
  if (in(kYellow)) return "\x1b[33m" + word + "\x1b[0m";
  return word;
}

std::string render_table(const std::vector<Column>& cols, const std::vector<json>& items,
                         bool wide) {
  std::vector<const Column*> shown;
  for (const auto& c : cols)
    if (wide || !c.wide_only) shown.push_back(&c);
  std::vector<std::vector<std::string>> rows;
  rows.emplace_back();
  for (const auto* c : shown) rows.back().push_back(c->header);
  for (const auto& it : items) {
    rows.emplace_back();
    for (const auto* c : shown) rows.back().push_back(c->cell(it));
  }
  std::vector<size_t> width(shown.size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], visible_width(r[i]));
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - visible_width(r[i]) + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string to_yaml(const json& j) {
  YAML::Emitter e;
  emit_yaml(e, j);
  return std::string(e.c_str()) + "\n";
}

std::string cell_text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_array()) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + cell_text(x);
    return s.empty() ? "-" : s;
  }
  if (v.is_object()) {
    std::string s;
    for (const auto& [k, x] : v.items()) s += (s.empty() ? "" : ",") + k + "=" + cell_text(x);
    return s.empty() ? "-" : s;
  }
  return v.dump();
}

}  // namespace fc::ctl

#include "api/detail/json_in.hpp"

namespace fc::api::detail {

using nlohmann::json;

namespace {
// PostgreSQL's text cannot hold U+0000 (libpq passes text parameters as C
// strings: a description "a\u0000b" was stored as "a" there, whole on
// SQLite). Refused on both backends, so the API answers alike.
constexpr const char* kNul = "must not contain a NUL character";
bool has_nul(const std::string& s) { return s.find('\0') != std::string::npos; }
}  // namespace

std::optional<std::string> JsonIn::str(const json& o, const std::string& key,
                                       const std::string& field, bool required) {
  if (!o.contains(key) || o[key].is_null()) {
    if (required) error(field, "is required");
    return std::nullopt;
  }
  if (!o[key].is_string()) {
    error(field, "must be a string");
    return std::nullopt;
  }
  std::string v = o[key].get<std::string>();
  if (has_nul(v)) {
    error(field, kNul);
    return std::nullopt;
  }
  return v;
}

std::optional<std::int64_t> JsonIn::integer(const json& o, const std::string& key,
                                            const std::string& field, bool required) {
  if (!o.contains(key) || o[key].is_null()) {
    if (required) error(field, "is required");
    return std::nullopt;
  }
  const json& v = o[key];
  if (!v.is_number_integer()) {
    error(field, "must be an integer");
    return std::nullopt;
  }
  if (v.is_number_unsigned() &&
      v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX / 4)) {
    error(field, "is too large");
    return std::nullopt;
  }
  std::int64_t x = v.get<std::int64_t>();
  if (x > INT64_MAX / 4 || x < -(INT64_MAX / 4)) {
    error(field, "is too large");
    return std::nullopt;
  }
  return x;
}

std::optional<std::vector<std::string>> JsonIn::str_list(const json& o, const std::string& key,
                                                         const std::string& field) {
  if (!o.contains(key) || o[key].is_null()) return std::nullopt;
  if (!o[key].is_array()) {
    error(field, "must be a list of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < o[key].size(); ++i) {
    if (!o[key][i].is_string()) {
      error(field + "[" + std::to_string(i) + "]", "must be a string");
      return std::nullopt;
    }
    out.push_back(o[key][i].get<std::string>());
    if (has_nul(out.back())) {
      error(field + "[" + std::to_string(i) + "]", kNul);
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>> JsonIn::str_map(const json& o,
                                                                  const std::string& key,
                                                                  const std::string& field) {
  if (!o.contains(key) || o[key].is_null()) return std::nullopt;
  if (!o[key].is_object()) {
    error(field, "must be an object of strings");
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : o[key].items()) {
    if (!v.is_string()) {
      error(field + "." + k, "must be a string");
      return std::nullopt;
    }
    if (has_nul(k) || has_nul(v.get<std::string>())) {
      error(field + "." + k, kNul);
      return std::nullopt;
    }
    out[k] = v.get<std::string>();
  }
  return out;
}

const json* JsonIn::object(const json& o, const std::string& key, const std::string& field,
                           bool required) {
  if (!o.contains(key) || o[key].is_null()) {
    if (required) error(field, "is required");
    return nullptr;
  }
  if (!o[key].is_object()) {
    error(field, "must be an object");
    return nullptr;
  }
  return &o[key];
}

void JsonIn::only(const json& o, std::initializer_list<const char*> known,
                  const std::string& prefix) {
  for (const auto& [k, v] : o.items()) {
    bool found = false;
    for (const char* n : known) found = found || k == n;
    if (!found) error(prefix + k, "unknown field");
  }
}

std::vector<FieldError> to_api(const scheduler::FieldErrors& e) {
  std::vector<FieldError> out;
  for (const auto& x : e) out.push_back({x.field, x.message});
  return out;
}

Response no_capacity(const std::string& detail,
                     const std::vector<scheduler::RegionReason>& reasons) {
  json regions = json::array();
  for (const auto& r : reasons) regions.push_back({{"id", r.id}, {"reason", r.reason}});
  return problem(503, "no-capacity", "No Capacity", detail, {{"regions", regions}});
}

}  // namespace fc::api::detail

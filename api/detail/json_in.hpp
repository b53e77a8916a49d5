// Typed reads from request JSON that record a 422 field error instead of
// throwing on a wrong type.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http.hpp"
#include "scheduler/placement.hpp"

namespace fc::api::detail {

class JsonIn {
 public:
  explicit JsonIn(std::vector<FieldError>& errors) : errors_(errors) {}
  std::optional<std::string> str(const nlohmann::json& o, const std::string& key,
                                 const std::string& field, bool required);
  std::optional<std::int64_t> integer(const nlohmann::json& o, const std::string& key,
                                      const std::string& field, bool required);
  std::optional<std::vector<std::string>> str_list(const nlohmann::json& o, const std::string& key,
                                                   const std::string& field);
  std::optional<std::map<std::string, std::string>> str_map(const nlohmann::json& o,
                                                            const std::string& key,
                                                            const std::string& field);
  const nlohmann::json* object(const nlohmann::json& o, const std::string& key,
                               const std::string& field, bool required);
  // Rejects keys not in `known` (a typo should not be silently ignored).
  void only(const nlohmann::json& o, std::initializer_list<const char*> known,
            const std::string& prefix);
  void error(const std::string& field, const std::string& message) {
    errors_.push_back({field, message});
  }

 private:
  std::vector<FieldError>& errors_;
};

// The common create body, `{"name": "…", "resources": {"memory_mib": N,
// "cpu_millis": N}}` (keys in any order, JSON whitespace), read without
// building a DOM: the create's hot path on the I/O thread. Only what the DOM
// path (parse_json_body + read_workspace) reads without a single error, to
// the same values: a name of printable ASCII without escapes, integers of
// plain digits within JsonIn::integer's range, each key once, nothing after
// the object. Anything else is nullopt and the request takes the DOM path,
// which gives every 400 and 422 (tests/api/plain_create_test.cpp).
struct PlainCreate {
  std::string name;
  std::int64_t memory_mib = 0;
  std::int64_t cpu_millis = 0;
};
std::optional<PlainCreate> read_plain_create(std::string_view body);

// The scheduler's validation errors as the API's 422 entries.
std::vector<FieldError> to_api(const scheduler::FieldErrors& e);

// 503 /no-capacity with one reason per rejected region.
Response no_capacity(const std::string& detail,
                     const std::vector<scheduler::RegionReason>& reasons);

}  // namespace fc::api::detail

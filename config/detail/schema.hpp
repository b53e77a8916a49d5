// The configuration schema: every key, its type and its validation.
#pragma once
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "config/config.hpp"

namespace fc::config::detail {

// Checks one value; returns an error message, or "" when the value is valid.
using Validator = std::function<std::string(const nlohmann::json&)>;

enum class Kind { kString, kInt, kBool, kJson };

struct Leaf {
  Kind kind;        // how an environment value is parsed
  Validator check;  // what the value must satisfy
};

class Schema {
 public:
  Schema();
  nlohmann::json defaults() const;
  // Merges `j` (an object at `prefix`) into `tree`, validating every key.
  Status merge(nlohmann::json& tree, const nlohmann::json& j, const std::string& prefix) const;
  // Applies one FLEETCOMMAND_* variable.
  Status merge_env(nlohmann::json& tree, const std::string& name, const std::string& value) const;

 private:
  bool is_object_prefix(const std::string& path) const;
  Status set_leaf(nlohmann::json& tree, const std::string& path, const nlohmann::json& v) const;
  std::map<std::string, Leaf> leaves_;
};

Result<Config> to_config(const nlohmann::json& tree);

extern const char* const kDefaultConfigJson;  // config/fleetcommand.json, embedded

}  // namespace fc::config::detail

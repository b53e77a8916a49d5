// Plans from the configuration (docs/configuration.md "plans").
#include "tenants/service.hpp"

namespace fc::tenants {

using nlohmann::json;

namespace {
std::optional<std::int64_t> opt_int(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number_integer()) return std::nullopt;
  return j[key].get<std::int64_t>();
}
}  // namespace

// config/detail/schema.cpp validated the shape; what does not parse is skipped.
Plans parse_plans(const json& j) {
  Plans out;
  if (!j.is_object()) return out;
  for (const auto& [name, v] : j.items()) {
    if (!v.is_object()) continue;
    Plan p;
    p.name = name;
    const json& r = v.value("resources", json::object());
    p.resources.memory_mib = r.value("memory_mib", std::int64_t{0});
    p.resources.cpu_millis = r.value("cpu_millis", std::int64_t{0});
    p.max_workspaces = opt_int(v, "max_workspaces");
    p.max_custom_domains = opt_int(v, "max_custom_domains");
    p.trial_days = opt_int(v, "trial_days");
    p.suspend_after_trial = v.value("suspend_after_trial", false);
    for (const auto& reg : v.value("allowed_regions", json::array()))
      if (reg.is_string()) p.allowed_regions.push_back(reg.get<std::string>());
    out.emplace(name, std::move(p));
  }
  return out;
}

json plan_json(const Plan& p) {
  auto opt = [](const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); };
  return {{"name", p.name},
          {"resources",
           {{"memory_mib", p.resources.memory_mib}, {"cpu_millis", p.resources.cpu_millis}}},
          {"max_workspaces", opt(p.max_workspaces)},
          {"max_custom_domains", opt(p.max_custom_domains)},
          {"allowed_regions", p.allowed_regions},
          {"trial_days", opt(p.trial_days)},
          {"suspend_after_trial", p.suspend_after_trial}};
}

}  // namespace fc::tenants

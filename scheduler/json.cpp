// The JSON forms of labels, ingress and placement constraints: stored in the
// scheduler's tables and served by the API.
#include "scheduler/detail/view_text.hpp"
#include "scheduler/service.hpp"

namespace fc::scheduler {

using nlohmann::json;

json labels_json(const Labels& l) {
  json j = json::object();
  for (const auto& [k, v] : l) j[k] = v;
  return j;
}

Labels labels_from(const json& j) {
  Labels l;
  if (!j.is_object()) return l;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) l[k] = v.get<std::string>();
  }
  return l;
}

json ingress_json(const Ingress& i) {
  return {{"ipv4", i.ipv4},
          {"ipv6", i.ipv6},
          {"hostname", i.hostname ? json(*i.hostname) : json(nullptr)}};
}

Ingress ingress_from(const json& j) {
  Ingress i;
  if (!j.is_object()) return i;
  i.ipv4 = j.value("ipv4", std::vector<std::string>{});
  i.ipv6 = j.value("ipv6", std::vector<std::string>{});
  if (j.contains("hostname") && j["hostname"].is_string())
    i.hostname = j["hostname"].get<std::string>();
  return i;
}

json placement_json(const PlacementConstraints& p) {
  return {{"regions", p.regions}, {"labels", labels_json(p.labels)}, {"prefer", p.prefer}};
}

std::string detail::placement_text(const PlacementConstraints& p) {
  if (p.regions.empty() && p.labels.empty() && p.prefer.empty())
    return R"({"labels":{},"prefer":[],"regions":[]})";
  return placement_json(p).dump();
}

PlacementConstraints placement_from(const json& j) {
  PlacementConstraints p;
  if (!j.is_object()) return p;
  p.regions = j.value("regions", std::vector<std::string>{});
  p.labels = labels_from(j.value("labels", json::object()));
  p.prefer = j.value("prefer", std::vector<std::string>{});
  return p;
}

}  // namespace fc::scheduler

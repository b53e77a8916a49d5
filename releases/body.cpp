// The body of POST /v1/rollouts read into a plan (docs/releases.md
// "Rollouts"): pure, no database, so the fuzz target (tests/fuzz/
// fuzz_rollout_body.cpp) runs it on any JSON value.
#include "releases/body.hpp"

#include <nlohmann/json.hpp>

namespace fc::releases {

using nlohmann::json;

namespace {

std::optional<std::int64_t> read_int(const json& o, const char* key, const std::string& field,
                                     FieldErrors& f) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) {
    f.push_back({field, "must be an integer"});
    return std::nullopt;
  }
  return it->get<std::int64_t>();
}

std::vector<std::string> read_strings(const json& o, const char* key, const std::string& field,
                                      FieldErrors& f) {
  std::vector<std::string> out;
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return out;
  if (!it->is_array() || it->size() > 1000) {
    f.push_back({field, "must be an array of strings (at most 1000)"});
    return out;
  }
  for (const auto& v : *it) {
    if (!v.is_string()) {
      f.push_back({field, "must be an array of strings"});
      return {};
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

void only(const json& o, std::initializer_list<const char*> known, const std::string& prefix,
          FieldErrors& f) {
  for (auto it = o.begin(); it != o.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok) f.push_back({prefix + it.key(), "unknown field"});
  }
}

const json* object_at(const json& o, const char* key, const std::string& field, FieldErrors& f) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return nullptr;
  if (!it->is_object()) {
    f.push_back({field, "must be an object"});
    return nullptr;
  }
  return &*it;
}

RolloutSpec read_spec(const json& b, FieldErrors& f) {
  RolloutSpec s;
  s.percentages = {100};
  if (const json* w = object_at(b, "waves", "waves", f)) {
    only(*w, {"regions", "percentages", "per_region"}, "waves.", f);
    s.region_order = read_strings(*w, "regions", "waves.regions", f);
    if (auto p = w->find("percentages"); p != w->end()) {
      s.percentages.clear();
      if (!p->is_array()) f.push_back({"waves.percentages", "must be an array of integers"});
      for (const auto& v : p->is_array() ? *p : json::array()) {
        if (!v.is_number_integer()) {
          f.push_back({"waves.percentages", "must be an array of integers"});
          break;
        }
        s.percentages.push_back(v.get<std::int64_t>());
      }
    }
    if (auto pr = w->find("per_region"); pr != w->end()) {
      if (!pr->is_boolean()) f.push_back({"waves.per_region", "must be a boolean"});
      s.per_region = pr->is_boolean() && pr->get<bool>();
    }
  }
  s.max_unavailable = read_int(b, "max_unavailable", "max_unavailable", f).value_or(1);
  s.bake_s = read_int(b, "bake_s", "bake_s", f).value_or(0);
  if (const json* g = object_at(b, "gate", "gate", f)) {
    only(*g, {"min_running_fraction", "deadline_s", "max_failed"}, "gate.", f);
    if (auto m = g->find("min_running_fraction"); m != g->end()) {
      if (!m->is_number())
        f.push_back({"gate.min_running_fraction", "must be a number"});
      else
        s.gate.min_running_fraction = m->get<double>();
    }
    s.gate.deadline_s = read_int(*g, "deadline_s", "gate.deadline_s", f).value_or(600);
    s.gate.max_failed = read_int(*g, "max_failed", "gate.max_failed", f).value_or(0);
  }
  if (auto of = b.find("on_failure"); of != b.end()) {
    if (*of == "rollback")
      s.on_failure = OnFailure::kRollback;
    else if (*of != "pause")
      f.push_back({"on_failure", "must be pause or rollback"});
  }
  validate_rollout_spec(s, f);
  return s;
}

Selector read_selector(const json& s, FieldErrors& f) {
  only(s, {"regions", "labels", "plans", "tenants"}, "selector.", f);
  Selector out;
  out.regions = read_strings(s, "regions", "selector.regions", f);
  out.plans = read_strings(s, "plans", "selector.plans", f);
  out.tenants = read_strings(s, "tenants", "selector.tenants", f);
  if (const json* l = object_at(s, "labels", "selector.labels", f)) {
    for (auto it = l->begin(); it != l->end(); ++it) {
      if (!it.value().is_string() || it.key().empty() || out.labels.size() >= 64) {
        f.push_back({"selector.labels", "must map at most 64 label names to string values"});
        return out;
      }
      out.labels[it.key()] = it.value().get<std::string>();
    }
  }
  return out;
}

}  // namespace

RolloutBody parse_rollout_body(const json& body, FieldErrors& f) {
  RolloutBody out;
  if (!body.is_object()) {
    f.push_back({"", "must be a JSON object"});
    return out;
  }
  only(body,
       {"channel", "selector", "to_release", "waves", "max_unavailable", "bake_s", "gate",
        "on_failure"},
       "", f);
  out.spec = read_spec(body, f);
  if (auto c = body.find("channel"); c != body.end() && !c->is_null()) {
    if (!c->is_string())
      f.push_back({"channel", "must be a string"});
    else
      out.channel = c->get<std::string>();
  }
  if (const json* s = object_at(body, "selector", "selector", f)) {
    out.selector_json = s->dump();
    out.selector = read_selector(*s, f);
  }
  if (!out.channel && out.selector.empty())
    f.push_back({"selector",
                 "empty selector: give a channel or selector.regions, labels, plans or tenants"});
  if (auto t = body.find("to_release"); t == body.end() || !t->is_string())
    f.push_back({"to_release", "required, a release name"});
  else
    out.to_release = t->get<std::string>();
  return out;
}

RolloutSpec spec_from_json(const json& j) {
  FieldErrors ignored;
  return read_spec(j, ignored);
}

json spec_to_json(const RolloutSpec& s) {
  return {
      {"waves",
       {{"regions", s.region_order}, {"percentages", s.percentages}, {"per_region", s.per_region}}},
      {"max_unavailable", s.max_unavailable},
      {"bake_s", s.bake_s},
      {"gate",
       {{"min_running_fraction", s.gate.min_running_fraction},
        {"deadline_s", s.gate.deadline_s},
        {"max_failed", s.gate.max_failed}}},
      {"on_failure", s.on_failure == OnFailure::kRollback ? "rollback" : "pause"}};
}

}  // namespace fc::releases

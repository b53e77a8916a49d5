// The body of POST /v1/rollouts (docs/releases.md "Rollouts" and
// "Selectors"), read and checked without the database: every 422 it finds
// goes to `f` naming its field. The service then resolves the release, the
// channel and the selected workspaces.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "releases/plan.hpp"

namespace fc::releases {

// selector: {"regions": [..], "labels": {k: v}, "plans": [..], "tenants": [..]};
// each kind given narrows the selection (a workspace must match all).
struct Selector {
  std::vector<std::string> regions, plans, tenants;  // tenants by id or name
  std::map<std::string, std::string> labels;         // ⊆ the workspace's placement.labels
  bool empty() const {
    return regions.empty() && plans.empty() && tenants.empty() && labels.empty();
  }
};

struct RolloutBody {
  std::optional<std::string> channel;
  Selector selector;
  std::string selector_json = "{}";  // as given, stored with the rollout
  std::string to_release;
  RolloutSpec spec;
};

RolloutBody parse_rollout_body(const nlohmann::json& body, FieldErrors& f);

// The stored form of a spec and back (spec_from_json ignores bad fields).
RolloutSpec spec_from_json(const nlohmann::json& j);
nlohmann::json spec_to_json(const RolloutSpec& s);

}  // namespace fc::releases

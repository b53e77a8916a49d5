// Fuzzes the JSON bodies of the releases routes that are reachable from the
// network, after the JSON parser (fuzz_http covers JsonIn and the body
// reader): the rollout body (releases::parse_rollout_body, POST
// /v1/rollouts) and the checks of a release (validate_release, POST
// /v1/releases). Invariants: an accepted rollout body has a valid plan
// (percentages 1..100, strictly increasing, ending at 100; max_unavailable
// ≥ 1; a channel or a non-empty selector) that survives the stored form
// (spec_to_json → spec_from_json) unchanged and puts every candidate in a
// wave; an accepted release has a valid name.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "releases/body.hpp"
#include "releases/plan.hpp"

using namespace fc::releases;
using nlohmann::json;

namespace {

void check_rollout(const json& body) {
  FieldErrors f;
  const RolloutBody b = parse_rollout_body(body, f);
  for (const auto& e : f)
    if (e.message.empty()) std::abort();  // every refusal says why
  if (!f.empty()) return;
  const RolloutSpec& s = b.spec;
  if (s.percentages.empty() || s.percentages.back() != 100 || s.max_unavailable < 1) std::abort();
  for (std::size_t i = 0; i < s.percentages.size(); ++i) {
    if (s.percentages[i] < 1 || s.percentages[i] > 100) std::abort();
    if (i > 0 && s.percentages[i] <= s.percentages[i - 1]) std::abort();
  }
  if (!b.channel && b.selector.empty()) std::abort();
  if (json::parse(b.selector_json, nullptr, false).is_discarded()) std::abort();
  const RolloutSpec back = spec_from_json(spec_to_json(s));
  if (back.percentages != s.percentages || back.region_order != s.region_order ||
      back.per_region != s.per_region || back.max_unavailable != s.max_unavailable ||
      back.bake_s != s.bake_s || back.gate.deadline_s != s.gate.deadline_s ||
      back.gate.max_failed != s.gate.max_failed ||
      back.gate.min_running_fraction != s.gate.min_running_fraction ||
      back.on_failure != s.on_failure)
    std::abort();
  // Seven candidates over the listed regions and one more.
  std::vector<Candidate> cands;
  for (int k = 0; k < 7; ++k) {
    const std::string region =
        k < static_cast<int>(s.region_order.size()) ? s.region_order[k] : "zz-other";
    cands.push_back({"ws_" + std::to_string(k), region});
  }
  int waves = 0;
  const auto wave_of = plan_waves(cands, s, waves);
  if (wave_of.size() != cands.size() || waves < 1) std::abort();
  for (int w : wave_of)
    if (w < 0 || w >= waves) std::abort();
}

void check_release(const json& body) {
  if (!body.is_object()) return;
  auto text = [&](const char* k) {
    auto it = body.find(k);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Release r;
  r.name = text("name");
  r.image = text("image");
  r.digest = text("digest");
  if (body.contains("min_from")) r.min_from = text("min_from");
  if (body.contains("max_from")) r.max_from = text("max_from");
  if (auto env = body.find("env"); env != body.end() && env->is_object())
    for (auto it = env->begin(); it != env->end(); ++it)
      if (it->is_string()) r.env[it.key()] = it->get<std::string>();
  FieldErrors f;
  validate_release(r, f);
  if (f.empty() && !valid_name(r.name)) std::abort();
  (void)image_ref(r);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const json body = json::parse(in, nullptr, false);
  if (body.is_discarded()) return 0;
  check_rollout(body);
  check_release(body);
  return 0;
}

// What both chains share: the Blocked rule, the fix on the first non-True
// condition, region health in words, JSON (docs/status.md).
#include <algorithm>

#include "common/clock.hpp"
#include "status/detail/chain.hpp"

namespace fc::status {

const char* truth_name(Truth t) {
  switch (t) {
    case Truth::kTrue: return "True";
    case Truth::kFalse: return "False";
    case Truth::kUnknown: return "Unknown";
  }
  return "Unknown";
}

std::string short_duration(std::int64_t ms) {
  std::int64_t s = std::max<std::int64_t>(ms, 0) / 1000;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) {
    std::string out = std::to_string(s / 3600) + "h";
    if (s % 3600 >= 60) out += std::to_string(s % 3600 / 60) + "m";
    return out;
  }
  return std::to_string(s / 86400) + "d";
}

std::optional<std::string> region_down_fix(const RegionFact& r, std::int64_t now_ms) {
  if (!r.exists) return "region " + r.id + " no longer exists: migrate the workspace elsewhere";
  if (r.healthy) return std::nullopt;
  if (!r.last_heartbeat_ms)
    return "region " + r.id + " has never had a heartbeat: its agent is not running";
  return "region " + r.id + " has had no heartbeat for " +
         short_duration(now_ms - *r.last_heartbeat_ms) + ": its agent is down";
}

Condition live_condition(const std::optional<LiveFact>& live, std::int64_t generation) {
  Condition c{"Live",       Truth::kUnknown, "NotProbed", "live checks have not run",
              std::nullopt, generation,      std::nullopt};
  if (!live) return c;
  c.since_ms = live->checked_at_ms > 0 ? std::optional(live->checked_at_ms) : std::nullopt;
  if (live->status == "live") {
    c.status = Truth::kTrue;
    c.reason = "Live";
    c.message = "the HTTPS probe succeeded";
    return c;
  }
  if (live->status == "failing") {
    c.status = Truth::kFalse;
    c.reason = "ProbeFailing";
    c.message = "the HTTPS probe fails at step " + live->step +
                (live->detail.empty() ? "" : ": " + live->detail);
    c.fix = "fix what the probe's " + live->step +
            " step reports: " + (live->detail.empty() ? "see the probe's detail" : live->detail);
    return c;
  }
  c.reason = "ProbeUnknown";
  c.message = "the live check has no result yet";
  return c;
}

bool chain_ok(const std::vector<Condition>& chain) {
  return std::all_of(chain.begin(), chain.end(), [](const Condition& c) {
    return c.status == Truth::kTrue || (c.type == "Live" && c.reason == "NotProbed");
  });
}

nlohmann::json conditions_json(const std::vector<Condition>& chain) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : chain) {
    nlohmann::json j = {{"type", c.type},
                        {"status", truth_name(c.status)},
                        {"reason", c.reason},
                        {"message", c.message},
                        {"since", c.since_ms ? nlohmann::json(format_rfc3339(*c.since_ms))
                                             : nlohmann::json(nullptr)},
                        {"observed_generation", c.observed_generation}};
    if (c.fix) j["fix"] = *c.fix;
    out.push_back(std::move(j));
  }
  return out;
}

namespace detail {

// Conditions after the first non-True one were not evaluated on their own:
// Unknown, reason Blocked, naming the condition they wait for. Only the first
// non-True condition keeps its fix.
void settle(std::vector<Condition>& chain) {
  auto first = std::find_if(chain.begin(), chain.end(),
                            [](const Condition& c) { return c.status != Truth::kTrue; });
  for (auto it = chain.begin(); it != chain.end(); ++it) {
    if (it < first) it->fix.reset();
    if (it <= first) continue;
    it->status = Truth::kUnknown;
    it->reason = "Blocked";
    it->message = "not evaluated: waiting for " + first->type;
    it->since_ms.reset();
    it->fix.reset();
  }
}

Condition make(std::string type, Truth t, std::string reason, std::string message,
               std::optional<std::int64_t> since, std::int64_t generation) {
  return Condition{std::move(type), t,          std::move(reason), std::move(message),
                   since,           generation, std::nullopt};
}

std::optional<std::int64_t> opt_ms(std::int64_t ms) {
  return ms > 0 ? std::optional(ms) : std::nullopt;
}

}  // namespace detail
}  // namespace fc::status

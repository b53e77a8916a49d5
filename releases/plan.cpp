// The pure core of rollouts (docs/releases.md "Waves and gates").
#include "releases/plan.hpp"

#include <algorithm>
#include <cctype>

namespace fc::releases {

std::string image_ref(const Release& r) {
  return r.digest.empty() ? r.image : r.image + "@" + r.digest;
}

Spec upgrade_spec(const Spec& current, const Env& previous_defaults, const Release& to) {
  Spec out;
  out.image = image_ref(to);
  out.env = to.env;
  for (const auto& [k, v] : current.env) {
    auto d = previous_defaults.find(k);
    const bool is_default = d != previous_defaults.end() && d->second == v;
    if (!is_default) out.env[k] = v;  // the workspace's own override wins
  }
  return out;
}

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!std::isalnum(static_cast<unsigned char>(s.front()))) return false;
  for (char ch : s) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

namespace {
bool valid_digest(std::string_view d) {
  if (!d.starts_with("sha256:") || d.size() != 7 + 64) return false;
  return std::all_of(d.begin() + 7, d.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
}  // namespace

void validate_release(const Release& r, FieldErrors& out) {
  if (!valid_name(r.name))
    out.push_back(
        {"name", "must be 1-63 characters of a-z, 0-9, '.', '-', starting with a-z or 0-9"});
  if (r.image.empty() || r.image.size() > 512 ||
      std::any_of(r.image.begin(), r.image.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)) || c == '@'; }))
    out.push_back(
        {"image", "must be 1-512 characters without spaces or '@' (put the digest in digest)"});
  if (!r.digest.empty() && !valid_digest(r.digest))
    out.push_back({"digest", "must be sha256: followed by 64 lower-case hex digits"});
  if (r.env.size() > 256) out.push_back({"env", "at most 256 variables"});
  for (const auto& [k, v] : r.env) {
    if (k.empty() || k.size() > 255 || v.size() > 4096) {
      out.push_back({"env", "names are 1-255 characters and values at most 4096"});
      break;
    }
  }
  if (r.min_from && !valid_name(*r.min_from)) out.push_back({"min_from", "not a release name"});
  if (r.max_from && !valid_name(*r.max_from)) out.push_back({"max_from", "not a release name"});
}

bool path_allows(std::int64_t from_seq, std::int64_t to_seq, const Path& p, std::string& why) {
  if (from_seq == to_seq) {
    why = "already at this release";
    return false;
  }
  if (from_seq > to_seq) {
    why = "a downgrade (the release is older than the current one)";
    return false;
  }
  if (p.min_seq && from_seq < *p.min_seq) {
    why = "the current release is older than the release's min_from";
    return false;
  }
  if (p.max_seq && from_seq > *p.max_seq) {
    why = "the current release is newer than the release's max_from";
    return false;
  }
  return true;
}

std::string_view member_state_name(MemberState s) {
  switch (s) {
    case MemberState::kPending: return "pending";
    case MemberState::kInFlight: return "in_flight";
    case MemberState::kDone: return "done";
    case MemberState::kFailed: return "failed";
    case MemberState::kSkippedRegionDown: return "skipped_region_down";
    case MemberState::kSkippedBusy: return "skipped_busy";
    case MemberState::kRolledBack: return "rolled_back";
  }
  return "pending";
}

std::optional<MemberState> parse_member_state(std::string_view s) {
  for (auto m :
       {MemberState::kPending, MemberState::kInFlight, MemberState::kDone, MemberState::kFailed,
        MemberState::kSkippedRegionDown, MemberState::kSkippedBusy, MemberState::kRolledBack}) {
    if (member_state_name(m) == s) return m;
  }
  return std::nullopt;
}

bool terminal(MemberState s) { return s != MemberState::kPending && s != MemberState::kInFlight; }

void validate_rollout_spec(const RolloutSpec& s, FieldErrors& out) {
  const auto& p = s.percentages;
  if (p.empty()) out.push_back({"waves.percentages", "must not be empty"});
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] < 1 || p[i] > 100) {
      out.push_back({"waves.percentages", "each must be 1..100"});
      break;
    }
    if (i > 0 && p[i] <= p[i - 1]) {
      out.push_back({"waves.percentages", "must be strictly increasing"});
      break;
    }
  }
  if (!p.empty() && p.back() != 100) out.push_back({"waves.percentages", "the last must be 100"});
  if (s.max_unavailable < 1) out.push_back({"max_unavailable", "must be at least 1"});
  if (s.bake_s < 0 || s.bake_s > 7 * 86400) out.push_back({"bake_s", "must be 0..604800"});
  if (!(s.gate.min_running_fraction >= 0.0 && s.gate.min_running_fraction <= 1.0))
    out.push_back({"gate.min_running_fraction", "must be 0..1"});
  if (s.gate.deadline_s < 1 || s.gate.deadline_s > 7 * 86400)
    out.push_back({"gate.deadline_s", "must be 1..604800"});
  if (s.gate.max_failed < 0) out.push_back({"gate.max_failed", "must be at least 0"});
}

std::vector<int> plan_waves(const std::vector<Candidate>& c, const RolloutSpec& s, int& waves) {
  auto rank = [&](const std::string& region) {
    auto it = std::find(s.region_order.begin(), s.region_order.end(), region);
    return static_cast<std::size_t>(it - s.region_order.begin());
  };
  std::vector<std::size_t> order(c.size());
  for (std::size_t i = 0; i < c.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto ra = rank(c[a].region), rb = rank(c[b].region);
    if (ra != rb) return ra < rb;
    if (c[a].region != c[b].region) return c[a].region < c[b].region;
    return c[a].workspace_id < c[b].workspace_id;
  });
  // Groups: the whole order, or one run of the order per region.
  std::vector<std::pair<std::size_t, std::size_t>> groups;  // [begin, end) in `order`
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i + 1;
    while (s.per_region && j < order.size() && c[order[j]].region == c[order[i]].region) ++j;
    if (!s.per_region) j = order.size();
    groups.emplace_back(i, j);
    i = j;
  }
  std::vector<int> wave_of(c.size(), 0);
  int next_wave = 0;
  for (auto [b, e] : groups) {
    const auto n = static_cast<std::int64_t>(e - b);
    std::int64_t upto_prev = 0;
    for (std::int64_t pct : s.percentages) {
      const std::int64_t upto = std::min<std::int64_t>(n, (pct * n + 99) / 100);  // ceil
      if (upto <= upto_prev) continue;  // an empty wave is dropped
      for (std::int64_t k = upto_prev; k < upto; ++k)
        wave_of[order[b + static_cast<std::size_t>(k)]] = next_wave;
      upto_prev = upto;
      ++next_wave;
    }
  }
  waves = next_wave;
  return wave_of;
}

std::optional<Transition> observe(const Member& m, const Observed& o, bool region_up,
                                  std::int64_t deadline_s, std::int64_t now_ms) {
  if (m.state != MemberState::kInFlight) return std::nullopt;
  if (!o.exists || o.state == "deleting")
    return Transition{MemberState::kSkippedBusy, "workspace deleted during the rollout"};
  if (o.observed_generation >= m.generation && o.phase == "running")
    return Transition{MemberState::kDone, ""};
  if (o.observed_generation >= m.generation && o.phase == "failed")
    return Transition{MemberState::kFailed,
                      o.message.empty() ? "agent reported failed" : o.message};
  if (!region_up)
    return Transition{MemberState::kSkippedRegionDown,
                      "region " + m.region + " is down (no agent heartbeat)"};
  if (now_ms - m.started_at > deadline_s * 1000) {
    std::string msg = "no running report for generation " + std::to_string(m.generation) +
                      " within " + std::to_string(deadline_s) + " s";
    if (!o.phase.empty()) msg += " (last: " + o.phase;
    if (!o.phase.empty() && !o.message.empty()) msg += ": " + o.message;
    if (!o.phase.empty()) msg += ")";
    return Transition{MemberState::kFailed, msg};
  }
  return std::nullopt;
}

Tally tally(const std::vector<Member>& wave_members) {
  Tally t;
  for (const auto& m : wave_members) {
    switch (m.state) {
      case MemberState::kPending: ++t.pending; break;
      case MemberState::kInFlight: ++t.in_flight; break;
      case MemberState::kDone: ++t.done; break;
      case MemberState::kFailed:
      case MemberState::kRolledBack: ++t.failed; break;
      case MemberState::kSkippedRegionDown:
      case MemberState::kSkippedBusy: ++t.skipped; break;
    }
  }
  return t;
}

GateVerdict gate_verdict(const Tally& t, const Gate& g, std::string& why) {
  if (t.failed > g.max_failed) {
    why = std::to_string(t.failed) + " failed > max_failed " + std::to_string(g.max_failed);
    return GateVerdict::kFailed;
  }
  if (t.pending > 0 || t.in_flight > 0) return GateVerdict::kOpen;
  const std::int64_t counted = t.total() - t.skipped;
  if (counted == 0) return GateVerdict::kPassed;
  const double fraction = static_cast<double>(t.done) / static_cast<double>(counted);
  if (fraction + 1e-9 >= g.min_running_fraction) return GateVerdict::kPassed;
  why = std::to_string(t.done) + " of " + std::to_string(counted) +
        " running < min_running_fraction " + std::to_string(g.min_running_fraction);
  return GateVerdict::kFailed;
}

Step next_step(const WaveState& w, const RolloutSpec& s, std::int64_t now_ms) {
  Step st;
  std::string why;
  GateVerdict v = gate_verdict(w.tally, s.gate, why);
  if (v == GateVerdict::kFailed && w.acked) {
    // Resumed past a failed gate: the wave completes once nothing is open.
    v = (w.tally.pending > 0 || w.tally.in_flight > 0) ? GateVerdict::kOpen : GateVerdict::kPassed;
  }
  if (v == GateVerdict::kFailed) {
    st.kind = StepKind::kGateFailed;
    st.why = why;
    return st;
  }
  if (v == GateVerdict::kOpen) {
    st.kind = w.tally.pending > 0 ? StepKind::kStartMembers : StepKind::kWait;
    return st;
  }
  const bool last = w.wave + 1 >= w.waves;
  if (!w.promoted && s.bake_s > 0 && !last) {
    if (!w.bake_started_at) {
      st.kind = StepKind::kStartBake;
      return st;
    }
    const std::int64_t ends = *w.bake_started_at + s.bake_s * 1000;
    if (now_ms < ends) {
      st.kind = StepKind::kWait;
      st.wake_at = ends;
      return st;
    }
  }
  st.kind = last ? StepKind::kComplete : StepKind::kAdvance;
  return st;
}

Starts pick_starts(const std::vector<Member>& pending,
                   std::map<std::string, std::int64_t> in_flight,
                   const std::map<std::string, bool>& region_up, std::int64_t max_unavailable) {
  Starts out;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    const auto& m = pending[i];
    auto up = region_up.find(m.region);
    if (up == region_up.end() || !up->second) {
      out.skip.push_back(i);
      continue;
    }
    auto& n = in_flight[m.region];
    if (n >= max_unavailable) continue;
    ++n;
    out.start.push_back(i);
  }
  return out;
}

}  // namespace fc::releases

// The pure rollout core (releases/plan.hpp): wave planning, upgrade paths,
// the release → spec mapping, member observation, the gate and the step a
// pass takes. Time is data: a ManualClock drives bake times and deadlines.
#include <doctest/doctest.h>

#include <chrono>

#include "common/clock.hpp"
#include "releases/plan.hpp"

using namespace fc;
using namespace fc::releases;
using namespace std::chrono_literals;

namespace {

std::vector<int> wave_sizes(const std::vector<int>& wave_of, int waves) {
  std::vector<int> n(static_cast<std::size_t>(waves), 0);
  for (int w : wave_of) ++n[static_cast<std::size_t>(w)];
  return n;
}

std::vector<Candidate> fleet(int per_region, std::vector<std::string> regions) {
  std::vector<Candidate> c;
  for (const auto& r : regions)
    for (int i = 0; i < per_region; ++i) c.push_back({"ws_" + r + std::to_string(i), r});
  return c;
}

}  // namespace

TEST_SUITE("releases") {
  TEST_CASE("plan_waves: cumulative percentages over the region order") {
    RolloutSpec s;
    s.region_order = {"us"};
    s.percentages = {10, 50, 100};
    int waves = 0;
    const auto c = fleet(5, {"eu", "us"});
    const auto w = plan_waves(c, s, waves);
    CHECK(waves == 3);
    CHECK(wave_sizes(w, waves) == std::vector<int>{1, 4, 5});
    CHECK(w[5] == 0);  // ws_us0: the listed region goes first
    CHECK(w[0] == 2);  // ws_eu0 after every us member: the last wave
  }

  TEST_CASE("plan_waves: empty waves are dropped; per_region runs each region in turn") {
    RolloutSpec s;
    s.percentages = {1, 10, 50, 100};
    int waves = 0;
    auto w = plan_waves(fleet(3, {"a"}), s, waves);
    CHECK(waves == 3);  // ceil(0.03)=1, ceil(0.3)=1 (dropped), ceil(1.5)=2, 3
    CHECK(wave_sizes(w, waves) == std::vector<int>{1, 1, 1});
    s.per_region = true;
    s.percentages = {50, 100};
    s.region_order = {"b", "a"};
    w = plan_waves(fleet(4, {"a", "b"}), s, waves);
    CHECK(waves == 4);
    CHECK(wave_sizes(w, waves) == std::vector<int>{2, 2, 2, 2});
    CHECK(w[4] == 0);  // b first
    CHECK(w[0] == 2);
  }

  TEST_CASE("validate_rollout_spec names the field") {
    struct Case {
      std::vector<std::int64_t> pct;
      const char* field;
    };
    for (const auto& c : std::vector<Case>{{{10, 10, 100}, "waves.percentages"},
                                           {{50, 10, 100}, "waves.percentages"},
                                           {{10, 50}, "waves.percentages"},
                                           {{0, 100}, "waves.percentages"},
                                           {{}, "waves.percentages"}}) {
      RolloutSpec s;
      s.percentages = c.pct;
      FieldErrors e;
      validate_rollout_spec(s, e);
      REQUIRE(!e.empty());
      CHECK(e[0].field == c.field);
    }
    RolloutSpec s;
    s.percentages = {1, 10, 50, 100};
    s.max_unavailable = 0;
    s.gate.min_running_fraction = 1.5;
    FieldErrors e;
    validate_rollout_spec(s, e);
    REQUIRE(e.size() == 2);
    CHECK(e[0].field == "max_unavailable");
    CHECK(e[1].field == "gate.min_running_fraction");
  }

  TEST_CASE("upgrade_spec: defaults follow the release, overrides stay") {
    Release to;
    to.image = "chat";
    to.digest = "sha256:" + std::string(64, 'a');
    to.env = {{"MODE", "v2"}, {"NEW", "1"}};
    Spec cur;
    cur.image = "chat:1";
    cur.env = {{"MODE", "v1"}, {"LOG", "debug"}, {"OLD", "x"}};
    const Spec out = upgrade_spec(cur, {{"MODE", "v1"}, {"OLD", "x"}}, to);
    CHECK(out.image == "chat@sha256:" + std::string(64, 'a'));
    CHECK(out.env == Env{{"MODE", "v2"}, {"NEW", "1"}, {"LOG", "debug"}});
    // An override of a default is kept over the new default.
    const Spec kept = upgrade_spec({"chat:1", {{"MODE", "custom"}}}, {{"MODE", "v1"}}, to);
    CHECK(kept.env.at("MODE") == "custom");
  }

  TEST_CASE("path_allows: downgrade, same release, min_from/max_from") {
    std::string why;
    CHECK(path_allows(1, 2, {}, why));
    CHECK_FALSE(path_allows(2, 2, {}, why));
    CHECK(why == "already at this release");
    CHECK_FALSE(path_allows(3, 2, {}, why));
    CHECK(why.find("downgrade") != std::string::npos);
    CHECK_FALSE(path_allows(1, 5, {2, std::nullopt}, why));
    CHECK(why.find("min_from") != std::string::npos);
    CHECK_FALSE(path_allows(4, 5, {std::nullopt, 3}, why));
    CHECK(why.find("max_from") != std::string::npos);
    CHECK(path_allows(3, 5, {2, 3}, why));
  }

  TEST_CASE("valid_name and validate_release") {
    CHECK(valid_name("6.5.0"));
    CHECK(valid_name("stable"));
    CHECK_FALSE(valid_name(""));
    CHECK_FALSE(valid_name("-x"));
    CHECK_FALSE(valid_name("Stable"));
    Release r;
    r.name = "v1";
    r.image = "img:1@sha256:x";
    r.digest = "md5:1";
    FieldErrors e;
    validate_release(r, e);
    REQUIRE(e.size() == 2);
    CHECK(e[0].field == "image");
    CHECK(e[1].field == "digest");
  }

  TEST_CASE("observe: running, failed, deadline, region down, deleted") {
    ManualClock clock;
    Member m;
    m.workspace_id = "ws_1";
    m.region = "eu";
    m.state = MemberState::kInFlight;
    m.generation = 3;
    m.started_at = clock.now_ms();
    Observed o;
    o.observed_generation = 2;
    o.phase = "running";
    CHECK_FALSE(observe(m, o, true, 60, clock.now_ms()));  // the old generation runs
    o.observed_generation = 3;
    auto t = observe(m, o, true, 60, clock.now_ms());
    REQUIRE(t);
    CHECK(t->state == MemberState::kDone);
    o.phase = "failed";
    o.message = "container app: ImagePullBackOff: x";
    t = observe(m, o, true, 60, clock.now_ms());
    REQUIRE(t);
    CHECK(t->state == MemberState::kFailed);
    CHECK(t->message == "container app: ImagePullBackOff: x");
    o = Observed{};
    o.observed_generation = 3;
    o.phase = "progressing";
    clock.advance(60s);
    CHECK_FALSE(observe(m, o, true, 60, clock.now_ms()));  // exactly at the deadline
    clock.advance(1ms);
    t = observe(m, o, true, 60, clock.now_ms());
    REQUIRE(t);
    CHECK(t->state == MemberState::kFailed);
    CHECK(t->message == "no running report for generation 3 within 60 s (last: progressing)");
    t = observe(m, o, false, 600, clock.now_ms());
    REQUIRE(t);
    CHECK(t->state == MemberState::kSkippedRegionDown);
    o.exists = false;
    CHECK(observe(m, o, true, 600, clock.now_ms())->state == MemberState::kSkippedBusy);
    m.state = MemberState::kDone;
    CHECK_FALSE(observe(m, o, true, 600, clock.now_ms()));
  }

  TEST_CASE("gate_verdict") {
    Gate g;
    g.min_running_fraction = 0.5;
    g.max_failed = 1;
    std::string why;
    CHECK(gate_verdict({1, 0, 1, 0, 0}, g, why) == GateVerdict::kOpen);
    CHECK(gate_verdict({0, 1, 0, 2, 0}, g, why) == GateVerdict::kFailed);  // at once
    CHECK(why == "2 failed > max_failed 1");
    CHECK(gate_verdict({0, 0, 1, 1, 0}, g, why) == GateVerdict::kPassed);
    g.max_failed = 5;
    CHECK(gate_verdict({0, 0, 1, 3, 0}, g, why) == GateVerdict::kFailed);
    CHECK(why == "1 of 4 running < min_running_fraction 0.500000");
    CHECK(gate_verdict({0, 0, 0, 0, 3}, g, why) == GateVerdict::kPassed);  // all skipped
    CHECK(gate_verdict({0, 0, 1, 0, 9}, g, why) == GateVerdict::kPassed);  // skipped don't count
  }

  TEST_CASE("next_step: start, wait, bake with a ManualClock, promote, complete, gate") {
    ManualClock clock;
    RolloutSpec s;
    s.percentages = {50, 100};
    s.bake_s = 30;
    WaveState w;
    w.waves = 2;
    w.tally = {2, 0, 0, 0, 0};
    CHECK(next_step(w, s, clock.now_ms()).kind == StepKind::kStartMembers);
    w.tally = {0, 2, 0, 0, 0};
    CHECK(next_step(w, s, clock.now_ms()).kind == StepKind::kWait);
    w.tally = {0, 0, 2, 0, 0};
    CHECK(next_step(w, s, clock.now_ms()).kind == StepKind::kStartBake);
    w.bake_started_at = clock.now_ms();
    clock.advance(29s);
    auto st = next_step(w, s, clock.now_ms());
    CHECK(st.kind == StepKind::kWait);
    CHECK(st.wake_at == *w.bake_started_at + 30000);
    clock.advance(1s);
    CHECK(next_step(w, s, clock.now_ms()).kind == StepKind::kAdvance);
    w.bake_started_at.reset();
    w.promoted = true;
    CHECK(next_step(w, s, clock.now_ms()).kind == StepKind::kAdvance);  // bake skipped
    w.promoted = false;
    w.wave = 1;
    CHECK(next_step(w, s, clock.now_ms()).kind == StepKind::kComplete);  // no bake after the last
    w.tally = {0, 0, 1, 1, 0};
    st = next_step(w, s, clock.now_ms());
    CHECK(st.kind == StepKind::kGateFailed);
    CHECK(st.why == "1 failed > max_failed 0");
    w.acked = true;  // resumed: the operator accepted the failure
    CHECK(next_step(w, s, clock.now_ms()).kind == StepKind::kComplete);
  }

  TEST_CASE("pick_starts: max_unavailable per region, down regions skipped") {
    std::vector<Member> pending;
    for (const char* r : {"eu", "eu", "eu", "us", "us", "ap"}) {
      Member m;
      m.region = r;
      pending.push_back(m);
    }
    const auto s =
        pick_starts(pending, {{"eu", 1}}, {{"eu", true}, {"us", true}, {"ap", false}}, 2);
    CHECK(s.start == std::vector<std::size_t>{0, 3, 4});  // eu has one in flight already
    CHECK(s.skip == std::vector<std::size_t>{5});
  }

  TEST_CASE("member state names round-trip") {
    for (auto m :
         {MemberState::kPending, MemberState::kInFlight, MemberState::kDone, MemberState::kFailed,
          MemberState::kSkippedRegionDown, MemberState::kSkippedBusy, MemberState::kRolledBack})
      CHECK(parse_member_state(member_state_name(m)) == m);
    CHECK_FALSE(parse_member_state("bogus"));
  }
}

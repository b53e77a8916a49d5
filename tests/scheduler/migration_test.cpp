#include <doctest/doctest.h>

#include <vector>

#include "scheduler/placement.hpp"

using namespace fc::scheduler;
using A = MigrationAction;

namespace {

Migration started(std::int64_t generation = 4) {
  auto t = start_migration("ws_1", "eu", "us", generation);
  REQUIRE(t);
  return t.value().next;
}

AgentReport report(std::string region, std::int64_t gen, AgentPhase phase, std::string msg = "") {
  return AgentReport{std::move(region), gen, phase, std::move(msg)};
}

}  // namespace

TEST_SUITE("scheduler") {
  TEST_CASE("start_migration validates and asks for reserve + apply in the new region") {
    auto t = start_migration("ws_1", "eu", "us", 4);
    REQUIRE(t);
    CHECK(t.value().next.step == MigrationStep::kAwaitRunning);
    CHECK(t.value().next.generation == 4);
    CHECK(t.value().actions == std::vector<A>{A::kReserveInNew, A::kApplyInNew});
    CHECK(start_migration("ws_1", "eu", "eu", 4).error().code == fc::Code::kInvalidArgument);
    CHECK(start_migration("", "eu", "us", 4).error().code == fc::Code::kInvalidArgument);
    CHECK(start_migration("ws_1", "", "us", 4).error().code == fc::Code::kInvalidArgument);
    CHECK(start_migration("ws_1", "eu", "us", 0).error().code == fc::Code::kInvalidArgument);
  }

  TEST_CASE("happy path: running in new -> flip DNS -> delete old -> deleted -> done") {
    Migration m = started();
    auto t = advance_migration(m, report("us", 4, AgentPhase::kProvisioning));
    CHECK(t.next == m);
    CHECK(t.actions.empty());
    t = advance_migration(m, report("us", 4, AgentPhase::kRunning));
    CHECK(t.next.step == MigrationStep::kFlipDns);
    CHECK(t.actions == std::vector<A>{A::kFlipDns});
    m = t.next;
    t = advance_migration(m, DnsFlipped{});
    CHECK(t.next.step == MigrationStep::kAwaitDeleted);
    CHECK(t.actions == std::vector<A>{A::kDeleteInOld});
    m = t.next;
    t = advance_migration(m, report("eu", 5, AgentPhase::kDeleted));
    CHECK(t.next.step == MigrationStep::kDone);
    CHECK(t.actions == std::vector<A>{A::kReleaseOld, A::kFinish});
    m = t.next;
    for (const MigrationInput& in : std::vector<MigrationInput>{
             report("eu", 5, AgentPhase::kDeleted), report("us", 9, AgentPhase::kRunning),
             DnsFlipped{}, GenerationBumped{9}}) {
      const auto done = advance_migration(m, in);
      CHECK(done.next == m);
      CHECK(done.actions.empty());
    }
  }

  TEST_CASE("inputs that do not apply change nothing") {
    const Migration m = started(4);
    struct Case {
      const char* name;
      MigrationInput input;
    };
    const std::vector<Case> cases = {
        {"stale generation running", report("us", 3, AgentPhase::kRunning)},
        {"old region running", report("eu", 4, AgentPhase::kRunning)},
        {"other region running", report("ap", 4, AgentPhase::kRunning)},
        {"old region deleted before the flip", report("eu", 4, AgentPhase::kDeleted)},
        {"dns flipped before running", DnsFlipped{}},
        {"generation not newer", GenerationBumped{4}},
    };
    for (const Case& c : cases) {
      CAPTURE(c.name);
      const auto t = advance_migration(m, c.input);
      CHECK(t.next == m);
      CHECK(t.actions.empty());
    }
    Migration flip = m;
    flip.step = MigrationStep::kFlipDns;
    CHECK(advance_migration(flip, report("eu", 4, AgentPhase::kDeleted)).actions.empty());
    CHECK(
        advance_migration(flip, report("us", 4, AgentPhase::kRunning)).actions.empty());  // repeat
  }

  TEST_CASE("a failure in the new region is recorded once and the migration waits") {
    const Migration m = started(4);
    auto t = advance_migration(m, report("us", 4, AgentPhase::kFailed, "ImagePullBackOff"));
    CHECK(t.next.step == MigrationStep::kAwaitRunning);
    CHECK(t.next.last_failure == "ImagePullBackOff");
    CHECK(t.actions == std::vector<A>{A::kRecordFailure});
    const auto again =
        advance_migration(t.next, report("us", 4, AgentPhase::kFailed, "ImagePullBackOff"));
    CHECK(again.actions.empty());
    t = advance_migration(t.next, report("us", 4, AgentPhase::kRunning));
    CHECK(t.next.step == MigrationStep::kFlipDns);
    CHECK(t.next.last_failure.empty());
  }

  TEST_CASE("a generation bump before the flip needs the new generation running") {
    const Migration m = started(4);
    auto t = advance_migration(m, GenerationBumped{5});
    CHECK(t.next.generation == 5);
    CHECK(t.actions == std::vector<A>{A::kApplyInNew});
    CHECK(advance_migration(t.next, report("us", 4, AgentPhase::kRunning)).actions.empty());
    CHECK(advance_migration(t.next, report("us", 5, AgentPhase::kRunning)).next.step ==
          MigrationStep::kFlipDns);
    // After the flip a bump only records the generation.
    Migration after = m;
    after.step = MigrationStep::kAwaitDeleted;
    t = advance_migration(after, GenerationBumped{6});
    CHECK(t.next.generation == 6);
    CHECK(t.next.step == MigrationStep::kAwaitDeleted);
    CHECK(t.actions.empty());
  }

  TEST_CASE("phase and step names") {
    for (const AgentPhase p : {AgentPhase::kProvisioning, AgentPhase::kRunning, AgentPhase::kFailed,
                               AgentPhase::kDeleted}) {
      CHECK(parse_agent_phase(agent_phase_name(p)) == p);
    }
    CHECK_FALSE(parse_agent_phase("pending"));
    CHECK(migration_step_name(MigrationStep::kAwaitRunning) == "await_running");
    CHECK(migration_step_name(MigrationStep::kDone) == "done");
  }
}

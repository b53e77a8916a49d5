// The list page's time writer (scheduler/detail/view_text.hpp) against
// format_rfc3339: the same bytes, quoted, for every shape of instant (the
// page must stay byte for byte what json_response of the view gives).
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>

#include "common/clock.hpp"
#include "scheduler/detail/view_text.hpp"

using namespace fc;

TEST_SUITE("scheduler") {
  TEST_CASE("view text: append_rfc3339_json writes format_rfc3339's bytes") {
    const auto same = [](std::int64_t ms) {
      std::string out = "x";
      scheduler::detail::append_rfc3339_json(out, ms);
      CHECK_MESSAGE(out == "x\"" + format_rfc3339(ms) + "\"", ms);
    };
    for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{999},
                            std::int64_t{-1000}, std::int64_t{-1001}, std::int64_t{951782400000},
                            std::int64_t{1796688000123}, std::int64_t{253402300799999},
                            std::int64_t{253402300800000}, std::int64_t{-62167219200000},
                            std::int64_t{-62167219200001}, std::int64_t{4102444800000}})
      same(ms);
    std::mt19937_64 rng(3339);
    for (int i = 0; i < 100000; ++i)
      same(static_cast<std::int64_t>(rng() % 400000000000000ull) - 100000000000000);
  }
}

#include <nlohmann/json.hpp>

#include "agent/protocol.hpp"

TEST_SUITE("scheduler") {
  // Service::Impl::assignment_body's shape (scheduler/service.cpp), dumped:
  // what the create wrote before append_apply_assignment.
  std::string reference(const scheduler::detail::ApplyAssignment& in, const nlohmann::json& spec) {
    agent::proto::Assignment a;
    a.workspace_id = std::string(in.workspace_id);
    a.name = std::string(in.name);
    a.generation = in.generation;
    a.action = agent::proto::Action::kApply;
    a.resources = agent::proto::Resources{in.memory_mib, in.cpu_millis};
    a.hostnames.push_back(std::string(in.hostname));
    a.suspended = in.suspended;
    nlohmann::json j = a;
    j["spec"] = spec;
    return j.dump();
  }

  TEST_CASE("view text: append_apply_assignment writes the assignment's dump") {
    const nlohmann::json specs[] = {
        nlohmann::json::object(),
        {{"image", "nginx:1.25"}, {"env", {{"A", "1"}, {"B", "x\"y\\z\n\u00e9"}}}},
        {{"env", nlohmann::json::object()}, {"image", nullptr}, {"extra", {1, 2.5, true}}},
        nullptr,
    };
    for (const auto& spec : specs) {
      for (bool suspended : {false, true}) {
        const std::string text = spec.dump();
        scheduler::detail::ApplyAssignment a{
            "ws_0123456789abcdef", "web-1", "web-1.apps.example.com", 1, 512, 250, suspended, text};
        std::string out = "x";
        scheduler::detail::append_apply_assignment(out, a);
        CHECK(out == "x" + reference(a, spec));
        a.name = "caf\u00e9 \"q\"";
        a.generation = -7;
        a.memory_mib = 0;
        a.cpu_millis = INT64_MAX;
        out.clear();
        scheduler::detail::append_apply_assignment(out, a);
        CHECK(out == reference(a, spec));
      }
    }
  }
}

#include "scheduler/service.hpp"

TEST_SUITE("scheduler") {
  TEST_CASE("view text: placement_text is placement_json's dump") {
    scheduler::PlacementConstraints p;
    CHECK(scheduler::detail::placement_text(p) == scheduler::placement_json(p).dump());
    p.regions = {"eu-1", "us-2"};
    CHECK(scheduler::detail::placement_text(p) == scheduler::placement_json(p).dump());
    p = {};
    p.labels = {{"tier", "gold"}, {"az", "b"}};
    CHECK(scheduler::detail::placement_text(p) == scheduler::placement_json(p).dump());
    p = {};
    p.prefer = {"eu-1"};
    CHECK(scheduler::detail::placement_text(p) == scheduler::placement_json(p).dump());
  }
}

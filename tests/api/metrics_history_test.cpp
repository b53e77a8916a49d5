// The per-minute history of GET /v1/metrics/history: placements are 201
// creates and 202 migrations, minutes roll over, an hour-old slot is reused,
// empty minutes are zero, the window is the last 60 minutes oldest first.
#include <doctest/doctest.h>

#include "api/detail/metrics_history.hpp"

using fc::api::detail::MetricsHistory;

TEST_SUITE("api") {
  TEST_CASE("metrics history: per-minute counts over the last hour") {
    MetricsHistory h;
    const std::int64_t t0 = 1'700'000'040'000;  // a minute boundary (28333334 min)
    h.record(t0, "/v1/workspaces", "POST", 201);
    h.record(t0 + 10, "/v1/workspaces", "POST", 422);  // refused: no placement
    h.record(t0 + 20, "/v1/workspaces/{id}/migrate", "POST", 202);
    h.record(t0 + 30, "/v1/regions", "GET", 503);
    h.record(t0 + 60'000, "/v1/workspaces", "POST", 201);  // the next minute
    auto w = h.window(t0 + 60'000);
    CHECK(w.back().start_ms == t0 + 60'000);
    CHECK(w.back().placements == 1);
    CHECK(w.back().requests == 1);
    const auto& first = w[w.size() - 2];
    CHECK(first.start_ms == t0);
    CHECK(first.requests == 4);
    CHECK(first.errors == 1);
    CHECK(first.placements == 2);
    CHECK(w.front().start_ms == t0 + 60'000 - 59 * 60'000);
    CHECK(w.front().requests == 0);
    // An hour later the minute's slot is reused, the old counts gone.
    h.record(t0 + 3'600'000, "/v1/workspaces", "POST", 201);
    auto later = h.window(t0 + 3'600'000);
    CHECK(later.back().placements == 1);
    CHECK(later.back().requests == 1);
    CHECK(later.front().start_ms == t0 + 60'000);  // still inside the hour
    CHECK(later.front().requests == 1);
    for (std::size_t i = 1; i + 1 < later.size(); ++i) CHECK(later[i].requests == 0);
  }
}

#include "scheduler/plugins/scores.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "fixtures.hpp"

using namespace fc::scheduler;
using fc::scheduler::test::region;
using fc::scheduler::test::request;

namespace {

constexpr std::int64_t kMax = INT64_MAX;

struct ScoreCase {
  const char* name;
  std::int64_t capacity;
  std::int64_t allocated;
  std::int64_t requested;
  int want;
};

}  // namespace

TEST_SUITE("scheduler") {
  // Like Kubernetes' least_allocated_test.go: one row per situation.
  TEST_CASE("least_allocated_score = floor((free - requested) * 100 / capacity)") {
    const std::vector<ScoreCase> cases = {
        {"empty region, nothing requested", 100, 0, 0, 100},
        {"half requested", 100, 0, 50, 50},
        {"fills exactly", 100, 50, 50, 0},
        {"does not fit", 100, 50, 51, 0},
        {"allocated above capacity", 100, 120, 1, 0},
        {"zero capacity", 0, 0, 0, 0},
        {"zero capacity, request", 0, 0, 1, 0},
        {"negative capacity", -5, 0, 1, 0},
        {"floor of 66.67", 3, 0, 1, 66},
        {"floor of 99.9", 1000, 0, 1, 99},
        {"negative allocated counts as 0", 100, -10, 10, 90},
        {"negative request counts as 0", 100, 0, -5, 100},
        {"int64 max capacity, empty", kMax, 0, 0, 100},
        {"int64 max capacity, 1 requested", kMax, 0, 1, 99},
        {"int64 max, full", kMax, kMax, 0, 0},
        {"int64 max request", kMax, 0, kMax, 0},
        {"int64 max request does not fit", kMax, 1, kMax, 0},
        {"int64 min allocated", kMax, INT64_MIN, kMax, 0},
    };
    for (const ScoreCase& c : cases) {
      CAPTURE(c.name);
      const int s = least_allocated_score(c.capacity, c.allocated, c.requested);
      CHECK(s == c.want);
      CHECK(s >= 0);
      CHECK(s <= kMaxScore);
    }
  }

  TEST_CASE("most_allocated_score = floor((allocated + requested) * 100 / capacity)") {
    const std::vector<ScoreCase> cases = {
        {"empty region, nothing requested", 100, 0, 0, 0},
        {"half requested", 100, 0, 50, 50},
        {"fills exactly", 100, 50, 50, 100},
        {"does not fit scores 0", 100, 50, 51, 0},
        {"allocated above capacity", 100, 120, 1, 0},
        {"zero capacity", 0, 0, 0, 0},
        {"negative capacity", -1, 0, 0, 0},
        {"floor of 66.67", 3, 1, 1, 66},
        {"floor of 99.9", 1000, 998, 1, 99},
        {"int64 max, almost full", kMax, kMax - 1, 1, 100},
        {"int64 max, tiny", kMax, 0, 1, 0},
        {"int64 max, half", kMax, kMax / 2, 0, 49},
        {"int64 max, request all", kMax, 0, kMax, 100},
    };
    for (const ScoreCase& c : cases) {
      CAPTURE(c.name);
      const int s = most_allocated_score(c.capacity, c.allocated, c.requested);
      CHECK(s == c.want);
      CHECK(s >= 0);
      CHECK(s <= kMaxScore);
    }
  }

  TEST_CASE("least + most allocated add up to 100 when the capacity divides evenly") {
    for (std::int64_t alloc = 0; alloc <= 90; alloc += 10) {
      for (std::int64_t req = 0; alloc + req <= 100; req += 10) {
        CHECK(least_allocated_score(100, alloc, req) + most_allocated_score(100, alloc, req) ==
              100);
      }
    }
  }

  TEST_CASE("policy scores average memory, cpu and workspace slots") {
    struct Case {
      const char* name;
      Quantities capacity;
      Quantities allocated;
      Resources want;
      int spread;
      int binpack;
    };
    const std::vector<Case> cases = {
        // mem 900/1000=90, cpu 800/1000=80, slots 9/10=90 -> 260/3 = 86;
        // binpack 10 + 20 + 10 = 40/3 = 13.
        {"empty region", {1000, 1000, 10}, {0, 0, 0}, {100, 200}, 86, 13},
        // After: mem 1000/1000, cpu 500/1000, slots 5/10 -> spread (0+50+50)/3 = 33,
        // binpack (100+50+50)/3 = 66.
        {"memory full", {1000, 1000, 10}, {900, 300, 4}, {100, 200}, 33, 66},
        {"fills everything", {100, 100, 1}, {0, 0, 0}, {100, 100}, 0, 100},
        {"slots full", {100, 100, 1}, {0, 0, 1}, {1, 1}, 66, 0},  // (99+99+0)/3; (1+1+0)/3
        {"zero capacity", {0, 0, 0}, {0, 0, 0}, {1, 1}, 0, 0},
        {"int64 max", {kMax, kMax, kMax}, {0, 0, 0}, {1, 1}, 99, 0},
    };
    for (const Case& c : cases) {
      CAPTURE(c.name);
      const RegionView r = region("r", c.capacity, c.allocated);
      const WorkspaceRequest req{c.want, {}};
      CHECK(score_spread(req, r) == c.spread);
      CHECK(score_binpack(req, r) == c.binpack);
      CHECK(score(Policy::kSpread, req, r) == c.spread);
      CHECK(score(Policy::kBinpack, req, r) == c.binpack);
    }
  }

  TEST_CASE("spread scores fall and binpack scores rise as a region fills") {
    int last_spread = kMaxScore + 1;
    int last_binpack = -1;
    for (std::int64_t used = 0; used <= 9; ++used) {
      const RegionView r = region("r", {1000, 1000, 10}, {used * 100, used * 100, used});
      const WorkspaceRequest req = request(100, 100);
      CHECK(score_spread(req, r) < last_spread);
      CHECK(score_binpack(req, r) > last_binpack);
      last_spread = score_spread(req, r);
      last_binpack = score_binpack(req, r);
    }
    CHECK(last_spread == 0);
    CHECK(last_binpack == 100);
  }
}

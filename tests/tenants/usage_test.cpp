// The pure usage core: hour cuts, aggregation by bucket (exact to the
// second), the clock rule, CSV and the from/to parser.
#include <doctest/doctest.h>

#include "tenants/usage.hpp"

using namespace fc::tenants;

namespace {
constexpr std::int64_t kNov1 = 1'761'955'200;  // 2025-11-01T00:00:00Z
UsageKey key(const std::string& ws, const std::string& state) {
  return {ws, "ten_1", "small", state, 512, 250};
}
}  // namespace

TEST_SUITE("tenants") {
  TEST_CASE("split_hours cuts at every hour boundary") {
    struct Case {
      std::int64_t s, e;
      std::vector<std::pair<std::int64_t, std::int64_t>> want;
    };
    const std::int64_t h = kNov1;
    std::vector<Case> cases = {
        {h, h, {}},
        {h + 10, h + 5, {}},  // a negative interval is empty, never negative
        {h, h + 3600, {{h, h + 3600}}},
        {h + 3599, h + 3601, {{h + 3599, h + 3600}, {h + 3600, h + 3601}}},
        {h + 10, h + 7300, {{h + 10, h + 3600}, {h + 3600, h + 7200}, {h + 7200, h + 7300}}},
    };
    for (const auto& c : cases) CHECK(split_hours(c.s, c.e) == c.want);
    CHECK(hour_floor(h + 3599) == h);
    CHECK(hour_floor(-1) == -3600);
  }

  TEST_CASE("close_at never goes backwards") {
    CHECK(close_at(100, 50) == 100);
    CHECK(close_at(50, 100) == 100);  // clock jumped back: zero-length close
  }

  TEST_CASE("aggregate: clipped, by hour and by day, sums exact") {
    std::vector<Interval> ivs = {
        {key("ws_a", "running"), kNov1 + 100, kNov1 + 3600},
        {key("ws_a", "running"), kNov1 + 3600, kNov1 + 3700},
        {key("ws_a", "suspended"), kNov1 + 3700, kNov1 + 7200},
        {key("ws_b", "running"), kNov1 + 86400 - 60, kNov1 + 86400 + 60},  // open, crosses a day
    };
    auto by_hour = aggregate(ivs, kNov1, kNov1 + 2 * 86400, kHour);
    REQUIRE(by_hour.size() == 5);
    CHECK(by_hour[0].bucket_start_s == kNov1);
    CHECK(by_hour[0].seconds == 3500);
    CHECK(by_hour[1].key.state == "running");
    CHECK(by_hour[1].seconds == 100);
    CHECK(by_hour[2].key.state == "suspended");
    CHECK(by_hour[2].seconds == 3500);
    CHECK(by_hour[3].seconds == 60);
    CHECK(by_hour[4].bucket_start_s == kNov1 + 86400);
    auto by_day = aggregate(ivs, kNov1, kNov1 + 2 * 86400, kDay);
    REQUIRE(by_day.size() == 4);
    CHECK(by_day[0].seconds == 3600);  // ws_a running
    CHECK(by_day[2].seconds == 60);    // ws_b, day 1
    CHECK(by_day[3].seconds == 60);    // ws_b, day 2
    // Clipping: a period that starts mid-interval counts only what is inside.
    auto clipped = aggregate(ivs, kNov1 + 1800, kNov1 + 3650, kHour);
    REQUIRE(clipped.size() == 2);
    CHECK(clipped[0].seconds == 1800);
    CHECK(clipped[1].seconds == 50);
  }

  TEST_CASE("usage_csv: header, CRLF, quoting") {
    UsageRow r{kNov1, {"ws_a", "ten_1", "pl,an", "running", 512, 250}, 10};
    std::string csv = usage_csv({r});
    CHECK(csv ==
          "start,workspace_id,tenant,plan,state,memory_mib,cpu_millis,seconds,"
          "memory_mib_seconds,cpu_millis_seconds\r\n"
          "2025-11-01T00:00:00.000Z,ws_a,ten_1,\"pl,an\",running,512,250,10,5120,2500\r\n");
  }

  TEST_CASE("parse_utc_seconds") {
    CHECK(parse_utc_seconds("2025-11-01T00:00:00Z") == kNov1);
    CHECK(parse_utc_seconds("2024-02-29T23:59:59Z") == 1'709'251'199);
    CHECK(parse_utc_seconds("1761955200") == kNov1);
    for (const char* bad :
         {"", "2025-11-01", "2025-02-29T00:00:00Z", "2025-11-01T24:00:00Z",
          "2025-11-01T00:00:00+01:00", "2025-13-01T00:00:00Z", "-5", "1e9", "1969-12-31T23:59:59Z",
          "2025-11-01T00:00:00.5Z", "9999999999999999999"})
      CHECK_MESSAGE(!parse_utc_seconds(bad), bad);
  }
}

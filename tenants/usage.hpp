// Usage metering, the pure core (docs/tenants.md "Usage metering"): exact
// seconds per workspace in each state, cut at every hour boundary. No I/O and
// no clock: times are parameters (whole seconds since the epoch).
//
//   transition / hour tick --close_at--> [since, t) --split_hours--> intervals (one hour each)
//   intervals --aggregate(from, to, hour|day)--> rows --usage_csv--> text/csv
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tenants/detail/errc.hpp"  // the component's error codes, light on purpose

namespace fc::tenants {

constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 86400;

// What one stretch of usage is billed as.
struct UsageKey {
  std::string workspace_id;
  std::string tenant_id;  // "" = no tenant
  std::string plan;       // "" = no plan
  std::string state;      // running | suspended
  std::int64_t memory_mib = 0;
  std::int64_t cpu_millis = 0;
  friend bool operator==(const UsageKey&, const UsageKey&) = default;
};

// [start_s, end_s), end_s > start_s.
struct Interval {
  UsageKey key;
  std::int64_t start_s = 0;
  std::int64_t end_s = 0;
};

// The start of the hour holding t (floor, also for t < 0).
std::int64_t hour_floor(std::int64_t t);

// [start, end) cut at every hour boundary, in order; empty when end <= start.
std::vector<std::pair<std::int64_t, std::int64_t>> split_hours(std::int64_t start,
                                                               std::int64_t end);

// The clock rule: the meter never goes backwards. An interval open since
// `since` closes at max(now, since), and the next one opens there; a clock
// that jumps back replays seconds already counted, so they count once (as the
// state they were first counted in) and no interval is ever negative.
inline std::int64_t close_at(std::int64_t now_s, std::int64_t since_s) {
  return now_s > since_s ? now_s : since_s;
}

// One line of GET /v1/usage: a bucket (hour or day) of one workspace in one
// state on one plan and size.
struct UsageRow {
  std::int64_t bucket_start_s = 0;
  UsageKey key;
  std::int64_t seconds = 0;
};

// Sums `intervals` clipped to [from_s, to_s) by bucket of `granularity_s`
// (kHour or kDay, UTC), workspace, state, plan and size; sorted by bucket,
// workspace, state, plan. Exact: the seconds of every row add up to the
// clipped seconds of the intervals.
std::vector<UsageRow> aggregate(const std::vector<Interval>& intervals, std::int64_t from_s,
                                std::int64_t to_s, std::int64_t granularity_s);

// RFC 4180 text: a header line, then one line per row, CRLF line ends.
std::string usage_csv(const std::vector<UsageRow>& rows);

}  // namespace fc::tenants

namespace fc::tenants {

// A `from`/`to` query value: RFC 3339 UTC to the second
// ("2026-12-01T00:00:00Z") or whole seconds since the epoch ("1764547200").
// nullopt for anything else (years 1970-9999 only).
std::optional<std::int64_t> parse_utc_seconds(std::string_view s);

}  // namespace fc::tenants

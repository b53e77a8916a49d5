// Usage metering, the pure core (tenants/usage.hpp).
#include "tenants/usage.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "common/clock.hpp"

namespace fc::tenants {

std::int64_t hour_floor(std::int64_t t) {
  std::int64_t r = t % kHour;
  return r < 0 ? t - r - kHour : t - r;
}

std::vector<std::pair<std::int64_t, std::int64_t>> split_hours(std::int64_t start,
                                                               std::int64_t end) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  while (start < end) {
    std::int64_t next = std::min(hour_floor(start) + kHour, end);
    out.emplace_back(start, next);
    start = next;
  }
  return out;
}

namespace {

std::int64_t bucket_floor(std::int64_t t, std::int64_t g) {
  std::int64_t r = t % g;
  return r < 0 ? t - r - g : t - r;
}

using RowKey = std::tuple<std::int64_t, std::string, std::string, std::string, std::string,
                          std::int64_t, std::int64_t>;

// RFC 4180 §2: a field with a comma, quote or line break is quoted, quotes doubled.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::vector<UsageRow> aggregate(const std::vector<Interval>& intervals, std::int64_t from_s,
                                std::int64_t to_s, std::int64_t granularity_s) {
  std::map<RowKey, UsageRow> rows;
  for (const auto& iv : intervals) {
    // Cut at bucket boundaries too, so an interval longer than a bucket
    // (never stored, but the open one is given whole) is split exactly.
    std::int64_t s = std::max(iv.start_s, from_s);
    const std::int64_t e = std::min(iv.end_s, to_s);
    while (s < e) {
      const std::int64_t b = bucket_floor(s, granularity_s);
      const std::int64_t piece_end = std::min(b + granularity_s, e);
      const auto& k = iv.key;
      RowKey rk{b, k.workspace_id, k.state, k.plan, k.tenant_id, k.memory_mib, k.cpu_millis};
      auto [it, fresh] = rows.try_emplace(rk);
      if (fresh) {
        it->second.bucket_start_s = b;
        it->second.key = k;
      }
      it->second.seconds += piece_end - s;
      s = piece_end;
    }
  }
  std::vector<UsageRow> out;
  out.reserve(rows.size());
  for (auto& [k, r] : rows) out.push_back(std::move(r));
  return out;
}

std::string usage_csv(const std::vector<UsageRow>& rows) {
  std::string out =
      "start,workspace_id,tenant,plan,state,memory_mib,cpu_millis,seconds,"
      "memory_mib_seconds,cpu_millis_seconds\r\n";
  for (const auto& r : rows) {
    const auto& k = r.key;
    out += format_rfc3339(r.bucket_start_s * 1000) + "," + csv_field(k.workspace_id) + "," +
           csv_field(k.tenant_id) + "," + csv_field(k.plan) + "," + csv_field(k.state) + "," +
           std::to_string(k.memory_mib) + "," + std::to_string(k.cpu_millis) + "," +
           std::to_string(r.seconds) + "," + std::to_string(r.seconds * k.memory_mib) + "," +
           std::to_string(r.seconds * k.cpu_millis) + "\r\n";
  }
  return out;
}

}  // namespace fc::tenants

namespace fc::tenants {

namespace {

std::optional<std::int64_t> digits(std::string_view s) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = y / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

std::optional<std::int64_t> parse_utc_seconds(std::string_view s) {
  if (s.find('T') == std::string_view::npos) return digits(s);
  // YYYY-MM-DDTHH:MM:SSZ, exactly 20 characters.
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z')
    return std::nullopt;
  auto y = digits(s.substr(0, 4));
  auto mo = digits(s.substr(5, 2));
  auto d = digits(s.substr(8, 2));
  auto h = digits(s.substr(11, 2));
  auto mi = digits(s.substr(14, 2));
  auto se = digits(s.substr(17, 2));
  if (!y || !mo || !d || !h || !mi || !se) return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*y < 1970 || *mo < 1 || *mo > 12 || *h > 23 || *mi > 59 || *se > 59) return std::nullopt;
  const std::int64_t month_days = kDays[*mo - 1] + (*mo == 2 && leap(*y) ? 1 : 0);
  if (*d < 1 || *d > month_days) return std::nullopt;
  return days_from_civil(*y, *mo, *d) * kDay + *h * kHour + *mi * 60 + *se;
}

}  // namespace fc::tenants

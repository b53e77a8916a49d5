// Time as a parameter: services take a Clock&, tests pass a ManualClock.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace fc {

using SysTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SysTime now() const = 0;
  std::int64_t now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
  }
};

// Milliseconds since the Unix epoch, as the database stores times.
inline std::int64_t to_ms(SysTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline SysTime from_ms(std::int64_t ms) { return SysTime{std::chrono::milliseconds(ms)}; }

class SystemClock final : public Clock {
 public:
  SysTime now() const override { return std::chrono::system_clock::now(); }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(SysTime t = SysTime{std::chrono::seconds(1'700'000'000)}) : t_(t) {}
  SysTime now() const override { return t_; }
  void advance(std::chrono::milliseconds d) { t_ += d; }
  void set(SysTime t) { t_ = t; }

 private:
  SysTime t_;
};

// RFC 3339 UTC with millisecond precision, e.g. 2026-11-25T17:49:43.123Z.
std::string format_rfc3339(std::int64_t unix_ms);
inline std::string format_rfc3339(SysTime t) {
  return format_rfc3339(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

// The UTC calendar fields of an instant: civil-from-days (Howard Hinnant),
// valid for the proleptic Gregorian calendar. format_rfc3339 and the writers
// that put the digits straight into a buffer (the list page's) share it.
struct CivilTime {
  std::int64_t year;
  int month, day, hour, minute, second, millis;
};

inline CivilTime civil_from_unix_ms(std::int64_t unix_ms) {
  std::int64_t secs = unix_ms / 1000;
  int ms = static_cast<int>(unix_ms % 1000);
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = yoe + era * 400;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y += 1;
  return {y,
          static_cast<int>(m),
          static_cast<int>(d),
          static_cast<int>(rem / 3600),
          static_cast<int>((rem / 60) % 60),
          static_cast<int>(rem % 60),
          ms};
}

inline std::string format_rfc3339(std::int64_t unix_ms) {
  const CivilTime t = civil_from_unix_ms(unix_ms);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                static_cast<long long>(t.year), t.month, t.day, t.hour, t.minute, t.second,
                t.millis);
  return buf;
}

}  // namespace fc

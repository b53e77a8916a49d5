// The last hour of a few of the daemon's own request metrics, per minute, kept
// in memory (GET /v1/metrics/history; the console's "placements per minute").
// Fed from the same hook as /metrics; lost on restart, by design.
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace fc::api::detail {

class MetricsHistory {
 public:
  static constexpr int kMinutes = 60;
  struct Minute {
    std::int64_t start_ms = -1;    // the minute's first millisecond (Unix epoch)
    std::uint64_t requests = 0;    // API requests answered
    std::uint64_t errors = 0;      // of which 5xx
    std::uint64_t placements = 0;  // workspaces placed: 201 creates + 202 migrations
  };

  void record(std::int64_t now_ms, const std::string& route, const std::string& method, int status);
  // The kMinutes minutes ending with the one `now_ms` is in, oldest first;
  // a minute with nothing recorded is all zero.
  std::array<Minute, kMinutes> window(std::int64_t now_ms) const;

 private:
  std::array<Minute, kMinutes> ring_{};  // slot = minute number mod kMinutes
};

}  // namespace fc::api::detail

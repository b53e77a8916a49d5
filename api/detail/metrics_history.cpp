// GET /v1/metrics/history (admin) and the per-minute ring behind it.
#include "api/detail/metrics_history.hpp"

#include "api/detail/context.hpp"

namespace fc::api::detail {

namespace {
constexpr std::int64_t kMinuteMs = 60'000;

std::int64_t minute_of(std::int64_t ms) { return ms >= 0 ? ms / kMinuteMs : 0; }
}  // namespace

void MetricsHistory::record(std::int64_t now_ms, const std::string& route,
                            const std::string& method, int status) {
  const std::int64_t m = minute_of(now_ms);
  Minute& slot = ring_[static_cast<std::size_t>(m % kMinutes)];
  if (slot.start_ms != m * kMinuteMs) slot = Minute{m * kMinuteMs};  // an hour old: reuse
  ++slot.requests;
  if (status >= 500) ++slot.errors;
  const bool created = route == "/v1/workspaces" && method == "POST" && status == 201;
  const bool migrated = route == "/v1/workspaces/{id}/migrate" && status == 202;
  if (created || migrated) ++slot.placements;
}

std::array<MetricsHistory::Minute, MetricsHistory::kMinutes> MetricsHistory::window(
    std::int64_t now_ms) const {
  std::array<Minute, kMinutes> out{};
  const std::int64_t last = minute_of(now_ms);
  for (int i = 0; i < kMinutes; ++i) {
    const std::int64_t m = last - (kMinutes - 1) + i;
    const Minute& slot = ring_[static_cast<std::size_t>(((m % kMinutes) + kMinutes) % kMinutes)];
    out[static_cast<std::size_t>(i)] =
        slot.start_ms == m * kMinuteMs ? slot : Minute{m * kMinuteMs};
  }
  return out;
}

void register_metrics_history_route(Context& ctx) {
  ctx.router.add("GET", "/v1/metrics/history", Scope::kAdmin,
                 [&ctx](Request&) -> awaitable<Response> {
                   nlohmann::json points = nlohmann::json::array();
                   for (const auto& m : ctx.history.window(ctx.clock.now_ms())) {
                     points.push_back({{"t", format_rfc3339(m.start_ms)},
                                       {"requests", m.requests},
                                       {"errors", m.errors},
                                       {"placements", m.placements}});
                   }
                   co_return json_response(200, {{"step_s", 60}, {"points", points}});
                 });
}

}  // namespace fc::api::detail

// The /metrics series docs/deploy.md "What to alert on" names: how long ago
// each region's agent was heard from, and certificate expiry as a histogram
// plus the earliest expiry (a series per certificate would be 100,000 series).
#include <spdlog/spdlog.h>

#include "api/detail/context.hpp"
#include "certs/service.hpp"
#include "common/clock.hpp"
#include "scheduler/service.hpp"

namespace fc::api::detail {
namespace {

void alert_head(std::string& o, const char* name, const char* type, const char* help) {
  o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

// A region never heard from is +Inf: an alert on "> N" fires for it too.
void heartbeat_ages(Context& ctx, std::string& o) {
  if (ctx.scheduler == nullptr) return;
  auto regions = ctx.scheduler->list_regions();
  if (!regions) return;
  alert_head(o, "fleetcommand_region_heartbeat_age_seconds", "gauge",
             "Seconds since a region's agent last sent a heartbeat (+Inf: never).");
  const std::int64_t now = ctx.clock.now_ms();
  for (const auto& r : regions.value()) {
    std::string v = "+Inf";
    if (r.last_heartbeat_ms)
      v = std::to_string(std::max<std::int64_t>(0, now - *r.last_heartbeat_ms) / 1000);
    o += "fleetcommand_region_heartbeat_age_seconds{region=\"" + r.id + "\"} " + v + "\n";
  }
}

void certificate_expiry(Context& ctx, std::string& o) {
  if (ctx.certs == nullptr) return;
  auto sum = ctx.certs->expiry_summary();
  if (!sum) {  // the series go missing: say why (an alert on them would not fire)
    spdlog::warn("metrics: certificate expiry series left out reason={}", sum.error().detail);
    return;
  }
  const auto& s = sum.value();
  const char* h = "fleetcommand_certificates_expiry_seconds";
  alert_head(o, h, "histogram",
             "Issued certificates (valid or renewing) by seconds until they expire.");
  for (std::size_t i = 0; i < std::size(certs::kExpiryBoundsS); ++i)
    o += std::string(h) + "_bucket{le=\"" + std::to_string(certs::kExpiryBoundsS[i]) + "\"} " +
         std::to_string(s.at_most[i]) + "\n";
  o += std::string(h) + "_bucket{le=\"+Inf\"} " + std::to_string(s.count) + "\n";
  o += std::string(h) + "_sum " + std::to_string(static_cast<std::int64_t>(s.sum_s)) + "\n";
  o += std::string(h) + "_count " + std::to_string(s.count) + "\n";
  alert_head(o, "fleetcommand_certificate_earliest_expiry_timestamp_seconds", "gauge",
             "Unix time of the earliest not_after among issued certificates (absent: none).");
  if (s.earliest_not_after_ms)
    o += "fleetcommand_certificate_earliest_expiry_timestamp_seconds " +
         std::to_string(*s.earliest_not_after_ms / 1000) + "\n";
}

}  // namespace

std::string alert_metrics_text(Context& ctx) {
  std::string o;
  heartbeat_ages(ctx, o);
  certificate_expiry(ctx, o);
  return o;
}

}  // namespace fc::api::detail

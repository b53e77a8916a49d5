// Renewal timing: ARI (RFC 9773) when the CA offers it, else a fixed fraction
// of the lifetime (2/3 by default, CertMagic's "1/3 remaining" in maintain.go).
#include <algorithm>
#include <cmath>

#include "certs/pki.hpp"

namespace fc::certs {

std::string ari_cert_id(std::span<const std::uint8_t> aki_key_id,
                        std::span<const std::uint8_t> serial_der) {
  return base64url_encode(aki_key_id) + "." + base64url_encode(serial_der);
}

SysTime renewal_time_by_ratio(SysTime not_before, SysTime not_after, double ratio) {
  if (not_after <= not_before) return not_before;
  const double r = std::clamp(ratio, 0.0, 1.0);
  const auto life = not_after - not_before;
  const auto offset = std::chrono::duration_cast<SysTime::duration>(life * r);
  return not_before + offset;
}

bool in_renewal_window(SysTime not_before, SysTime not_after, SysTime now, double ratio) {
  return now >= renewal_time_by_ratio(not_before, not_after, ratio);
}

SysTime pick_in_window(SysTime start, SysTime end, double u) {
  if (end <= start || !std::isfinite(u)) return start;
  const double f = std::clamp(u, 0.0, 1.0);
  const auto span = end - start;
  auto offset = std::chrono::duration_cast<SysTime::duration>(span * f);
  if (offset >= span) offset = span - SysTime::duration(1);  // stay inside [start, end)
  return start + offset;
}

SysTime choose_renewal_time(const CertInfo& cert, const std::optional<RenewalInfo>& ari,
                            SysTime now, double u, double ratio) {
  if (ari && ari->window_end > ari->window_start) {
    // RFC 9773 §4.2: a window entirely in the past means renew immediately.
    if (ari->window_end <= now) return now;
    return pick_in_window(ari->window_start, ari->window_end, u);
  }
  return renewal_time_by_ratio(cert.not_before, cert.not_after, ratio);
}

SysTime plan_renewal(const CertInfo& cert, const std::optional<RenewalInfo>& ari,
                     std::optional<SysTime> current, SysTime now, double u, double ratio) {
  if (ari && ari->window_end > ari->window_start) {
    if (current && *current >= now && *current >= ari->window_start && *current < ari->window_end)
      return *current;
    return std::max(now, choose_renewal_time(cert, ari, now, u, ratio));
  }
  if (current) return *current;
  const auto base = renewal_time_by_ratio(cert.not_before, cert.not_after, ratio);
  if (cert.not_after <= cert.not_before || !std::isfinite(u)) return base;
  const auto life = cert.not_after - cert.not_before;
  return base -
         std::chrono::duration_cast<SysTime::duration>(life * (0.05 * std::clamp(u, 0.0, 1.0)));
}

std::chrono::seconds ari_poll_interval(std::optional<std::int64_t> retry_after_s, bool failed) {
  constexpr std::int64_t kMin = 3600, kMax = 24 * 3600, kDefault = 6 * 3600;
  if (failed) return std::chrono::seconds(kMin);
  return std::chrono::seconds(
      std::clamp<std::int64_t>(retry_after_s.value_or(kDefault), kMin, kMax));
}

}  // namespace fc::certs

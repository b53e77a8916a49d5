// One access log line per answered request, on the "access" logger.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "api/detail/access_log.hpp"

namespace fc::api::detail {

namespace {
// Request paths come from the network: escape what could forge a log line.
std::string log_safe(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || c == '"' || c == '\\' || c == ' ') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%%%02X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

void access_log(const Request& req, const Response& resp, std::chrono::nanoseconds d) {
  static auto logger = spdlog::default_logger()->clone("access");
  // The level first: the escaped copies below cost allocations per request
  // even when the line is not written (the bench's level is warn).
  if (!logger->should_log(spdlog::level::info)) return;
  logger->info(
      "request_id={} remote={} method={} path={} route={} status={} bytes={} duration_ms={:.3f} "
      "token={}",
      req.request_id, req.remote, log_safe(req.method), log_safe(req.path),
      req.route.empty() ? "-" : req.route, resp.status, resp.body.size(),
      std::chrono::duration<double, std::milli>(d).count(),
      req.principal ? req.principal->token_id : "-");
}

}  // namespace fc::api::detail

#include "api/detail/metrics.hpp"

#include <sstream>
#include <string_view>

namespace fc::api::detail {

std::string prom_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void Metrics::observe(const std::string& route, const std::string& method, int status,
                      std::chrono::nanoseconds d) {
  const std::string_view r = route.empty() ? std::string_view("unmatched") : route;
  const auto key = std::make_tuple(r, std::string_view(method), status);
  auto it = requests_.find(key);
  if (it == requests_.end())
    it = requests_.emplace(std::make_tuple(std::string(r), method, status), 0).first;
  ++it->second;
  auto hit = latency_.find(r);
  if (hit == latency_.end()) hit = latency_.emplace(std::string(r), Hist{}).first;
  auto& h = hit->second;
  double secs = std::chrono::duration<double>(d).count();
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (secs <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += secs;
}

std::string Metrics::render() const {
  std::ostringstream o;
  o << "# HELP fleetcommand_http_requests_total HTTP requests answered, by route, method and "
       "status.\n"
    << "# TYPE fleetcommand_http_requests_total counter\n";
  for (const auto& [k, v] : requests_) {
    o << "fleetcommand_http_requests_total{route=\"" << prom_escape(std::get<0>(k))
      << "\",method=\"" << prom_escape(std::get<1>(k)) << "\",status=\"" << std::get<2>(k) << "\"} "
      << v << "\n";
  }
  o << "# HELP fleetcommand_http_request_duration_seconds Time from a complete request to its "
       "response.\n"
    << "# TYPE fleetcommand_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    std::string r = prom_escape(route);
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      o << "fleetcommand_http_request_duration_seconds_bucket{route=\"" << r << "\",le=\""
        << kBuckets[i] << "\"} " << h.buckets[i] << "\n";
    }
    o << "fleetcommand_http_request_duration_seconds_bucket{route=\"" << r << "\",le=\"+Inf\"} "
      << h.count << "\n";
    o << "fleetcommand_http_request_duration_seconds_sum{route=\"" << r << "\"} " << h.sum << "\n";
    o << "fleetcommand_http_request_duration_seconds_count{route=\"" << r << "\"} " << h.count
      << "\n";
  }
  for (const auto& c : collectors_) o << c();
  return o.str();
}

}  // namespace fc::api::detail

// A small Prometheus registry: request counters and latency histograms per
// route and status, plus gauges read at scrape time.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>

namespace fc::api::detail {

class Metrics {
 public:
  static constexpr std::array<double, 14> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0};
  void observe(const std::string& route, const std::string& method, int status,
               std::chrono::nanoseconds d);
  // Extra exposition text (gauges) appended at scrape time.
  void add_collector(std::function<std::string()> f) { collectors_.push_back(std::move(f)); }
  std::string render() const;

 private:
  struct Hist {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  // Transparent: a request's route and method are looked up without copies.
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t, std::less<>> requests_;
  std::map<std::string, Hist, std::less<>> latency_;
  std::vector<std::function<std::string()>> collectors_;
};

std::string prom_escape(const std::string& s);

}  // namespace fc::api::detail

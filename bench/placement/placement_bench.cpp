// Placement micro-benchmark: 100 regions in a CapacityIndex, N placements
// (default 100,000) each followed by a reserve, as the API would do after its
// commit. Reports placements/s and p50/p99/max latency of views()+place()+reserve().
// Deterministic inputs (fixed tables, no randomness); bounded by count and by
// a wall-clock budget.
//
//   placement_bench [--count N] [--budget-s S] [--policy spread|binpack]
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "scheduler/placement.hpp"

namespace sch = fc::scheduler;
using Steady = std::chrono::steady_clock;

namespace {

constexpr int kRegions = 100;

struct Options {
  long count = 100'000;
  double budget_s = 120;
  sch::Policy policy = sch::Policy::kSpread;
};

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* flag = argv[i];
    const char* value = argv[i + 1];
    if (std::strcmp(flag, "--count") == 0) {
      o.count = std::strtol(value, nullptr, 10);
    } else if (std::strcmp(flag, "--budget-s") == 0) {
      o.budget_s = std::strtod(value, nullptr);
    } else if (std::strcmp(flag, "--policy") == 0) {
      const auto p = sch::parse_policy(value);
      if (!p) return false;
      o.policy = *p;
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && o.count > 0 && o.count <= 10'000'000 && o.budget_s > 0;
}

// 100 regions, every fifth labelled eu; room for about 6,000 workspaces each,
// so 100,000 placements never run out under either policy.
std::vector<sch::RegionRecord> fleet(fc::SysTime now) {
  std::vector<sch::RegionRecord> out;
  for (int i = 0; i < kRegions; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "region-%03d", i);
    sch::RegionRecord r;
    r.id = id;
    r.labels = {{"jurisdiction", i % 5 == 0 ? "eu" : "us"}, {"tier", i % 2 ? "gold" : "std"}};
    r.capacity = {6000L * 1024, 6000L * 500, 6000 + (i % 7) * 100};
    r.last_heartbeat = now;
    out.push_back(std::move(r));
  }
  return out;
}

// A fixed mix: plain, label-constrained, region-listed and preferring requests.
std::array<sch::WorkspaceRequest, 4> request_mix() {
  sch::WorkspaceRequest plain{{512, 250}, {}};
  sch::WorkspaceRequest eu{{1024, 500}, {{}, {{"jurisdiction", "eu"}}, {}}};
  sch::WorkspaceRequest listed{{256, 100}, {{}, {}, {}}};
  for (int i = 1; i < kRegions; i += 10) {
    char id[32];
    std::snprintf(id, sizeof id, "region-%03d", i);
    listed.placement.regions.push_back(id);
  }
  sch::WorkspaceRequest prefer{{512, 250}, {{}, {{"tier", "gold"}}, {"region-013", "region-099"}}};
  return {plain, eu, listed, prefer};
}

std::int64_t percentile(std::vector<std::int64_t>& ns, double p) {
  if (ns.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(ns.size() - 1));
  std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(k), ns.end());
  return ns[k];
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!parse_args(argc, argv, opt)) {
    std::fprintf(stderr,
                 "usage: placement_bench [--count N] [--budget-s S] [--policy spread|binpack]\n");
    return 2;
  }
  const fc::SysTime now{std::chrono::seconds(1'700'000'000)};
  sch::CapacityIndex index;
  if (!index.load(fleet(now))) return 1;
  const auto mix = request_mix();
  std::vector<std::int64_t> lat_ns;
  lat_ns.reserve(static_cast<std::size_t>(opt.count));
  long placed = 0, rejected = 0;
  const auto start = Steady::now();
  const auto deadline = start + std::chrono::duration<double>(opt.budget_s);
  for (long n = 0; n < opt.count; ++n) {
    const sch::WorkspaceRequest& req = mix[static_cast<std::size_t>(n) % mix.size()];
    const auto t0 = Steady::now();
    const sch::PlacementResult r = sch::place(req, index.views(now, 30), opt.policy);
    if (r.chosen && !index.reserve(*r.chosen, req.resources)) return 1;
    const auto t1 = Steady::now();
    lat_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    (r.chosen ? placed : rejected) += 1;
    if (t1 > deadline) break;
  }
  const double secs = std::chrono::duration<double>(Steady::now() - start).count();
  const std::size_t done = lat_ns.size();
  const std::int64_t p50 = percentile(lat_ns, 0.50);
  const std::int64_t p99 = percentile(lat_ns, 0.99);
  const std::int64_t max = lat_ns.empty() ? 0 : *std::max_element(lat_ns.begin(), lat_ns.end());
  std::printf("policy=%s regions=%d placements=%zu placed=%ld rejected=%ld seconds=%.3f\n",
              std::string(sch::policy_name(opt.policy)).c_str(), kRegions, done, placed, rejected,
              secs);
  std::printf("placements_per_s=%.0f p50_us=%.2f p99_us=%.2f max_us=%.2f\n",
              static_cast<double>(done) / secs, static_cast<double>(p50) / 1000.0,
              static_cast<double>(p99) / 1000.0, static_cast<double>(max) / 1000.0);
  return rejected == 0 ? 0 : 3;  // the fleet is sized so that every placement fits
}

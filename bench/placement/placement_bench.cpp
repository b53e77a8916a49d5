// Placement micro-benchmark: R regions (default 100) in a CapacityIndex, N
// placements (default 100,000) each followed by a reserve, as the API would do
// after its commit. Reports placements/s and p50/p99/max latency of one
// decision + reserve, for the --mode:
//   place  views() + place()  (the full per-region explanation, the 503 path)
//   scan   views() + pick()   (the create path before issue #16 item 3)
//   index  CapacityIndex::pick (the create path now: not linear in regions)
// Deterministic inputs (fixed tables, no randomness); bounded by count and by
// a wall-clock budget. bench/placement/run.sh runs scan and index at 10,
// 1,000 and 10,000 regions in one go (and callgrind's instruction counts).
//
//   placement_bench [--count N] [--budget-s S] [--policy spread|binpack]
//                   [--regions R] [--mode place|scan|index]
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/placement.hpp"

namespace sch = fc::scheduler;
using Steady = std::chrono::steady_clock;

namespace {

enum class Mode { kPlace, kScan, kIndex };

struct Options {
  long count = 100'000;
  double budget_s = 120;
  sch::Policy policy = sch::Policy::kSpread;
  int regions = 100;
  Mode mode = Mode::kPlace;
};

const char* mode_name(Mode m) {
  return m == Mode::kPlace ? "place" : m == Mode::kScan ? "scan" : "index";
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* flag = argv[i];
    const char* value = argv[i + 1];
    if (std::strcmp(flag, "--count") == 0) {
      o.count = std::strtol(value, nullptr, 10);
    } else if (std::strcmp(flag, "--budget-s") == 0) {
      o.budget_s = std::strtod(value, nullptr);
    } else if (std::strcmp(flag, "--regions") == 0) {
      o.regions = static_cast<int>(std::strtol(value, nullptr, 10));
    } else if (std::strcmp(flag, "--mode") == 0) {
      const std::string m = value;
      if (m != "place" && m != "scan" && m != "index") return false;
      o.mode = m == "place" ? Mode::kPlace : m == "scan" ? Mode::kScan : Mode::kIndex;
    } else if (std::strcmp(flag, "--policy") == 0) {
      const auto p = sch::parse_policy(value);
      if (!p) return false;
      o.policy = *p;
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && o.count > 0 && o.count <= 10'000'000 && o.budget_s > 0 &&
         o.regions >= 10 && o.regions <= 100'000;
}

// `n` regions, every fifth labelled eu; room for about 6,000 workspaces each,
// so 100,000 placements never run out under either policy.
std::vector<sch::RegionRecord> fleet(fc::SysTime now, int n) {
  std::vector<sch::RegionRecord> out;
  for (int i = 0; i < n; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "region-%05d", i);
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
std::array<sch::WorkspaceRequest, 4> request_mix(int regions) {
  sch::WorkspaceRequest plain{{512, 250}, {}};
  sch::WorkspaceRequest eu{{1024, 500}, {{}, {{"jurisdiction", "eu"}}, {}}};
  sch::WorkspaceRequest listed{{256, 100}, {{}, {}, {}}};
  for (int i = 1; i < 100; i += 10) {
    char id[32];
    std::snprintf(id, sizeof id, "region-%05d", i * regions / 100);
    listed.placement.regions.push_back(id);
  }
  // Prefers a region that does not exist and one that fills up: then the scores decide.
  sch::WorkspaceRequest prefer{{512, 250}, {{}, {{"tier", "gold"}}, {"region-x", "region-00013"}}};
  return {plain, eu, listed, prefer};
}

std::int64_t percentile(std::vector<std::int64_t>& ns, double p) {
  if (ns.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(ns.size() - 1));
  std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(k), ns.end());
  return ns[k];
}

// One placement decision in the chosen mode: the region id, or none.
std::optional<std::string> decide(sch::CapacityIndex& index, const sch::WorkspaceRequest& req,
                                  const Options& opt, fc::SysTime now) {
  if (opt.mode == Mode::kIndex) {
    const auto p = index.pick(req, opt.policy, now, 30);
    if (!p) return std::nullopt;
    return index.at(p->index).id;
  }
  const auto views = index.views(now, 30);
  if (opt.mode == Mode::kScan) {
    const auto p = sch::pick(req, views, opt.policy);
    if (!p) return std::nullopt;
    return views[p->index].id;
  }
  return sch::place(req, views, opt.policy).chosen;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!parse_args(argc, argv, opt)) {
    std::fprintf(stderr,
                 "usage: placement_bench [--count N] [--budget-s S] [--policy spread|binpack]"
                 " [--regions R] [--mode place|scan|index]\n");
    return 2;
  }
  const fc::SysTime now{std::chrono::seconds(1'700'000'000)};
  sch::CapacityIndex index;
  if (!index.load(fleet(now, opt.regions))) return 1;
  const auto mix = request_mix(opt.regions);
  std::vector<std::int64_t> lat_ns;
  lat_ns.reserve(static_cast<std::size_t>(opt.count));
  long placed = 0, rejected = 0;
  const auto start = Steady::now();
  const auto deadline = start + std::chrono::duration<double>(opt.budget_s);
  for (long n = 0; n < opt.count; ++n) {
    const sch::WorkspaceRequest& req = mix[static_cast<std::size_t>(n) % mix.size()];
    const auto t0 = Steady::now();
    const std::optional<std::string> chosen = decide(index, req, opt, now);
    if (chosen && !index.reserve(*chosen, req.resources)) return 1;
    const auto t1 = Steady::now();
    lat_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    (chosen ? placed : rejected) += 1;
    if (t1 > deadline) break;
  }
  const double secs = std::chrono::duration<double>(Steady::now() - start).count();
  const std::size_t done = lat_ns.size();
  const std::int64_t p50 = percentile(lat_ns, 0.50);
  const std::int64_t p99 = percentile(lat_ns, 0.99);
  const std::int64_t max = lat_ns.empty() ? 0 : *std::max_element(lat_ns.begin(), lat_ns.end());
  std::printf(
      "mode=%s policy=%s regions=%d classes=%zu placements=%zu placed=%ld rejected=%ld"
      " seconds=%.3f\n",
      mode_name(opt.mode), std::string(sch::policy_name(opt.policy)).c_str(), opt.regions,
      index.classes(), done, placed, rejected, secs);
  std::printf("placements_per_s=%.0f p50_us=%.2f p99_us=%.2f max_us=%.2f\n",
              static_cast<double>(done) / secs, static_cast<double>(p50) / 1000.0,
              static_cast<double>(p99) / 1000.0, static_cast<double>(max) / 1000.0);
  return rejected == 0 ? 0 : 3;  // the fleet is sized so that every placement fits
}

// Rollout observer benchmark (issue #18): one observation of a region with N
// workspaces (default 10,000), i.e. one `List` of N Deployments and N Pods as
// `kubectl get deployments,pods -o json` prints them, parsed into a
// ClusterView and decided for every workspace through Engine::observe (the
// agent's own path). Reports CPU seconds (CLOCK_PROCESS_CPUTIME_ID) of parse
// and decide; the target is ≤ 1 s for 10,000. Deterministic inputs: every
// 20th workspace rolling, every 50th crash-looping, every 100th scaled to zero.
//
//   observe_bench [--count N] [--rounds R] [--max-cpu-s S]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <string>

#include "agent/detail/engine.hpp"
#include "agent/detail/observe.hpp"
#include "observe_fixtures.hpp"

namespace ag = fc::agent;
using json = nlohmann::json;

namespace {

struct BenchOptions {
  long count = 10'000;
  int rounds = 3;
  double max_cpu_s = 0;  // 0: report only
};

bool parse_bench_args(int argc, char** argv, BenchOptions& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--count") == 0) {
      o.count = std::strtol(argv[i + 1], nullptr, 10);
    } else if (std::strcmp(argv[i], "--rounds") == 0) {
      o.rounds = static_cast<int>(std::strtol(argv[i + 1], nullptr, 10));
    } else if (std::strcmp(argv[i], "--max-cpu-s") == 0) {
      o.max_cpu_s = std::strtod(argv[i + 1], nullptr);
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && o.count > 0 && o.count <= 1'000'000 && o.rounds > 0 && o.rounds <= 100;
}

double cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

std::string ws_name(long i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "ws-%06ld", i);
  return buf;
}

// One workspace's Deployment and Pod, renamed from the test fixtures.
void add_workspace(json& items, long i) {
  std::string name = ws_name(i);
  json d = fc::agent::test::deployment_available();
  d["metadata"]["name"] = name;
  d["metadata"]["labels"]["fleetcommand.io/workspace"] = name;
  d["spec"]["selector"]["matchLabels"]["fleetcommand.io/workspace"] = name;
  json p = i % 50 == 0 ? fc::agent::test::pod_waiting("CrashLoopBackOff", "back-off 5m0s",
                                                      "2026-12-06T12:00:00Z")
                       : fc::agent::test::pod_running();
  p["metadata"]["name"] = name + "-7d9c5b8f6-x2x9q";
  p["metadata"]["labels"]["fleetcommand.io/workspace"] = name;
  p["metadata"]["ownerReferences"][0]["name"] = name + "-7d9c5b8f6";
  if (i % 20 == 0) d["status"]["updatedReplicas"] = 0;
  if (i % 50 == 0) d["status"]["availableReplicas"] = 0;
  if (i % 100 == 0) {
    d["spec"]["replicas"] = 0;
    d["status"] = {{"observedGeneration", 4}};
    items.push_back(std::move(d));
    return;
  }
  items.push_back(std::move(d));
  items.push_back(std::move(p));
}

class NullSink final : public ag::Sink {
 public:
  fc::Status apply(const std::vector<ag::RenderedObject>&) override { return fc::ok(); }
  fc::Status remove(const std::vector<ag::ObjectRef>&) override { return fc::ok(); }
};

ag::AgentState region_state(long n) {
  ag::AgentState st;
  for (long i = 0; i < n; ++i) {
    ag::WorkspaceRecord r;
    r.assignment.workspace_id = "ws_" + std::to_string(i);
    r.assignment.name = ws_name(i);
    r.assignment.generation = 3;
    r.applied_generation = 3;
    r.objects.push_back(ag::ObjectRef{"apps/v1", "Deployment", "fleet", ws_name(i)});
    r.observed = {r.assignment.workspace_id, 3, fc::agent::proto::Phase::kProgressing, "applied"};
    st.workspaces.emplace(r.assignment.workspace_id, std::move(r));
  }
  return st;
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions o;
  if (!parse_bench_args(argc, argv, o)) {
    std::fprintf(stderr, "usage: observe_bench [--count N] [--rounds R] [--max-cpu-s S]\n");
    return 2;
  }
  json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array()}};
  for (long i = 0; i < o.count; ++i) add_workspace(list["items"], i);
  std::string text = list.dump();
  NullSink sink;
  ag::ObserveMode mode;
  mode.observing = true;
  ag::Engine engine(ag::parse_template(ag::builtin_template_text()).value(), {}, sink, mode);
  auto now = *ag::observe::parse_time("2026-12-06T12:10:00Z");
  double worst = 0;
  std::map<std::string, long> phases;
  for (int r = 0; r < o.rounds; ++r) {
    ag::AgentState st = region_state(o.count);
    double t0 = cpu_s();
    auto view = ag::observe::ClusterView::parse(text);
    double t1 = cpu_s();
    if (!view) {
      std::fprintf(stderr, "parse failed: %s\n", view.error().detail.c_str());
      return 1;
    }
    auto changed = engine.observe(st, view.value(), now);
    double t2 = cpu_s();
    phases.clear();
    for (const auto& s : changed) ++phases[std::string(fc::agent::proto::to_string(s.phase))];
    std::printf(
        "round=%d workspaces=%ld list_bytes=%zu parse_cpu_s=%.3f decide_cpu_s=%.3f "
        "total_cpu_s=%.3f changed=%zu\n",
        r + 1, o.count, text.size(), t1 - t0, t2 - t1, t2 - t0, changed.size());
    worst = std::max(worst, t2 - t0);
  }
  for (const auto& [p, n] : phases) std::printf("phase %s=%ld\n", p.c_str(), n);
  std::printf("worst_total_cpu_s=%.3f\n", worst);
  if (o.max_cpu_s > 0 && worst > o.max_cpu_s) {
    std::fprintf(stderr, "over budget: %.3f s > %.3f s\n", worst, o.max_cpu_s);
    return 1;
  }
  return 0;
}

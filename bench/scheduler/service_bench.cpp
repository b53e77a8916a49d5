// In-process placement benchmark (docs/BENCHMARKS.md "Scheduler"): drives
// scheduler::Service::create_workspace from many coroutines on one io_context,
// durable group commits, no HTTP. The database is prepared by
//   service_bench --db F --migrate-only ; populate.py populate F ...
// then measured with
//   service_bench --db F [--count N] [--coroutines C] [--budget-s S]
// Prints placements/s and p50/p99 latency of create_workspace.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/asio.hpp"
#include "common/clock.hpp"
#include "scheduler/service.hpp"
#include "storage/db.hpp"

namespace {

using Ms = std::chrono::duration<double, std::milli>;
using Steady = std::chrono::steady_clock;

struct Args {
  std::string db;
  bool migrate_only = false;
  long count = 20000;
  int coroutines = 256;
  double budget_s = 60;
};

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (k == "--migrate-only") {
      a.migrate_only = true;
    } else if ((k == "--db") && (v = val())) {
      a.db = v;
    } else if (k == "--count" && (v = val())) {
      a.count = std::atol(v);
    } else if (k == "--coroutines" && (v = val())) {
      a.coroutines = std::atoi(v);
    } else if (k == "--budget-s" && (v = val())) {
      a.budget_s = std::atof(v);
    } else {
      return false;
    }
  }
  return !a.db.empty() && a.count > 0 && a.coroutines > 0 && a.budget_s > 0;
}

struct Run {
  fc::scheduler::Service& svc;
  long left;
  long next = 0;
  long failed = 0;
  Steady::time_point deadline;
  std::vector<double> lat_ms;
};

fc::awaitable<void> worker(Run& r) {
  while (r.left > 0 && Steady::now() < r.deadline) {
    --r.left;
    fc::scheduler::WorkspaceInput in;
    in.name = "inproc-" + std::to_string(r.next++);
    in.request.resources = {1, 1};
    auto t0 = Steady::now();
    auto w = co_await r.svc.create_workspace(std::move(in), nullptr, nullptr);
    r.lat_ms.push_back(Ms(Steady::now() - t0).count());
    if (!w) ++r.failed;
  }
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<std::size_t>(static_cast<double>(v.size()) * p / 100))];
}

int migrate(const std::string& path) {
  auto conn = fc::storage::Conn::open(path, fc::storage::OpenMode::kReadWrite);
  if (!conn) return std::fprintf(stderr, "%s\n", conn.error().detail.c_str()), 1;
  fc::SystemClock clock;
  auto applied = fc::storage::migrate(*conn.value(), clock.now_ms());
  if (!applied) return std::fprintf(stderr, "%s\n", applied.error().detail.c_str()), 1;
  return 0;
}

int bench(const Args& a) {
  fc::SystemClock clock;
  auto db = fc::storage::Database::open({a.db});
  if (!db) return std::fprintf(stderr, "%s\n", db.error().detail.c_str()), 1;
  fc::asio::io_context io{1};
  fc::scheduler::Service::Options o;
  o.heartbeat_timeout_s = 86400;
  fc::scheduler::Service svc(io, *db.value(), clock, o);
  if (auto st = svc.load(); !st)
    return std::fprintf(stderr, "load: %s\n", st.error().detail.c_str()), 1;
  Run r{svc,
        a.count,
        0,
        0,
        Steady::now() + std::chrono::milliseconds(static_cast<long>(a.budget_s * 1000)),
        {}};
  r.lat_ms.reserve(static_cast<std::size_t>(a.count));
  for (int i = 0; i < a.coroutines; ++i) fc::asio::co_spawn(io, worker(r), fc::asio::detached);
  auto t0 = Steady::now();
  io.run();
  double s = std::chrono::duration<double>(Steady::now() - t0).count();
  db.value()->close();
  long ok = static_cast<long>(r.lat_ms.size()) - r.failed;
  std::printf(
      "in-process: %ld placements (%ld failed) in %.2f s = %.0f placements/s, %d coroutines, "
      "p50 %.2f ms p99 %.2f ms\n",
      ok, r.failed, s, static_cast<double>(ok) / s, a.coroutines, pct(r.lat_ms, 50),
      pct(r.lat_ms, 99));
  return r.failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, a)) {
    std::fprintf(stderr,
                 "usage: service_bench --db FILE [--migrate-only] [--count N] [--coroutines C] "
                 "[--budget-s S]\n");
    return 2;
  }
  return a.migrate_only ? migrate(a.db) : bench(a);
}

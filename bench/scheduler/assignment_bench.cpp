// Assignment build time against the number of custom domains of a workspace
// (docs/BENCHMARKS.md "Assignment build time", issue #16 item 5). For each
// size it makes a fresh database file (the daemon's settings: WAL,
// synchronous=FULL), one region, one workspace with N verified and routed
// domains, and the real domains service as the scheduler's assignment
// extras, then measures on one io_context:
//   refresh: Service::refresh_assignment (what a domain verification or a
//            certificate delivery costs: new generation + assignment + commit)
//   serve:   Service::assignments(region, since) returning that assignment
//            (what an agent's long-poll costs)
// Bounded by --refreshes per size and --budget-s per size.
//
//   assignment_bench [--domains 1,1000,10000] [--refreshes N] [--budget-s S] [--dir DIR]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/asio.hpp"
#include "common/clock.hpp"
#include "domains/service.hpp"
#include "scheduler/service.hpp"
#include "storage/db.hpp"

namespace {

using Ms = std::chrono::duration<double, std::milli>;
using Steady = std::chrono::steady_clock;
namespace sch = fc::scheduler;

struct Args {
  std::vector<int> sizes{1, 1000, 10000};
  int refreshes = 50;
  double budget_s = 30;
  std::string dir;
};

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (!v) return false;
    ++i;
    if (k == "--domains") {
      a.sizes.clear();
      std::stringstream ss(v);
      for (std::string n; std::getline(ss, n, ',');) a.sizes.push_back(std::atoi(n.c_str()));
    } else if (k == "--refreshes") {
      a.refreshes = std::atoi(v);
    } else if (k == "--budget-s") {
      a.budget_s = std::atof(v);
    } else if (k == "--dir") {
      a.dir = v;
    } else {
      return false;
    }
  }
  return a.refreshes > 0 && a.budget_s > 0 && !a.sizes.empty() &&
         std::all_of(a.sizes.begin(), a.sizes.end(), [](int n) { return n >= 0; });
}

// Runs `a` on `io` until it completes.
template <class T>
fc::awaitable<void> keep(fc::awaitable<T> a, std::optional<T>* out) {
  out->emplace(co_await std::move(a));
}
template <class T>
std::optional<T> run_on(fc::asio::io_context& io, fc::awaitable<T> a) {
  std::optional<T> out;
  fc::asio::co_spawn(io, keep(std::move(a), &out), [&](std::exception_ptr) { io.stop(); });
  io.restart();
  io.run();
  return out;
}

// Verified, routed claims, inserted in one transaction (the domains table of
// migration 0006; bench code may write it directly).
fc::Status add_domains(fc::storage::Database& db, const std::string& ws, int n, std::int64_t now) {
  return db.write_sync([&](fc::storage::Conn& c) -> fc::Status {
    BOOST_OUTCOME_TRY(s, c.prepare("INSERT INTO domains(id, hostname, workspace_id, status, token,"
                                   " verified_at, routing_ok, routed, created_at, updated_at)"
                                   " VALUES(?1, ?2, ?3, 'active', ?4, ?5, 1, 1, ?5, ?5)"));
    for (int k = 0; k < n; ++k) {
      std::string id = "dom_" + std::to_string(1000000 + k);
      s.bind_all(id, "h" + std::to_string(k) + ".customer.example", ws, "fc-verify=" + id, now);
      BOOST_OUTCOME_TRY(s.run());
    }
    return fc::ok();
  });
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

struct Figures {
  int domains = 0;
  std::vector<double> refresh_ms, serve_ms;
  std::size_t body_bytes = 0;
};

// One size on its own database file. Returns false when the set-up failed.
bool measure(const Args& a, const std::string& file, int n, Figures& f) {
  fc::SystemClock clock;
  fc::asio::io_context io;
  auto db = fc::storage::Database::open({file});
  if (!db) return std::fprintf(stderr, "open: %s\n", db.error().detail.c_str()), false;
  sch::Service svc(io, *db.value(), clock, sch::Service::Options{});
  fc::domains::Service doms(io, *db.value(), clock, svc, fc::domains::Options{});
  svc.set_assignment_extras(&doms);
  if (!svc.load()) return false;
  sch::RegionInput r;
  r.id = "r1";
  r.capacity = {1000, 1000, 10};
  auto region = run_on(io, svc.create_region(r));
  if (!region || !region->has_value()) return false;
  svc.heartbeat("r1", "bench", "bench");
  sch::WorkspaceInput in;
  in.name = "big";
  in.request.resources = {1, 1};
  auto w = run_on(io, svc.create_workspace(in, nullptr, nullptr));
  if (!w || !w->has_value()) return false;
  const std::string ws = w->value().id;
  if (!add_domains(*db.value(), ws, n, clock.now_ms())) return false;
  const auto deadline = Steady::now() + std::chrono::duration<double>(a.budget_s);
  for (int k = 0; k < a.refreshes && Steady::now() < deadline; ++k) {
    const auto t0 = Steady::now();
    auto st = run_on(io, svc.refresh_assignment(ws));
    const auto t1 = Steady::now();
    if (!st || !st->has_value()) return false;
    const auto rev = svc.get_region("r1").value().revision;
    auto page = svc.assignments("r1", rev - 1);
    const auto t2 = Steady::now();
    if (!page || page.value().assignments.size() != 1) return false;
    f.refresh_ms.push_back(Ms(t1 - t0).count());
    f.serve_ms.push_back(Ms(t2 - t1).count());
    f.body_bytes = page.value().assignments[0].dump().size();
  }
  svc.set_assignment_extras(nullptr);
  db.value()->close();
  f.domains = n;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, a)) {
    std::fprintf(stderr,
                 "usage: assignment_bench [--domains 1,1000,10000] [--refreshes N] "
                 "[--budget-s S] [--dir DIR]\n");
    return 2;
  }
  std::string dir = a.dir;
  if (dir.empty()) {
    char tmpl[] = "/tmp/fc-assignment-bench-XXXXXX";
    if (!::mkdtemp(tmpl)) return std::perror("mkdtemp"), 1;
    dir = tmpl;
  }
  std::printf("%8s %8s %14s %14s %14s %12s\n", "domains", "runs", "refresh p50", "refresh p99",
              "serve p50", "body bytes");
  int rc = 0;
  for (int n : a.sizes) {
    const std::string file = dir + "/bench-" + std::to_string(n) + ".db";
    {
      auto c = fc::storage::Conn::open(file, fc::storage::OpenMode::kReadWrite);
      if (!c || !fc::storage::migrate(*c.value(), 0)) return std::fprintf(stderr, "migrate\n"), 1;
    }
    Figures f;
    if (!measure(a, file, n, f)) {
      std::fprintf(stderr, "domains=%d: set-up or a refresh failed\n", n);
      rc = 1;
      continue;
    }
    std::printf("%8d %8zu %11.2f ms %11.2f ms %11.2f ms %12zu\n", f.domains, f.refresh_ms.size(),
                pct(f.refresh_ms, 0.5), pct(f.refresh_ms, 0.99), pct(f.serve_ms, 0.5),
                f.body_bytes);
    std::fflush(stdout);
  }
  if (a.dir.empty()) std::filesystem::remove_all(dir);
  return rc;
}

// Storage write throughput: the group-commit writer (many concurrent
// coroutines calling Database::write) against raw SQLite inserts of the same
// rows in the same run: one transaction per row, and 1000 rows per
// transaction. Each variant writes to its own file in a fresh temp dir, with
// the daemon's settings (WAL, synchronous=FULL). Bounded in rows and time.
//
//   storage_bench [--rows N] [--writers N] [--raw-rows N] [--budget-s S] [--dir DIR]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/ids.hpp"
#include "storage/db.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using fc::storage::Conn;

struct Args {
  int rows = 100000;     // group-commit and batched variants
  int writers = 64;      // concurrent coroutines
  int raw_rows = 10000;  // one-transaction-per-row variant (slow: one fsync each)
  double budget_s = 20;  // per variant
  std::string dir;
};

struct Row {
  std::string id;
  std::string payload;
  std::int64_t created_at;
};

struct Result {
  const char* name;
  int rows = 0;
  double seconds = 0;
  std::uint64_t commits = 0;
  double p50_ms = 0, p99_ms = 0;  // per-write latency where measured
};

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS bench_rows(id TEXT PRIMARY KEY, payload TEXT NOT NULL,"
    " created_at INTEGER NOT NULL) WITHOUT ROWID";
constexpr const char* kInsert = "INSERT INTO bench_rows(id, payload, created_at) VALUES(?, ?, ?)";

// About 300 bytes, like a workspace's JSON spec; keys are time-ordered ids.
std::vector<Row> make_rows(int n) {
  fc::IdGenerator ids;
  std::vector<Row> out;
  out.reserve(n);
  const std::int64_t t0 = 1'764'000'000'000;
  for (int i = 0; i < n; ++i) {
    std::string id = ids.next("ws_", t0 + i / 8);
    std::string p =
        R"({"name":"tenant-)" + std::to_string(i) +
        R"(","resources":{"memory_mib":600,"cpu_millis":250},"placement":{"regions":["eu-west-1",)"
        R"("us-east-1"],"labels":{"jurisdiction":"eu"}},)"
        R"("spec":{"image":"rocketchat/rocket.chat:6.5.0",)"
        R"("env":{"ROOT_URL":"https://tenant-)" +
        std::to_string(i) +
        R"(.fleet.example","MONGO_OPLOG":"true","PAD":"xxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}})";
    out.push_back({std::move(id), std::move(p), t0 + i});
  }
  return out;
}

fc::Status insert(Conn& c, const Row& r) {
  BOOST_OUTCOME_TRY(st, c.prepare(kInsert));
  return st.bind_all(r.id, r.payload, r.created_at).run();
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void percentiles(std::vector<double>& lat, Result& r) {
  if (lat.empty()) return;
  std::sort(lat.begin(), lat.end());
  r.p50_ms = lat[lat.size() / 2];
  r.p99_ms = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)];
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "storage_bench: %s\n", what.c_str());
  std::exit(1);
}

struct Shared {
  fc::storage::Database* db = nullptr;
  const std::vector<Row>* rows = nullptr;
  std::size_t next = 0;
  int written = 0;
  Clock::time_point deadline;
  std::vector<double> latency_ms;
};

// One writer coroutine: takes the next row until all are written or time is up.
fc::awaitable<void> writer(Shared* s) {
  while (s->next < s->rows->size() && Clock::now() < s->deadline) {
    const Row* r = &(*s->rows)[s->next++];
    auto t = Clock::now();
    fc::Status st = co_await s->db->write([r](Conn& c) { return insert(c, *r); });
    if (!st) die("group-commit insert failed: " + st.error().detail);
    s->latency_ms.push_back(seconds_since(t) * 1000);
    ++s->written;
  }
}

Result group_commit(const Args& a, const std::vector<Row>& rows, const std::string& path) {
  {
    auto c = Conn::open(path, fc::storage::OpenMode::kReadWrite);
    if (!c || !c.value()->exec(kSchema)) die("cannot create " + path);
  }
  auto db = fc::storage::Database::open({path});
  if (!db) die(db.error().detail);
  Shared s;
  s.db = db.value().get();
  s.rows = &rows;
  s.latency_ms.reserve(rows.size());
  fc::asio::io_context io;
  auto before = db.value()->stats();
  auto t0 = Clock::now();
  s.deadline =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.budget_s));
  for (int w = 0; w < a.writers; ++w) fc::asio::co_spawn(io, writer(&s), fc::asio::detached);
  io.run();
  Result r{"group commit (Database::write)"};
  r.seconds = seconds_since(t0);
  r.rows = s.written;
  r.commits = db.value()->stats().batches - before.batches;
  percentiles(s.latency_ms, r);
  return r;
}

Result raw(const Args& a, const std::vector<Row>& rows, int limit, int per_tx,
           const std::string& path, const char* name) {
  auto c = Conn::open(path, fc::storage::OpenMode::kReadWrite);  // WAL + synchronous=FULL
  if (!c || !c.value()->exec(kSchema)) die("cannot create " + path);
  Conn& conn = *c.value();
  Result r{name};
  std::vector<double> lat;
  auto t0 = Clock::now();
  auto deadline =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.budget_s));
  int n = std::min<int>(limit, static_cast<int>(rows.size()));
  for (int i = 0; i < n && Clock::now() < deadline;) {
    auto t = Clock::now();
    if (!conn.exec("BEGIN IMMEDIATE")) die("BEGIN failed");
    int end = std::min(n, i + per_tx);
    for (; i < end; ++i) {
      if (!insert(conn, rows[i])) die("raw insert failed");
    }
    if (!conn.exec("COMMIT")) die("COMMIT failed");
    ++r.commits;
    r.rows = i;
    if (per_tx == 1) lat.push_back(seconds_since(t) * 1000);
  }
  r.seconds = seconds_since(t0);
  percentiles(lat, r);
  return r;
}

void print(const Result& r) {
  double rps = r.seconds > 0 ? r.rows / r.seconds : 0;
  std::printf("| %-34s | %7d | %7.2f | %9.0f | %7llu | %7.1f |", r.name, r.rows, r.seconds, rps,
              static_cast<unsigned long long>(r.commits),
              r.commits ? double(r.rows) / r.commits : 0.0);
  if (r.p99_ms > 0)
    std::printf(" %6.2f / %6.2f |\n", r.p50_ms, r.p99_ms);
  else
    std::printf(" %15s |\n", "-");
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) die("missing value for " + k);
      return argv[++i];
    };
    if (k == "--rows")
      a.rows = std::atoi(next());
    else if (k == "--writers")
      a.writers = std::atoi(next());
    else if (k == "--raw-rows")
      a.raw_rows = std::atoi(next());
    else if (k == "--budget-s")
      a.budget_s = std::atof(next());
    else if (k == "--dir")
      a.dir = next();
    else
      die("unknown argument " + k);
  }
  if (a.rows < 1 || a.writers < 1 || a.raw_rows < 1 || a.budget_s <= 0) die("bad arguments");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  std::string base = a.dir.empty() ? "/tmp" : a.dir;
  std::string tmpl = base + "/fc-storage-bench-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) die("mkdtemp failed in " + base);
  std::filesystem::path dir(buf.data());
  auto rows = make_rows(std::max(a.rows, a.raw_rows));
  std::printf("storage_bench: %d rows of ~%zu bytes, %d writers, dir %s\n\n", a.rows,
              rows[0].payload.size() + 30, a.writers, dir.c_str());
  std::printf("| %-34s | %7s | %7s | %9s | %7s | %7s | %15s |\n", "variant", "rows", "seconds",
              "rows/s", "commits", "rows/commit", "p50/p99 ms");
  std::printf("|%s|---------|---------|-----------|---------|---------|-----------------|\n",
              std::string(36, '-').c_str());
  auto g = group_commit(a, rows, (dir / "group.db").string());
  print(g);
  auto one =
      raw(a, rows, a.raw_rows, 1, (dir / "raw1.db").string(), "raw SQLite, 1 row per transaction");
  print(one);
  auto batched =
      raw(a, rows, a.rows, 1000, (dir / "raw1000.db").string(), "raw SQLite, 1000 rows per tx");
  print(batched);
  double g_rps = g.rows / g.seconds, one_rps = one.rows / one.seconds,
         b_rps = batched.rows / batched.seconds;
  std::printf("\ngroup commit = %.1fx one-row transactions, %.2fx of 1000-row batches\n",
              g_rps / one_rps, g_rps / b_rps);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}

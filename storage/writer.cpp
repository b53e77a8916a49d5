// The group-commit writer thread (STYLE.md "SQLite"), the same on every driver.
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

#include "storage/db.hpp"
#include "storage/detail/log.hpp"

namespace fc::storage {

struct Database::Impl {
  struct Task {
    WriteFn fn;
    std::function<void(Status)> done;
    bool alone = false;  // Database::write_alone: its own transaction, no SAVEPOINT
  };
  std::unique_ptr<Conn> conn;
  std::size_t max_batch = 512;
  WriteFn fence;
  std::chrono::milliseconds fence_idle{0};
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Task> queue;
  bool stopping = false;
  WriterStats stats;
  std::thread thread;

  void run();
  void commit_batch(std::vector<Task>& batch);
  void commit_alone(Task& t);
};

namespace {
// Prepared once per connection (cached): sqlite3_exec would parse these three
// statements again for every caller of every batch.
Status run_sql(Conn& c, std::string_view sql) {
  BOOST_OUTCOME_TRY(s, c.prepare(sql));
  return s.run();
}

Status run_fn(Conn& c, WriteFn& fn) {
  try {
    return fn(c);
  } catch (const std::exception& e) {
    return make_error(Code::kInternal, std::string("transaction threw: ") + e.what());
  }
}

// A PostgreSQL restart or failover broke the connection inside the
// transaction: the server has rolled it back, nothing of it can commit.
bool connection_lost(const Conn& c, const Status& st) {
  return !st && c.dialect() == Dialect::kPostgres && st.error().is(Errc::kUnavailable);
}

// `lost`: the PostgreSQL connection broke inside the transaction; the server
// has rolled the whole transaction back, so the batch can only fail.
Status run_one(Conn& c, WriteFn& fn, bool& lost) {
  BOOST_OUTCOME_TRY(run_sql(c, "SAVEPOINT fc_tx"));
  Status st = run_fn(c, fn);
  if (st) return run_sql(c, "RELEASE fc_tx");
  // Undo only this caller's writes. If that fails, its partial writes would
  // be committed with the rest of the batch: a broken invariant.
  Status undone = run_sql(c, "ROLLBACK TO fc_tx");
  if (undone) undone = run_sql(c, "RELEASE fc_tx");
  if (connection_lost(c, undone)) {
    // A PostgreSQL restart or failover: nothing of this transaction can
    // commit, the caller's partial writes included (ha_itest restarts it
    // under a burst).
    detail::logger()->error("connection lost inside a write batch reason={}",
                            undone.error().detail);
    lost = true;
    return undone;
  }
  if (!undone) {
    detail::logger()->critical("rolling back a caller's savepoint failed reason={}",
                               undone.error().detail);
    std::abort();
  }
  return st;
}
}  // namespace

void Database::Impl::commit_batch(std::vector<Task>& batch) {
  std::vector<Status> results;
  results.reserve(batch.size());
  Status begin = conn->begin(true);
  if (begin && fence) {
    begin = fence(*conn);
    if (!begin) {
      Status rolled_back = conn->rollback();
      detail::logger()->error("write batch fenced transactions={} reason={} rolled_back={}",
                              batch.size(), begin.error().detail,
                              rolled_back ? "yes" : rolled_back.error().detail);
    }
  }
  if (!begin) {
    {
      std::lock_guard lk(mu);
      stats.failed += batch.size();
    }
    for (auto& t : batch) t.done(begin);
    return;
  }
  bool lost = false;
  for (auto& t : batch) {
    if (lost) {  // the rest cannot commit either: fail them without running them
      results.push_back(make_error(Errc::kUnavailable, "postgres: connection lost in this batch"));
      continue;
    }
    results.push_back(run_one(*conn, t.fn, lost));
  }
  Status commit = lost ? make_error(Errc::kUnavailable, "postgres: connection lost in this batch")
                       : conn->commit();
  if (!commit) {
    // SQLite may have rolled back already (an I/O error or a full disk ends
    // the transaction), so this one may fail with "no transaction is active".
    Status rolled_back = conn->rollback();
    detail::logger()->error("group commit failed transactions={} reason={} rolled_back={}",
                            batch.size(), commit.error().detail,
                            rolled_back ? "yes" : rolled_back.error().detail);
  }
  std::uint64_t okc = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!commit) results[i] = commit;
    okc += results[i] ? 1 : 0;
  }
  {
    // Count before resuming the callers, so that stats() seen by a caller
    // that was just resumed includes its own transaction.
    std::lock_guard lk(mu);
    stats.transactions += okc;
    stats.failed += batch.size() - okc;
    if (!batch.empty()) stats.batches += 1;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
}

// One caller, one transaction: the fence, then fn; its error rolls back the
// whole transaction (nothing else is in it).
void Database::Impl::commit_alone(Task& t) {
  Status st = conn->begin(true);
  const bool began = static_cast<bool>(st);
  if (st && fence) {
    st = fence(*conn);
    if (!st) detail::logger()->error("write fenced transactions=1 reason={}", st.error().detail);
  }
  const bool ran = static_cast<bool>(st);
  if (st) st = run_fn(*conn, t.fn);
  if (st) {
    st = conn->commit();
    if (!st) {
      Status rolled_back = conn->rollback();
      detail::logger()->error("commit failed transactions=1 reason={} rolled_back={}",
                              st.error().detail, rolled_back ? "yes" : rolled_back.error().detail);
    }
  } else if (began) {
    Status rolled_back = conn->rollback();
    if (connection_lost(*conn, rolled_back)) {
      detail::logger()->error("connection lost inside a write reason={}",
                              rolled_back.error().detail);
    } else if (!rolled_back && ran) {
      // Its partial writes would stay in the open transaction: a broken invariant.
      detail::logger()->critical("rolling back a transaction failed reason={}",
                                 rolled_back.error().detail);
      std::abort();
    }
  }
  {
    std::lock_guard lk(mu);
    (st ? stats.transactions : stats.failed) += 1;
    stats.batches += 1;
  }
  t.done(std::move(st));
}

void Database::Impl::run() {
  for (;;) {
    std::vector<Task> batch;
    {
      std::unique_lock lk(mu);
      auto wake = [&] { return stopping || !queue.empty(); };
      if (fence && fence_idle.count() > 0) {
        if (!cv.wait_for(lk, fence_idle, wake)) {
          lk.unlock();
          commit_batch(batch);  // empty: only the fence (the lease renewal)
          continue;
        }
      } else {
        cv.wait(lk, wake);
      }
      if (queue.empty() && stopping) return;
      // A write_alone task is a batch of its own, in queue order.
      while (!queue.empty() && batch.size() < max_batch &&
             !(queue.front().alone && !batch.empty())) {
        batch.push_back(std::move(queue.front()));
        queue.pop_front();
        if (batch.back().alone) break;
      }
      stats.queued = queue.size();
    }
    if (batch.size() == 1 && batch.front().alone) {
      commit_alone(batch.front());
      continue;
    }
    commit_batch(batch);
  }
}

Result<std::unique_ptr<Database>> Database::open(const Options& o) {
  auto impl = std::make_unique<Impl>();
  const bool pg = !o.postgres_url.empty();
  BOOST_OUTCOME_TRY(
      w, pg ? Conn::open_postgres(o.postgres_url) : Conn::open(o.path, OpenMode::kReadWrite));
  impl->conn = std::move(w);
  impl->max_batch = o.max_batch;
  impl->fence = o.fence;
  impl->fence_idle = o.fence_idle;
  BOOST_OUTCOME_TRY(
      r, pg ? Conn::open_postgres(o.postgres_url) : Conn::open(o.path, OpenMode::kReadOnly));
  std::unique_ptr<Database> db(new Database(std::move(impl), std::move(r)));
  return db;
}

Database::Database(std::unique_ptr<Impl> impl, std::unique_ptr<Conn> reader)
    : impl_(std::move(impl)), reader_(std::move(reader)) {
  impl_->thread = std::thread([this] { impl_->run(); });
}

Database::~Database() { close(); }

void Database::close() {
  if (!impl_) return;
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_one();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (!impl_->conn) return;
  Status checkpoint = impl_->conn->checkpoint();
  if (!checkpoint)
    detail::logger()->warn("wal checkpoint at close failed reason={}", checkpoint.error().detail);
}

void Database::submit(WriteFn fn, std::function<void(Status)> done, bool alone) {
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->stopping) {
      done(make_error(Errc::kClosing, "database is closing"));
      return;
    }
    impl_->queue.push_back(Impl::Task{std::move(fn), std::move(done), alone});
  }
  impl_->cv.notify_one();
}

Status Database::write_sync(WriteFn fn) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<Status> result;
  submit(std::move(fn), [&](Status st) {
    std::lock_guard lk(m);
    result.emplace(std::move(st));
    cv.notify_one();
  });
  std::unique_lock lk(m);
  cv.wait(lk, [&] { return result.has_value(); });
  return std::move(*result);
}

WriterStats Database::stats() const {
  std::lock_guard lk(impl_->mu);
  WriterStats s = impl_->stats;
  s.queued = impl_->queue.size();
  return s;
}

}  // namespace fc::storage

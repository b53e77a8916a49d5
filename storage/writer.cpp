// The group-commit writer thread (STYLE.md "SQLite"), the same on every driver.
#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

#include "storage/db.hpp"
#include "storage/deferred.hpp"
#include "storage/detail/log.hpp"

namespace fc::storage {

namespace {
using TimelineClock = std::chrono::steady_clock;
std::uint64_t us_since(TimelineClock::time_point& at) {
  const auto now = TimelineClock::now();
  const auto d = std::chrono::duration_cast<std::chrono::microseconds>(now - at).count();
  at = now;
  return static_cast<std::uint64_t>(d);
}
}  // namespace

struct Database::Impl {
  struct Task {
    WriteFn fn;
    std::function<void(Status)> done;
    // kAlone (Database::write_alone): its own transaction, no SAVEPOINT;
    // kSet (Database::write_set): deferred rows, see run_set.
    Kind kind = Kind::kBatched;
    asio::any_io_executor ex;  // where done runs; none: on the writer thread
    bool alone() const { return kind == Kind::kAlone; }
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
  DeferredRows deferred;  // the set-based run's rows (writer thread only)
  std::thread thread;

  void run();
  void commit_batch(std::vector<Task>& batch);
  void run_set(std::vector<Task>& batch, std::size_t from, std::size_t to,
               std::vector<Status>& results, bool& lost, WriterStats& counted,
               std::optional<Status>& committed);
  Status commit_alone(Task& t);
  static void resume_all(std::vector<Task>& batch, std::vector<Status>& results);
};

// Resumes the callers of a batch: those of one executor in one post, in
// batch order. A post from this thread to an io_context blocked in
// epoll_wait interrupts it (an eventfd write and a wake-up), and one per
// caller was 7.5 % of the daemon's samples under the placement benchmark.
void Database::Impl::resume_all(std::vector<Task>& batch, std::vector<Status>& results) {
  using Ready = std::vector<std::pair<std::function<void(Status)>, Status>>;
  std::vector<std::pair<asio::any_io_executor, Ready>> groups;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto& t = batch[i];
    if (!t.ex) {
      t.done(std::move(results[i]));
      continue;
    }
    auto g =
        std::find_if(groups.begin(), groups.end(), [&](const auto& e) { return e.first == t.ex; });
    if (g == groups.end()) g = groups.insert(groups.end(), {t.ex, Ready{}});
    g->second.emplace_back(std::move(t.done), std::move(results[i]));
  }
  for (auto& [ex, ready] : groups)
    asio::post(ex, [ready = std::move(ready)]() mutable {
      for (auto& [done, st] : ready) done(std::move(st));
    });
}

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
  WriterStats counted;  // the set-based counters and the timeline of this batch
  auto at = TimelineClock::now();
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
  counted.us_begin += us_since(at);
  if (!begin) {
    {
      std::lock_guard lk(mu);
      stats.failed += batch.size();
    }
    std::vector<Status> failed(batch.size(), begin);
    resume_all(batch, failed);
    return;
  }
  bool lost = false;
  std::optional<Status> committed;  // a whole-batch run on PostgreSQL commits with its flush
  for (std::size_t i = 0; i < batch.size();) {
    if (lost) {  // the rest cannot commit either: fail them without running them
      results.push_back(make_error(Errc::kUnavailable, "postgres: connection lost in this batch"));
      ++i;
      continue;
    }
    if (batch[i].kind != Kind::kSet) {
      results.push_back(run_one(*conn, batch[i].fn, lost));
      counted.us_callers += us_since(at);
      ++i;
      continue;
    }
    // Consecutive set-based callers: one run, flushed before the next other
    // caller (which may read what they wrote) or the COMMIT.
    std::size_t end = i;
    while (end < batch.size() && batch[end].kind == Kind::kSet) ++end;
    run_set(batch, i, end, results, lost, counted, committed);
    at = TimelineClock::now();
    i = end;
  }
  Status commit = lost ? make_error(Errc::kUnavailable, "postgres: connection lost in this batch")
                  : committed ? std::move(*committed)
                              : conn->commit();
  counted.us_commit += us_since(at);
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
    if (commit) {
      stats.set_flushes += counted.set_flushes;
      stats.set_rows += counted.set_rows;
      stats.set_taken += counted.set_taken;
    }
    stats.set_replays += counted.set_replays;
    stats.us_begin += counted.us_begin;
    stats.us_callers += counted.us_callers;
    stats.us_flush += counted.us_flush;
    stats.us_commit += counted.us_commit;
  }
  resume_all(batch, results);
}

// Callers [from, to) of the batch, all set-based (Database::write_set): one
// SAVEPOINT for the run instead of one per caller, their insert_row rows
// deferred and flushed once per table. A caller that fails without having
// changed a row and with the transaction still usable (the name is taken: an
// INSERT … ON CONFLICT DO NOTHING that inserted nothing) just drops its
// deferred rows. Anything else — a caller that fails after writing, an SQL
// error that aborted PostgreSQL's transaction, a flush that fails (a
// constraint no pre-check saw) — rolls the run back to its SAVEPOINT and
// replays it caller by caller in the per-statement shape (run_one, nothing
// deferred), so the failure stays the one caller's.
void Database::Impl::run_set(std::vector<Task>& batch, std::size_t from, std::size_t to,
                             std::vector<Status>& results, bool& lost, WriterStats& counted,
                             std::optional<Status>& committed) {
  const std::size_t first = results.size();
  const bool pg = conn->dialect() == Dialect::kPostgres;
  auto at = TimelineClock::now();
  // A run that is the whole batch (the common case under a create burst)
  // needs no SAVEPOINT: undoing it is undoing the transaction, which is
  // then begun again (and fenced) for the replay. Two round trips fewer per
  // batch on PostgreSQL.
  const bool whole = from == 0 && to == batch.size();
  Status st = whole ? ok() : run_sql(*conn, "SAVEPOINT fc_set");
  bool replay = !st;
  if (!replay) {
    deferred.clear();
    conn->set_deferred(&deferred);
    // Per caller: whether it wrote at once (a row it cannot take back alone).
    std::vector<bool> wrote(to - from, false);
    for (std::size_t k = from; k < to && !replay; ++k) {
      deferred.set_owner(static_cast<std::uint32_t>(k - from));
      const DeferredRows::Mark mark = deferred.mark();
      const std::int64_t changed = conn->total_changes();
      Status one = run_fn(*conn, batch[k].fn);
      wrote[k - from] = conn->total_changes() != changed;
      if (!one) {
        deferred.truncate(mark);
        replay = wrote[k - from] || conn->tx_failed();
        if (replay) st = one;
      }
      results.push_back(std::move(one));
    }
    conn->set_deferred(nullptr);
    counted.us_callers += us_since(at);
    if (!replay) {
      // The optimistic inserts first: a caller whose key was taken fails
      // alone, unless it also wrote at once (then the run is replayed).
      auto taken = deferred.flush_unique(*conn);
      if (!taken) {
        st = taken.error();
      } else {
        for (const auto& t : taken.value()) {
          if (wrote[t.owner]) {
            st = t.error;
            break;
          }
        }
      }
      if (st) {
        for (auto& t : taken.value()) results[first + t.owner] = std::move(t.error);
        counted.set_taken += taken.value().size();
        deferred.drop(taken.value());
        // PostgreSQL: the rest of the flush pipelined (the statements sent
        // without waiting, docs/storage.md "Pipelined batches"); a run that
        // is the whole batch sends its COMMIT with them, one round trip. A
        // failure among them is the run's (replayed below); a connection
        // lost there may have committed, so it is never replayed.
        conn->set_pipelined(true);
        st = deferred.flush_rest(*conn);
        conn->set_pipelined(false);
        if (st && whole && pg) {
          counted.us_flush += us_since(at);
          st = conn->commit();
          counted.us_commit += us_since(at);
          if (st) {
            committed.emplace(ok());
          } else if (connection_lost(*conn, st)) {
            committed.emplace(st);
            detail::logger()->error("connection lost committing a write batch reason={}",
                                    st.error().detail);
            lost = true;
            deferred.clear();
            return;
          }
        } else if (st) {
          st = conn->sync();
        }
      }
      if (st && !whole) st = run_sql(*conn, "RELEASE fc_set");
      counted.us_flush += us_since(at);
      if (st) {
        counted.set_flushes += deferred.flushes();
        counted.set_rows += deferred.rows();
        deferred.clear();
        return;
      }
    }
    Status undone = ok();
    if (whole) {
      undone = conn->rollback();
      if (undone) undone = conn->begin(true);
      if (undone && fence) undone = fence(*conn);
      if (!undone && !connection_lost(*conn, undone)) {
        // The transaction could not be begun again (the lease is gone, the
        // database refuses): nothing of the batch can commit.
        detail::logger()->error("write batch could not begin again for a replay reason={}",
                                undone.error().detail);
        lost = true;
      }
    } else {
      undone = run_sql(*conn, "ROLLBACK TO fc_set");
      if (undone) undone = run_sql(*conn, "RELEASE fc_set");
    }
    if (!lost && connection_lost(*conn, undone)) {
      detail::logger()->error("connection lost inside a write batch reason={}",
                              undone.error().detail);
      lost = true;
    } else if (!lost && !undone) {
      // The run's writes would be committed with the rest of the batch.
      detail::logger()->critical("rolling back a set-based run failed reason={}",
                                 undone.error().detail);
      std::abort();
    }
  } else if (connection_lost(*conn, st)) {
    lost = true;
  }
  deferred.clear();
  results.erase(results.begin() + static_cast<std::ptrdiff_t>(first), results.end());
  if (!lost) {
    detail::logger()->warn(
        "set-based run rolled back, replaying it caller by caller callers={} reason={}", to - from,
        st ? std::string("?") : st.error().detail);
    counted.set_replays += 1;
  }
  for (std::size_t k = from; k < to; ++k) {
    if (lost) {
      results.push_back(make_error(Errc::kUnavailable, "postgres: connection lost in this batch"));
      continue;
    }
    results.push_back(run_one(*conn, batch[k].fn, lost));
  }
  counted.us_callers += us_since(at);
}

// One caller, one transaction: the fence, then fn; its error rolls back the
// whole transaction (nothing else is in it).
Status Database::Impl::commit_alone(Task& t) {
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
  return st;
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
             !(queue.front().alone() && !batch.empty())) {
        batch.push_back(std::move(queue.front()));
        queue.pop_front();
        if (batch.back().alone()) break;
      }
      stats.queued = queue.size();
    }
    if (batch.size() == 1 && batch.front().alone()) {
      std::vector<Status> result{commit_alone(batch.front())};
      resume_all(batch, result);
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
  impl->conn->set_sole_writer();
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

void Database::submit(WriteFn fn, asio::any_io_executor ex, std::function<void(Status)> done,
                      Kind kind) {
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->stopping) {
      Status closing = make_error(Errc::kClosing, "database is closing");
      if (ex)  // never inside the caller's initiation
        asio::post(ex, [done = std::move(done), closing]() mutable { done(std::move(closing)); });
      else
        done(std::move(closing));
      return;
    }
    impl_->queue.push_back(Impl::Task{std::move(fn), std::move(done), kind, std::move(ex)});
  }
  impl_->cv.notify_one();
}

Status Database::write_sync(WriteFn fn) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<Status> result;
  submit(std::move(fn), {}, [&](Status st) {
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
  if (impl_->conn) impl_->conn->add_checkpoint_stats(s);
  return s;
}

}  // namespace fc::storage

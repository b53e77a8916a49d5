// Endpoints (create, list, rotate, enable, delete, replay) and the delivery
// machinery: one dispatcher that turns new events into delivery rows per
// endpoint, and `lanes` workers per endpoint that send them in order.
#include "webhooks/service.hpp"

#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <future>
#include <limits>
#include <map>
#include <random>

#include "common/ids.hpp"
#include "events/events.hpp"
#include "storage/db.hpp"
#include "webhooks/detail/impl.hpp"
#include "webhooks/detail/store.hpp"
#include "webhooks/signature.hpp"

namespace fc::webhooks {

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = [] {
    auto existing = spdlog::get("webhooks");
    if (existing) return existing;
    auto created = spdlog::default_logger()->clone("webhooks");
    spdlog::register_logger(created);
    return created;
  }();
  return l;
}

}  // namespace

std::optional<Priority> parse_priority(std::string_view s) {
  if (s == "idle") return Priority::kIdle;
  if (s == "low") return Priority::kLow;
  if (s == "normal") return Priority::kNormal;
  return std::nullopt;
}

namespace {

// Lowers the calling thread's CPU priority (Linux: both calls act on the
// thread, not the process).
void lower_priority(Priority p) {
  if (p == Priority::kIdle) {
    sched_param sp{};
    if (::sched_setscheduler(0, SCHED_IDLE, &sp) != 0)
      logger()->warn("webhook thread priority not lowered policy=idle errno={}", errno);
  } else if (p == Priority::kLow) {
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19) != 0)
      logger()->warn("webhook thread priority not lowered nice=19 errno={}", errno);
  }
}

}  // namespace

Service::Service(asio::io_context& /*io*/, storage::Database& db, const Clock& clock, Options o,
                 Sealer s)
    : impl_(std::make_unique<Impl>(db, clock, std::move(o), std::move(s))) {}

Service::~Service() {
  stop();
  // Every suspended coroutine frame goes while the state it points to is here.
  impl_->wio.shutdown();
}

void Service::start() {
  auto& i = *impl_;
  if (i.running || i.thread.joinable()) return;
  auto st =
      i.db.write_sync([&](storage::Conn& c) -> Status { return store::fold_lanes(c, i.o.lanes); });
  if (!st) logger()->warn("folding delivery lanes failed reason={}", st.error().detail);
  auto reader = i.o.open_reader ? i.o.open_reader()
                                : Result<std::unique_ptr<storage::Conn>>(
                                      make_error(Code::kInvalidArgument, "no read connection"));
  if (!reader) {
    logger()->error("webhook delivery not started reason={}", reader.error().detail);
    return;
  }
  i.reader = std::move(reader).value();
  std::vector<std::shared_ptr<EndpointState>> eps;
  auto rows = store::list_endpoints(i.db.read());
  if (!rows) {
    logger()->error("loading webhook endpoints failed reason={}", rows.error().detail);
  } else {
    for (auto& r : rows.value()) eps.push_back(i.prepare(std::move(r)));
  }
  i.running = true;
  i.work.emplace(i.wio.get_executor());
  asio::post(i.wio, [&i, eps = std::move(eps)] {
    for (const auto& ep : eps) i.install(ep);
    asio::co_spawn(i.wio, i.dispatch_loop(), [](std::exception_ptr e) {
      if (e) logger()->critical("webhook dispatcher stopped reason=exception");
    });
    asio::co_spawn(i.wio, i.flush_loop(), [](std::exception_ptr e) {
      if (e) logger()->critical("webhook outcome writer stopped reason=exception");
    });
    if (i.o.retention_s > 0) {
      asio::co_spawn(i.wio, i.retention_loop(), [](std::exception_ptr e) {
        if (e) logger()->critical("event retention job stopped reason=exception");
      });
    }
  });
  i.thread = std::thread([&i] {
    ::pthread_setname_np(::pthread_self(), "fc-webhooks");
    lower_priority(i.o.priority);
    i.wio.run();
  });
  logger()->info("webhook delivery started endpoints={} priority={}", eps.size(),
                 i.o.priority == Priority::kIdle  ? "idle"
                 : i.o.priority == Priority::kLow ? "low"
                                                  : "normal");
}

void Service::stop() {
  auto& i = *impl_;
  if (!i.thread.joinable()) {
    i.running = false;
    return;
  }
  // On the delivery thread: no new round, no new attempt; the outcome writer
  // writes what is queued and ends, then the thread stops (an attempt still
  // in flight is abandoned with its frame, redelivered after a restart).
  auto written = std::make_shared<std::promise<void>>();
  auto done = written->get_future();
  asio::post(i.wio, [&i, written] {
    i.running = false;
    i.dispatch_timer.cancel();
    i.retention_timer.cancel();
    for (auto& [id, ep] : i.endpoints) i.halt(*ep);
    asio::co_spawn(i.wio, i.write_outbox(),
                   [written](std::exception_ptr) { written->set_value(); });
  });
  if (done.wait_for(std::chrono::seconds(2)) != std::future_status::ready)
    logger()->warn("webhook outcomes not written at stop: redelivered after the restart");
  i.work.reset();
  i.wio.stop();
  i.thread.join();
}

Service::Stats Service::stats() const {
  const auto& i = *impl_;
  return Stats{i.attempts.load(), i.delivered.load(), i.failed.load()};
}

awaitable<Result<WithSecret>> Service::create(std::string url, std::vector<std::string> types,
                                              std::string description) {
  auto& i = *impl_;
  if (auto why = check_url(url, i.o.allow_private))
    co_return make_error(Code::kInvalidArgument, *why);
  BOOST_OUTCOME_CO_TRY(secret, new_secret());
  BOOST_OUTCOME_CO_TRY(sealed, i.sealer.seal(secret));
  BOOST_OUTCOME_CO_TRY(last, events::last_seq(i.db.read()));
  store::EndpointRow row;
  const auto now = i.clock.now_ms();
  row.e.id = i.ids.next("whk_", now);
  row.e.url = std::move(url);
  row.e.event_types = std::move(types);
  row.e.description = std::move(description);
  row.e.cursor = last;  // from now on; replay reaches back
  row.e.created_at = row.e.updated_at = now;
  row.secret_sealed = std::move(sealed);
  auto st = co_await i.db.write([&](storage::Conn& c) { return store::insert_endpoint(c, row); });
  if (!st) co_return st.error();
  logger()->info("webhook endpoint created id={} types={}", row.e.id, row.e.event_types.size());
  Endpoint e = row.e;
  // Named, not a closure temporary in the co_await (GCC 12 destroys a
  // capturing one there twice).
  std::function<void()> install = [&i, ep = i.prepare(std::move(row))] { i.install(ep); };
  co_await i.on_worker(std::move(install));
  co_return WithSecret{std::move(e), std::move(secret)};
}

Result<std::vector<Endpoint>> Service::list() {
  BOOST_OUTCOME_TRY(rows, store::list_endpoints(impl_->db.read()));
  std::vector<Endpoint> out;
  for (auto& r : rows) out.push_back(std::move(r.e));
  return out;
}

Result<Endpoint> Service::get(const std::string& id) {
  BOOST_OUTCOME_TRY(row, store::find_endpoint(impl_->db.read(), id));
  if (!row) return make_error(Code::kNotFound, "no webhook endpoint " + id);
  return std::move(row->e);
}

awaitable<Status> Service::remove(std::string id) {
  auto& i = *impl_;
  bool found = false;
  auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(gone, store::delete_endpoint(c, id));
    found = gone;
    return ok();
  });
  if (!st) co_return st.error();
  if (!found) co_return make_error(Code::kNotFound, "no webhook endpoint " + id);
  std::function<void()> forget = [&i, id] { i.forget(id); };
  co_await i.on_worker(std::move(forget));
  {
    std::lock_guard lk(i.mu);
    i.counters.erase(id);
  }
  logger()->info("webhook endpoint deleted id={}", id);
  co_return ok();
}

awaitable<Result<WithSecret>> Service::rotate(std::string id) {
  auto& i = *impl_;
  BOOST_OUTCOME_CO_TRY(secret, new_secret());
  BOOST_OUTCOME_CO_TRY(sealed, i.sealer.seal(secret));
  const auto now = i.clock.now_ms();
  store::EndpointRow row;
  auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(found, store::find_endpoint(c, id));
    if (!found) return make_error(Code::kNotFound, "no webhook endpoint " + id);
    row = std::move(*found);
    row.old_secret_sealed = row.secret_sealed;
    row.e.old_secret_until = now + i.o.rotation_grace_s * 1000;
    if (i.o.rotation_grace_s == 0) {
      row.old_secret_sealed.reset();
      row.e.old_secret_until.reset();
    }
    row.secret_sealed = sealed;
    row.e.updated_at = now;
    return store::update_endpoint(c, row);
  });
  if (!st) co_return st.error();
  // The new keys go to the running endpoint; its cursor and state stay the
  // delivery thread's.
  std::function<void()> swap_keys = [&i, id, fresh = i.prepare(row)] {
    auto it = i.endpoints.find(id);
    if (it == i.endpoints.end()) return;
    EndpointState& ep = *it->second;
    ep.row.secret_sealed = fresh->row.secret_sealed;
    ep.row.old_secret_sealed = fresh->row.old_secret_sealed;
    ep.row.e.old_secret_until = fresh->row.e.old_secret_until;
    ep.row.e.updated_at = fresh->row.e.updated_at;
    ep.secrets = std::move(fresh->secrets);
    ep.signer = std::move(fresh->signer);
  };
  co_await i.on_worker(std::move(swap_keys));
  logger()->info("webhook secret rotated id={} grace_s={}", id, i.o.rotation_grace_s);
  co_return WithSecret{row.e, std::move(secret)};
}

awaitable<Result<Endpoint>> Service::enable(std::string id) {
  auto& i = *impl_;
  store::EndpointRow row;
  auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(found, store::find_endpoint(c, id));
    if (!found) return make_error(Code::kNotFound, "no webhook endpoint " + id);
    row = std::move(*found);
    row.e.state = "enabled";
    row.e.disabled_reason.reset();
    row.e.failing_since.reset();
    row.e.updated_at = i.clock.now_ms();
    return store::update_endpoint(c, row);
  });
  if (!st) co_return st.error();
  Endpoint e = row.e;
  std::function<void()> reinstall = [&i, id, ep = i.prepare(std::move(row))] {
    if (auto it = i.endpoints.find(id); it != i.endpoints.end()) i.halt(*it->second);
    i.install(ep);
  };
  co_await i.on_worker(std::move(reinstall));
  co_return e;
}

// The log by event sequence: the endpoint's rows (the newest row of each
// event: a replay adds one) merged with the first-attempt successes kept in
// memory (no row: recorded = false).
Result<std::vector<Delivery>> Service::deliveries(const std::string& id, std::int64_t after,
                                                  int limit) {
  auto& i = *impl_;
  BOOST_OUTCOME_TRY(row, store::find_endpoint(i.db.read(), id));
  if (!row) return make_error(Code::kNotFound, "no webhook endpoint " + id);
  const int fetch = limit * 2 + 16;
  BOOST_OUTCOME_TRY(rows, store::rows_by_seq(i.db.read(), id, after, fetch));
  // A full fetch may have cut the last sequence's rows: only what is before it.
  std::int64_t below = std::numeric_limits<std::int64_t>::max();
  if (static_cast<int>(rows.size()) == fetch) below = rows.back().event_seq;
  std::map<std::int64_t, Delivery> by_seq;
  for (auto& d : rows) {
    if (d.event_seq >= below) break;
    d.delivery_id = d.id;
    d.id = d.event_seq;
    by_seq[d.event_seq] = std::move(d);  // rows in id order: the newest stays
  }
  std::shared_ptr<EndpointState> ep;
  {
    std::lock_guard lk(i.mu);
    if (auto it = i.shown.find(id); it != i.shown.end()) ep = it->second;
  }
  if (ep) {
    std::lock_guard lk(ep->recent_mu);
    for (const auto& r : ep->recent) {
      if (r.seq <= after || r.seq >= below || by_seq.count(r.seq)) continue;
      Delivery d;
      d.id = r.seq;
      d.endpoint_id = id;
      d.event_seq = r.seq;
      d.event_id = r.event_id;
      d.event_type = r.event_type;
      d.workspace_id = r.workspace_id;
      d.lane = i.lane_of(r.workspace_id);
      d.state = "delivered";
      d.attempts = 1;
      d.next_attempt_at = r.at;
      d.last_status = r.status;
      d.created_at = r.created_at;
      d.delivered_at = r.at;
      d.recorded = false;
      by_seq.emplace(r.seq, std::move(d));
    }
  }
  std::vector<Delivery> out;
  for (auto& [seq, d] : by_seq) {
    if (static_cast<int>(out.size()) >= limit) break;
    out.push_back(std::move(d));
  }
  return out;
}

awaitable<Result<std::int64_t>> Service::replay(std::string id, std::int64_t since_ms) {
  auto& i = *impl_;
  constexpr int kMaxReplay = 10000;
  BOOST_OUTCOME_CO_TRY(found, store::find_endpoint(i.db.read(), id));
  if (!found) co_return make_error(Code::kNotFound, "no webhook endpoint " + id);
  // Every subscribed event since then, up to the newest at this call
  // (docs/API.md): its delivered-up-to cursor trails what was sent by up to
  // a lane's in-flight work, so bounding the replay by it left out events
  // the receiver already had (delivery_itest test_06 under load). An event
  // not delivered yet when replayed may arrive twice, with the same
  // webhook-id.
  BOOST_OUTCOME_CO_TRY(upto, events::last_seq(i.db.read()));
  std::vector<Delivery> queue;
  std::int64_t after = 0;
  const auto now = i.clock.now_ms();
  while (static_cast<int>(queue.size()) < kMaxReplay) {
    events::Query q;
    q.after = after;
    q.since_ms = since_ms;
    q.limit = 1000;
    q.data = false;
    BOOST_OUTCOME_CO_TRY(page, events::list(i.db.read(), q));
    if (page.empty()) break;
    for (const auto& ev : page) {
      // Newer events come through the feeder.
      if (ev.seq > upto) break;
      if (!matches(found->e.event_types, ev.type)) continue;
      queue.push_back(i.delivery_for(id, ev, now));
      if (static_cast<int>(queue.size()) >= kMaxReplay) break;
    }
    after = page.back().seq;
    if (after >= upto) break;
  }
  auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
    for (const auto& d : queue) {
      BOOST_OUTCOME_TRY(store::insert_delivery(c, d));
    }
    return ok();
  });
  if (!st) co_return st.error();
  // The lanes with replayed rows move to rows mode (their events in memory
  // become rows after the replayed ones) and read them.
  auto lanes = std::make_shared<std::vector<bool>>(static_cast<std::size_t>(i.o.lanes), false);
  for (const auto& d : queue)
    if (d.lane >= 0 && d.lane < i.o.lanes) (*lanes)[static_cast<std::size_t>(d.lane)] = true;
  std::function<void()> wake = [&i, id, lanes] {
    auto it = i.endpoints.find(id);
    if (it == i.endpoints.end()) return;
    EndpointState& ep = *it->second;
    for (std::size_t k = 0; k < ep.lanes.size() && k < lanes->size(); ++k)
      if ((*lanes)[k] && !ep.lanes[k].rows) ep.lanes[k].to_rows_soon = true;
    i.wake(ep);
  };
  co_await i.on_worker(std::move(wake));
  logger()->info("webhook replay id={} since_ms={} queued={}", id, since_ms, queue.size());
  co_return static_cast<std::int64_t>(queue.size());
}

awaitable<Result<Service::Pruned>> Service::prune() {
  auto r = co_await impl_->prune_once();
  co_return r;
}

// Batches of kPruneBatch rows, each its own transaction, so the writer is
// never held for long; a pass ends when a batch comes back short.
awaitable<Result<Service::Pruned>> Service::Impl::prune_once() {
  constexpr int kPruneBatch = 1000;
  Pruned p;
  const std::int64_t before = clock.now_ms() - o.retention_s * 1000;
  for (;;) {
    int n = 0;
    auto st = co_await db.write([&](storage::Conn& c) -> Status {
      BOOST_OUTCOME_TRY(k, store::prune_delivered(c, before, kPruneBatch));
      n = k;
      return ok();
    });
    if (!st) co_return st.error();
    p.deliveries += n;
    pruned_deliveries += n;  // as each batch commits: /metrics never lags the table
    if (n < kPruneBatch) break;
  }
  {
    // The in-memory log of first-attempt successes follows the same retention.
    std::lock_guard lk(mu);
    for (auto& [id, ep] : shown) {
      std::lock_guard rk(ep->recent_mu);
      std::int64_t n = 0;
      while (!ep->recent.empty() && ep->recent.front().at < before) {
        ep->recent.pop_front();
        ++n;
      }
      p.deliveries += n;
      pruned_deliveries += n;
    }
  }
  for (;;) {
    int n = 0;
    auto st = co_await db.write([&](storage::Conn& c) -> Status {
      BOOST_OUTCOME_TRY(last, events::last_seq(c));
      BOOST_OUTCOME_TRY(released, store::released_seq(c, last));
      BOOST_OUTCOME_TRY(k, events::prune(c, before, released, kPruneBatch));
      n = k;
      return ok();
    });
    if (!st) co_return st.error();
    p.events += n;
    pruned_events += n;
    if (n < kPruneBatch) break;
  }
  if (p.deliveries > 0 || p.events > 0)
    logger()->info("retention pruned deliveries={} events={} older_than_s={}", p.deliveries,
                   p.events, o.retention_s);
  co_return p;
}

awaitable<void> Service::Impl::retention_loop() {
  const auto every = std::chrono::seconds(std::clamp<std::int64_t>(o.retention_s / 4, 1, 3600));
  while (running) {
    retention_timer.expires_after(every);
    boost::system::error_code ec;
    co_await retention_timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (!running) break;
    auto r = co_await prune_once();
    if (!r) logger()->warn("retention pass failed reason={}", r.error().detail);
  }
}

std::string Service::metrics_text() {
  auto& i = *impl_;
  // A copy of the endpoints (the delivery thread changes the map); their
  // counters are atomics.
  std::vector<std::pair<std::string, std::shared_ptr<EndpointState>>> eps;
  std::map<std::string, std::shared_ptr<Counters>> counters;
  {
    std::lock_guard lk(i.mu);
    eps.assign(i.shown.begin(), i.shown.end());
    counters = i.counters;
  }
  std::string o;
  o += "# HELP fleetcommand_webhook_attempts_total Webhook delivery attempts since start, by"
       " endpoint and outcome (delivered, http_error, network_error, refused).\n"
       "# TYPE fleetcommand_webhook_attempts_total counter\n";
  static const Counters kNone;
  auto counters_of = [&](const std::string& id) -> const Counters& {
    auto it = counters.find(id);
    return it == counters.end() ? kNone : *it->second;
  };
  for (const auto& [id, ep] : eps) {
    const Counters& n = counters_of(id);
    const std::pair<const char*, std::uint64_t> by[] = {{"delivered", n.delivered.load()},
                                                        {"http_error", n.http_error.load()},
                                                        {"network_error", n.network_error.load()},
                                                        {"refused", n.refused.load()}};
    for (const auto& [outcome, v] : by)
      o += "fleetcommand_webhook_attempts_total{endpoint=\"" + id + "\",outcome=\"" + outcome +
           "\"} " + std::to_string(v) + "\n";
  }
  o += "# HELP fleetcommand_webhook_retries_total Attempts that retried a failed delivery.\n"
       "# TYPE fleetcommand_webhook_retries_total counter\n";
  for (const auto& [id, ep] : eps)
    o += "fleetcommand_webhook_retries_total{endpoint=\"" + id + "\"} " +
         std::to_string(counters_of(id).retries.load()) + "\n";
  // Each endpoint's queue from its delivered-up-to cursor (the delivery
  // thread's, not the stored one: no lag of record_ms).
  std::map<std::string, Result<store::Backlog>> backlogs;
  for (const auto& [id, ep] : eps)
    backlogs.emplace(
        id, store::backlog(i.db.read(), id, ep->row.e.event_types, ep->delivered_upto.load()));
  const auto now = i.clock.now_ms();
  o += "# HELP fleetcommand_webhook_pending_deliveries Deliveries queued, not yet delivered.\n"
       "# TYPE fleetcommand_webhook_pending_deliveries gauge\n";
  for (const auto& [id, ep] : eps) {
    const auto& b = backlogs.at(id);
    const std::int64_t n = b ? b.value().pending : -1;
    o += "fleetcommand_webhook_pending_deliveries{endpoint=\"" + id + "\"} " + std::to_string(n) +
         "\n";
  }
  o += "# HELP fleetcommand_webhook_oldest_pending_age_seconds Age of the oldest queued delivery"
       " (0 when none).\n# TYPE fleetcommand_webhook_oldest_pending_age_seconds gauge\n";
  for (const auto& [id, ep] : eps) {
    double age = -1;
    if (const auto& b = backlogs.at(id); b) {
      age =
          b.value().pending == 0
              ? 0.0
              : static_cast<double>(std::max<std::int64_t>(0, now - b.value().oldest_created_at)) /
                    1000.0;
    }
    o += "fleetcommand_webhook_oldest_pending_age_seconds{endpoint=\"" + id + "\"} " +
         std::to_string(age) + "\n";
  }
  std::int64_t enabled = 0, disabled = 0;
  for (const auto& [id, ep] : eps) (ep->enabled.load() ? enabled : disabled)++;
  o += "# HELP fleetcommand_webhook_endpoints Webhook endpoints by state.\n"
       "# TYPE fleetcommand_webhook_endpoints gauge\n"
       "fleetcommand_webhook_endpoints{state=\"enabled\"} " +
       std::to_string(enabled) + "\nfleetcommand_webhook_endpoints{state=\"disabled\"} " +
       std::to_string(disabled) + "\n";
  o += "# HELP fleetcommand_retention_pruned_total Rows deleted by the retention job"
       " (events.retention_s), by table.\n# TYPE fleetcommand_retention_pruned_total counter\n"
       "fleetcommand_retention_pruned_total{table=\"webhook_deliveries\"} " +
       std::to_string(i.pruned_deliveries.load()) +
       "\nfleetcommand_retention_pruned_total{table=\"events\"} " +
       std::to_string(i.pruned_events.load()) + "\n";
  return o;
}

bool matches(const std::vector<std::string>& filters, const std::string& type) {
  if (filters.empty()) return true;
  for (const auto& f : filters) {
    if (f == "*" || f == type) return true;
    if (f.size() > 2 && f.ends_with(".*") && type.starts_with(f.substr(0, f.size() - 1)))
      return true;
  }
  return false;
}

}  // namespace fc::webhooks

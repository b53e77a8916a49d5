// Endpoints (create, list, rotate, enable, delete, replay) and the delivery
// machinery: one dispatcher that turns new events into delivery rows per
// endpoint, and `lanes` workers per endpoint that send them in order.
#include "webhooks/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
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

Service::Service(asio::io_context& io, storage::Database& db, const Clock& clock, Options o,
                 Sealer s)
    : impl_(std::make_unique<Impl>(io, db, clock, std::move(o), std::move(s))) {}

Service::~Service() { stop(); }

void Service::start() {
  auto& i = *impl_;
  if (i.running) return;
  i.running = true;
  auto st =
      i.db.write_sync([&](storage::Conn& c) -> Status { return store::fold_lanes(c, i.o.lanes); });
  if (!st) logger()->warn("folding delivery lanes failed reason={}", st.error().detail);
  auto rows = store::list_endpoints(i.db.read());
  if (!rows) {
    logger()->error("loading webhook endpoints failed reason={}", rows.error().detail);
  } else {
    for (auto& r : rows.value()) i.adopt(std::move(r));
  }
  asio::co_spawn(i.io, i.dispatch_loop(), [](std::exception_ptr e) {
    if (e) logger()->critical("webhook dispatcher stopped reason=exception");
  });
  if (i.o.retention_s > 0) {
    asio::co_spawn(i.io, i.retention_loop(), [](std::exception_ptr e) {
      if (e) logger()->critical("event retention job stopped reason=exception");
    });
  }
}

void Service::stop() {
  auto& i = *impl_;
  if (!i.running) return;
  i.running = false;
  i.dispatch_timer.cancel();
  i.retention_timer.cancel();
  for (auto& [id, ep] : i.endpoints) i.halt(*ep);
}

Service::Stats Service::stats() const { return impl_->stats; }

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
  i.adopt(std::move(row));
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
  if (auto it = i.endpoints.find(id); it != i.endpoints.end()) {
    i.halt(*it->second);
    i.endpoints.erase(it);
  }
  i.counters.erase(id);
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
  if (auto it = i.endpoints.find(id); it != i.endpoints.end()) i.load_secrets(*it->second, row);
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
  if (auto it = i.endpoints.find(id); it != i.endpoints.end()) {
    i.halt(*it->second);
    i.endpoints.erase(it);
  }
  i.adopt(std::move(row));
  co_return e;
}

Result<std::vector<Delivery>> Service::deliveries(const std::string& id, std::int64_t after,
                                                  int limit) {
  BOOST_OUTCOME_TRY(row, store::find_endpoint(impl_->db.read(), id));
  if (!row) return make_error(Code::kNotFound, "no webhook endpoint " + id);
  return store::log(impl_->db.read(), id, after, limit);
}

awaitable<Result<std::int64_t>> Service::replay(std::string id, std::int64_t since_ms) {
  auto& i = *impl_;
  constexpr int kMaxReplay = 10000;
  BOOST_OUTCOME_CO_TRY(found, store::find_endpoint(i.db.read(), id));
  if (!found) co_return make_error(Code::kNotFound, "no webhook endpoint " + id);
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
      // Only what the endpoint was sent already (seq ≤ cursor): newer events
      // come through the dispatcher.
      if (ev.seq > found->e.cursor) break;
      if (!matches(found->e.event_types, ev.type)) continue;
      queue.push_back(i.delivery_for(id, ev, now));
      if (static_cast<int>(queue.size()) >= kMaxReplay) break;
    }
    after = page.back().seq;
    if (after >= found->e.cursor) break;
  }
  auto st = co_await i.db.write([&](storage::Conn& c) -> Status {
    for (const auto& d : queue) {
      BOOST_OUTCOME_TRY(store::insert_delivery(c, d));
    }
    return ok();
  });
  if (!st) co_return st.error();
  if (auto it = i.endpoints.find(id); it != i.endpoints.end()) i.wake(*it->second);
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
    if (n < kPruneBatch) break;
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
    if (n < kPruneBatch) break;
  }
  pruned_total.deliveries += p.deliveries;
  pruned_total.events += p.events;
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
  std::string o;
  o += "# HELP fleetcommand_webhook_attempts_total Webhook delivery attempts since start, by"
       " endpoint and outcome (delivered, http_error, network_error, refused).\n"
       "# TYPE fleetcommand_webhook_attempts_total counter\n";
  for (const auto& [id, ep] : i.endpoints) {
    const Impl::Counters n = i.counters.count(id) ? i.counters.at(id) : Impl::Counters{};
    const std::pair<const char*, std::uint64_t> by[] = {{"delivered", n.delivered},
                                                        {"http_error", n.http_error},
                                                        {"network_error", n.network_error},
                                                        {"refused", n.refused}};
    for (const auto& [outcome, v] : by)
      o += "fleetcommand_webhook_attempts_total{endpoint=\"" + id + "\",outcome=\"" + outcome +
           "\"} " + std::to_string(v) + "\n";
  }
  o += "# HELP fleetcommand_webhook_retries_total Attempts that retried a failed delivery.\n"
       "# TYPE fleetcommand_webhook_retries_total counter\n";
  for (const auto& [id, ep] : i.endpoints) {
    const auto it = i.counters.find(id);
    o += "fleetcommand_webhook_retries_total{endpoint=\"" + id + "\"} " +
         std::to_string(it == i.counters.end() ? 0 : it->second.retries) + "\n";
  }
  auto backlog = store::backlog(i.db.read());
  const auto now = i.clock.now_ms();
  o += "# HELP fleetcommand_webhook_pending_deliveries Deliveries queued, not yet delivered.\n"
       "# TYPE fleetcommand_webhook_pending_deliveries gauge\n";
  for (const auto& [id, ep] : i.endpoints) {
    std::int64_t n = -1;
    if (backlog) n = backlog.value().count(id) ? backlog.value().at(id).pending : 0;
    o += "fleetcommand_webhook_pending_deliveries{endpoint=\"" + id + "\"} " + std::to_string(n) +
         "\n";
  }
  o += "# HELP fleetcommand_webhook_oldest_pending_age_seconds Age of the oldest queued delivery"
       " (0 when none).\n# TYPE fleetcommand_webhook_oldest_pending_age_seconds gauge\n";
  for (const auto& [id, ep] : i.endpoints) {
    double age = -1;
    if (backlog) {
      auto it = backlog.value().find(id);
      age =
          it == backlog.value().end()
              ? 0.0
              : static_cast<double>(std::max<std::int64_t>(0, now - it->second.oldest_created_at)) /
                    1000.0;
    }
    o += "fleetcommand_webhook_oldest_pending_age_seconds{endpoint=\"" + id + "\"} " +
         std::to_string(age) + "\n";
  }
  std::int64_t enabled = 0, disabled = 0;
  for (const auto& [id, ep] : i.endpoints) (ep->row.e.state == "enabled" ? enabled : disabled)++;
  o += "# HELP fleetcommand_webhook_endpoints Webhook endpoints by state.\n"
       "# TYPE fleetcommand_webhook_endpoints gauge\n"
       "fleetcommand_webhook_endpoints{state=\"enabled\"} " +
       std::to_string(enabled) + "\nfleetcommand_webhook_endpoints{state=\"disabled\"} " +
       std::to_string(disabled) + "\n";
  o += "# HELP fleetcommand_retention_pruned_total Rows deleted by the retention job"
       " (events.retention_s), by table.\n# TYPE fleetcommand_retention_pruned_total counter\n"
       "fleetcommand_retention_pruned_total{table=\"webhook_deliveries\"} " +
       std::to_string(i.pruned_total.deliveries) +
       "\nfleetcommand_retention_pruned_total{table=\"events\"} " +
       std::to_string(i.pruned_total.events) + "\n";
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

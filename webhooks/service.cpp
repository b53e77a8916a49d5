// Endpoints (create, list, rotate, enable, delete, replay) and the delivery
// machinery: one dispatcher that turns new events into delivery rows per
// endpoint, and `lanes` workers per endpoint that send them in order.
#include "webhooks/service.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <random>

#include "common/ids.hpp"
#include "events/events.hpp"
#include "storage/db.hpp"
#include "webhooks/detail/http_out.hpp"
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
}

void Service::stop() {
  auto& i = *impl_;
  if (!i.running) return;
  i.running = false;
  i.dispatch_timer.cancel();
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

// Delivery: the feeder (new events -> each endpoint's lanes, in memory) and
// the lanes (signed POSTs in sequence order per lane). A success writes
// nothing per event: the endpoint's delivered-up-to cursor is written once
// per record_ms. A failure turns the event and every later one of its lane
// into webhook_deliveries rows, and the lane then sends its rows, retrying
// with backoff, so a workspace's events never overtake each other; other
// lanes and other endpoints go on (docs/webhooks.md).
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "webhooks/backoff.hpp"
#include "webhooks/detail/impl.hpp"
#include "webhooks/signature.hpp"

namespace fc::webhooks {

namespace {

constexpr int kPageSize = 64;         // rows a lane reads at once (rows mode)
constexpr int kDispatchBatch = 1000;  // events the feeder reads at once
// Events read ahead per endpoint (in its lanes' memory queues): a slow or
// dead endpoint holds at most this many; the rest wait in the outbox.
constexpr std::size_t kReadAhead = 4096;
constexpr std::size_t kRecentLog = 1000;  // first-attempt successes kept for the log
constexpr auto kIdleWait = std::chrono::seconds(1);

std::shared_ptr<spdlog::logger> wlog() {
  static auto l = [] {
    auto existing = spdlog::get("webhooks");
    if (existing) return existing;
    auto created = spdlog::default_logger()->clone("webhooks");
    spdlog::register_logger(created);
    return created;
  }();
  return l;
}

// `s` as a JSON string: as is between quotes when nothing in it needs
// escaping (ids, types, host names: every string the head has in practice),
// else through nlohmann (invalid UTF-8 replaced, never thrown).
void append_json_string(std::string& out, std::string_view s) {
  const bool plain = std::all_of(s.begin(), s.end(), [](char ch) {
    const auto u = static_cast<unsigned char>(ch);
    return u >= 0x20 && u < 0x80 && ch != '"' && ch != '\\';
  });
  if (!plain) {
    out += nlohmann::json(std::string(s))
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

// The Standard Webhooks payload: type, timestamp, data, plus our ids, in the
// order docs/webhooks.md shows. Written directly: the event's data is the
// stored JSON text, spliced in as is (never parsed or serialised again).
std::string payload(const events::Event& e) {
  std::string body;
  body.reserve(e.data_json.size() + e.id.size() + e.type.size() + e.subject.size() +
               e.workspace_id.size() + 160);
  body += "{\"id\":";
  append_json_string(body, e.id);
  body += ",\"type\":";
  append_json_string(body, e.type);
  body += ",\"timestamp\":\"";
  body += format_rfc3339(e.created_at);
  body += "\",\"sequence\":";
  body += std::to_string(e.seq);
  body += ",\"subject\":";
  append_json_string(body, e.subject);
  if (!e.workspace_id.empty()) {
    body += ",\"workspace_id\":";
    append_json_string(body, e.workspace_id);
    body += ",\"workspace_sequence\":";
    body += std::to_string(e.workspace_seq);
  }
  body += ",\"data\":";
  body += e.data_json.empty() ? std::string_view("{}") : std::string_view(e.data_json);
  body += '}';
  return body;
}

awaitable<void> sleep_on(asio::steady_timer& t, std::chrono::milliseconds d) {
  t.expires_after(d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
}

}  // namespace

int Service::Impl::lane_of(const std::string& workspace_id) const {
  // FNV-1a: stable across builds, so pending rows keep their lane over upgrades.
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : workspace_id) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<int>(h % static_cast<std::uint64_t>(o.lanes));
}

Delivery Service::Impl::delivery_for(const std::string& endpoint, const events::Event& ev,
                                     std::int64_t now) {
  Delivery d;
  d.endpoint_id = endpoint;
  d.event_seq = ev.seq;
  d.event_id = ev.id;
  d.event_type = ev.type;
  d.workspace_id = ev.workspace_id;
  d.lane = lane_of(ev.workspace_id);
  d.next_attempt_at = now;
  d.created_at = now;
  return d;
}

void Service::Impl::load_secrets(EndpointState& ep, const store::EndpointRow& row) {
  ep.row = row;
  ep.secrets.clear();
  auto cur = sealer.open(row.secret_sealed);
  if (!cur) {
    wlog()->error("webhook secret does not open id={} reason={}", row.e.id, cur.error().detail);
  } else {
    ep.secrets.push_back(std::move(cur).value());
  }
  if (row.old_secret_sealed) {
    auto old = sealer.open(*row.old_secret_sealed);
    if (old) ep.secrets.push_back(std::move(old).value());
  }
  ep.signer = Signer();
  if (!ep.secrets.empty()) {
    auto signer = Signer::create(ep.secrets);
    if (signer) {
      ep.signer = std::move(signer).value();
    } else {
      wlog()->error("webhook secret unusable id={} reason={}", row.e.id, signer.error().detail);
    }
  }
  ep.target = detail::split_url(row.e.url);
}

std::shared_ptr<EndpointState> Service::Impl::prepare(store::EndpointRow row) {
  auto ep = std::make_shared<EndpointState>();
  load_secrets(*ep, row);
  ep->enabled = row.e.state == "enabled";
  ep->fed = row.e.cursor;
  ep->delivered_upto = row.e.cursor;
  return ep;
}

// A lane with pending rows starts in rows mode; the feeder skips its events
// up to the newest of them (they are in rows, or were delivered before).
void Service::Impl::load_lanes(EndpointState& ep) {
  ep.lanes.assign(static_cast<std::size_t>(o.lanes), Lane{});
  auto pending = store::pending_lanes(*reader, ep.row.e.id);
  if (!pending) {
    // Every lane reads its rows first: nothing is skipped, nothing overtaken.
    wlog()->warn("webhook pending rows unread id={} reason={}", ep.row.e.id,
                 pending.error().detail);
    for (auto& l : ep.lanes) l.rows = true;
    return;
  }
  for (const auto& [lane, upto] : pending.value()) {
    if (lane < 0 || lane >= o.lanes) continue;
    auto& l = ep.lanes[static_cast<std::size_t>(lane)];
    l.rows = true;
    l.rows_upto = upto;
  }
}

void Service::Impl::install(std::shared_ptr<EndpointState> ep) {
  const std::string id = ep->row.e.id;
  {
    std::lock_guard lk(mu);
    auto& n = counters[id];
    if (!n) n = std::make_shared<Counters>();
    ep->counters = n;
    shown[id] = ep;
  }
  endpoints[id] = ep;
  if (!running || ep->row.e.state != "enabled" || ep->secrets.empty()) return;
  load_lanes(*ep);
  for (int lane = 0; lane < o.lanes; ++lane) {
    ep->lane_timers.push_back(std::make_unique<asio::steady_timer>(wio));
    asio::co_spawn(wio, lane_loop(ep, lane), [id, lane](std::exception_ptr e) {
      if (e) wlog()->critical("webhook lane stopped id={} lane={} reason=exception", id, lane);
    });
  }
}

void Service::Impl::forget(const std::string& id) {
  if (auto it = endpoints.find(id); it != endpoints.end()) {
    halt(*it->second);
    endpoints.erase(it);
  }
  std::lock_guard lk(mu);
  shown.erase(id);
}

awaitable<void> Service::Impl::on_worker(std::function<void()> f) {
  if (!thread.joinable()) {  // not started, or stopped: nothing runs there
    f();
    co_return;
  }
  // As Database::write hands a result back: run f there, then post the
  // caller's continuation to its own executor.
  auto initiate = [this, f = std::move(f)](auto handler) mutable {
    auto ex = asio::get_associated_executor(handler);
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    asio::post(wio, [f = std::move(f), ex, h]() mutable {
      f();
      asio::post(ex, [h]() mutable { (*h)(); });
    });
  };
  co_await asio::async_initiate<decltype(use_awaitable), void()>(std::move(initiate),
                                                                 use_awaitable);
}

void Service::Impl::halt(EndpointState& ep) {
  ep.active = false;
  for (auto& t : ep.lane_timers) t->cancel();
}

void Service::Impl::wake(EndpointState& ep) {
  for (auto& t : ep.lane_timers) t->cancel();
}

awaitable<void> Service::Impl::dispatch_loop() {
  while (running) {
    auto last =
        endpoints.empty() ? Result<std::int64_t>(std::int64_t{0}) : events::last_seq(*reader);
    if (last) {
      std::vector<std::shared_ptr<EndpointState>> eps;
      for (auto& [id, ep] : endpoints) {
        if (ep->active && ep->row.e.state == "enabled" && !ep->lanes.empty() &&
            ep->fed < last.value() && ep->queued < kReadAhead)
          eps.push_back(ep);
      }
      for (auto& ep : eps) co_await dispatch(ep, last.value());
    }
    if (!running) break;
    co_await sleep_on(dispatch_timer, std::chrono::milliseconds(o.poll_ms));
  }
}

// The feeder: the endpoint's new events, read with their data, go to their
// lanes — into memory for a lane in memory mode, as rows to write at the next
// record for a lane in rows mode. Nothing is written here; an event is
// "unresolved" until delivered or in a row, and the cursor stays below it.
awaitable<void> Service::Impl::dispatch(std::shared_ptr<EndpointState> ep, std::int64_t last) {
  const std::string id = ep->row.e.id;
  while (running && ep->active && ep->fed < last && ep->queued < kReadAhead) {
    events::Query q;
    q.after = ep->fed;
    q.limit = static_cast<int>(std::min<std::size_t>(kDispatchBatch, kReadAhead - ep->queued));
    auto page = events::list(*reader, q);
    if (!page) {
      wlog()->warn("webhook feed read failed id={} reason={}", id, page.error().detail);
      co_return;
    }
    if (page.value().empty()) co_return;
    std::vector<bool> woken(ep->lanes.size(), false);
    for (auto& ev : page.value()) {
      ep->fed = ev.seq;
      if (!matches(ep->row.e.event_types, ev.type)) continue;
      const int lane = lane_of(ev.workspace_id);
      Lane& l = ep->lanes[static_cast<std::size_t>(lane)];
      if (ev.seq <= l.rows_upto) continue;
      ep->unresolved.insert(ev.seq);
      ++ep->queued;
      if (l.rows) {
        l.to_row.push_back(std::move(ev));
        continue;
      }
      l.mem.push_back(std::move(ev));
      if (l.mem.size() == 1) woken[static_cast<std::size_t>(lane)] = true;
    }
    for (std::size_t k = 0; k < woken.size(); ++k)
      if (woken[k]) ep->lane_timers[k]->cancel();
    if (ep->unresolved.empty()) ep->delivered_upto = ep->fed;
    co_await asio::post(wio, use_awaitable);  // let the lanes start before the next page
  }
}

// Waits until the record that holds what was queued so far is written.
awaitable<void> Service::Impl::await_record(EndpointState& ep, asio::steady_timer& timer) {
  const std::uint64_t mine = ++queued_gen;
  flush_soon = true;
  flush_timer.cancel();
  while (written_gen < mine && running && ep.active)
    co_await sleep_on(timer, std::chrono::milliseconds(5));
}

awaitable<void> Service::Impl::lane_loop(std::shared_ptr<EndpointState> ep, int lane) {
  detail::Sender sender(o.allow_private, std::chrono::milliseconds(o.timeout_ms));
  std::int64_t after = 0;
  while (running && ep->active) {
    Lane& l = ep->lanes[static_cast<std::size_t>(lane)];
    if (l.rows) {
      co_await lane_rows_step(ep, lane, sender, after);
    } else {
      after = 0;
      co_await lane_mem_step(ep, lane, sender);
    }
  }
}

// Memory mode: the next event of the lane. A success only moves the
// endpoint's in-memory cursor; a failure makes this event (with its attempt)
// and every later one of the lane rows, written before the lane goes on.
awaitable<void> Service::Impl::lane_mem_step(std::shared_ptr<EndpointState> ep, int lane,
                                             detail::Sender& sender) {
  asio::steady_timer& timer = *ep->lane_timers[static_cast<std::size_t>(lane)];
  Lane& l = ep->lanes[static_cast<std::size_t>(lane)];  // ep->lanes never resizes while it runs
  const std::string& id = ep->row.e.id;
  if (l.to_rows_soon) {  // a replay queued rows of this lane: they go first
    l.to_rows_soon = false;
    l.rows = true;
    for (auto& ev : l.mem) l.to_row.push_back(std::move(ev));
    l.mem.clear();
    co_await await_record(*ep, timer);
    co_return;
  }
  if (l.mem.empty()) {
    co_await sleep_on(timer, kIdleWait);
    co_return;
  }
  events::Event ev = std::move(l.mem.front());
  l.mem.pop_front();
  --ep->queued;
  Outcome out = co_await attempt(*ep, sender, 0, 0, &ev, ev.id);
  // Halted meanwhile (deleted, disabled, stopping): the event stays
  // unresolved, so the cursor stays below it and it is sent again.
  if (!running || !ep->active) co_return;
  if (out.ok) {
    ep->unresolved.erase(ev.seq);
    ep->succeeded = true;
    ep->delivered_upto = ep->cursor();
    std::lock_guard lk(ep->recent_mu);
    ep->recent.push_back(Recent{ev.seq, std::move(ev.id), std::move(ev.type),
                                std::move(ev.workspace_id), out.status.value_or(0), ev.created_at,
                                out.at});
    if (ep->recent.size() > kRecentLog) ep->recent.pop_front();
    co_return;
  }
  Delivery first = delivery_for(id, ev, out.at);
  first.attempts = 1;
  first.last_status = out.status;
  first.last_error = out.error;
  first.next_attempt_at = out.at + retry_delay_ms(1);
  l.rows = true;
  l.head_row = std::move(first);
  for (auto& rest : l.mem) l.to_row.push_back(std::move(rest));
  l.mem.clear();
  ep->failed_at = out.at;
  ep->failed_error = out.error;
  co_await await_record(*ep, timer);
}

// Rows mode: the lane's pending rows in id order. Its cursor `after` skips
// the ones it sent whose outcome is still queued (written every record_ms); a
// failure is written at once and the lane reads from its start again, so
// nothing of the lane overtakes the failed delivery. With no pending row and
// none waiting to be written, the lane returns to memory mode.
awaitable<bool> Service::Impl::lane_rows_step(std::shared_ptr<EndpointState> ep, int lane,
                                              detail::Sender& sender, std::int64_t& after) {
  asio::steady_timer& timer = *ep->lane_timers[static_cast<std::size_t>(lane)];
  Lane& l = ep->lanes[static_cast<std::size_t>(lane)];
  const std::string& id = ep->row.e.id;
  if (l.seen_reread != reread) {  // an outcome write failed: those rows are pending again
    l.seen_reread = reread;
    after = 0;
  }
  auto page = store::due(*reader, id, lane, after, kPageSize);
  if (!page) {
    co_await sleep_on(timer, kIdleWait);
    co_return false;
  }
  if (page.value().empty()) {
    if (after > 0) {
      // Rows sent whose outcome is not written yet are still pending.
      auto any = store::due(*reader, id, lane, 0, 1);
      if (!any || !any.value().empty()) {
        co_await sleep_on(timer, kIdleWait);
        co_return false;
      }
    }
    if (!l.head_row && l.writing == 0 && !l.to_rows_soon) {
      // Nothing pending: back to memory (no await since the read), with the
      // events that were waiting for their rows, in order.
      l.rows = false;
      l.rows_upto = 0;
      for (auto& ev : l.to_row) l.mem.push_back(std::move(ev));
      l.to_row.clear();
      co_return true;
    }
    co_await sleep_on(timer, kIdleWait);
    co_return false;
  }
  std::vector<Outcome> outcomes;
  std::int64_t wait_ms = 0;
  for (const auto& d : page.value()) {
    const auto now = clock.now_ms();
    if (d.next_attempt_at > now) {
      wait_ms = d.next_attempt_at - now;
      break;
    }
    Outcome out =
        co_await attempt(*ep, sender, d.id, d.attempts, d.event ? &*d.event : nullptr, d.event_id);
    if (!out.ok) out.retry_at = out.at + retry_delay_ms(out.attempts);
    after = d.id;
    outcomes.push_back(std::move(out));
    if (!outcomes.back().ok || !running || !ep->active) break;
  }
  if (!outcomes.empty()) {
    const bool failed = !outcomes.back().ok;
    outbox.push_back(Queued{ep, std::move(outcomes)});
    if (failed) {
      // Written before this lane reads again: its retry time and the
      // endpoint's failure clock come from the stored row.
      co_await await_record(*ep, timer);
      after = 0;
    } else {
      ++queued_gen;
    }
  }
  if (wait_ms > 0 && running && ep->active) {
    co_await sleep_on(timer, std::chrono::milliseconds(std::min<std::int64_t>(wait_ms, 60'000)));
    after = 0;
  }
  co_return false;
}

// Writes the queued outcomes every record_ms (at once when a lane waits);
// after stop() it writes what is left and ends.
awaitable<void> Service::Impl::flush_loop() {
  while (running) {
    if (!flush_soon) co_await sleep_on(flush_timer, std::chrono::milliseconds(o.record_ms));
    flush_soon = false;
    co_await write_outbox();
  }
}

awaitable<Service::Impl::Outcome> Service::Impl::attempt(EndpointState& ep, detail::Sender& sender,
                                                         std::int64_t delivery_id,
                                                         std::int64_t attempts_before,
                                                         const events::Event* ev,
                                                         const std::string& event_id) {
  Outcome out;
  out.delivery_id = delivery_id;
  out.attempts = attempts_before + 1;
  if (ev == nullptr) {  // never happens while events are kept; do not block the lane
    out.ok = true;
    out.error = "event no longer exists";
    out.at = clock.now_ms();
    co_return out;
  }
  std::string body = payload(*ev);
  const auto now = clock.now_ms();
  const std::int64_t ts = now / 1000;
  std::size_t keys = ep.signer.size();
  if (keys > 1 && (!ep.row.e.old_secret_until || now >= *ep.row.e.old_secret_until))
    keys = 1;  // the old secret's grace period is over
  auto sig = keys == 0 ? Result<std::string>(make_error(Code::kCrypto, "no usable secret"))
                       : ep.signer.header(event_id, ts, body, keys);
  if (!sig || !ep.target) {
    out.error = !sig ? "signing failed" : "unusable URL";
    out.at = now;
    co_return out;
  }
  std::vector<client::HttpHeader> headers{{"webhook-id", event_id},
                                          {"webhook-timestamp", std::to_string(ts)},
                                          {"webhook-signature", sig.value()}};
  attempts.fetch_add(1, std::memory_order_relaxed);
  // `ev` and `event_id` are not read after this suspension (the caller's
  // queue may change meanwhile).
  auto res = co_await sender.post(*ep.target, std::move(headers), std::move(body));
  out.at = clock.now_ms();
  out.status = res.status;
  out.ok = res.status && *res.status >= 200 && *res.status < 300;
  Counters& n = *ep.counters;
  if (attempts_before > 0) ++n.retries;
  if (out.ok) {
    delivered.fetch_add(1, std::memory_order_relaxed);
    ++n.delivered;
  } else {
    failed.fetch_add(1, std::memory_order_relaxed);
    out.error = res.status ? "HTTP " + std::to_string(*res.status) : res.error;
    if (res.status) {
      ++n.http_error;
    } else if (res.error.starts_with("refused")) {
      ++n.refused;
    } else {
      ++n.network_error;
    }
  }
  co_return out;
}

// base × 2^(attempts-1), capped at max, ±20 % jitter (webhooks/backoff.hpp).
std::int64_t Service::Impl::retry_delay_ms(std::int64_t attempts) {
  std::uniform_real_distribution<double> jitter(kJitterLow, kJitterHigh);
  return backoff_ms(o.retry_base_ms, o.retry_max_ms, attempts, jitter(rng));
}

// The record, every record_ms (at once when a lane waits for it), in one
// transaction of its own (write_alone: not in the API's group commits): per
// endpoint, the rows of its lanes' failed deliveries and of what follows them
// in their lanes, the outcomes of the rows sent, and its delivered-up-to
// cursor — one small UPDATE however many events were delivered. With the
// failure clock: a success clears it; failing for retry_window_s disables the
// endpoint and appends webhook.disabled. One write at a time, so a lane that
// waits for its rows never sees an older write finish after its own.
awaitable<void> Service::Impl::write_outbox() {
  asio::steady_timer turn(wio);
  while (flushing) co_await sleep_on(turn, std::chrono::milliseconds(2));
  flushing = true;
  const std::uint64_t gen = queued_gen;
  struct Group {
    std::shared_ptr<EndpointState> ep;
    std::string id;
    std::vector<Outcome> outcomes;  // rows sent (rows mode), in the order sent
    std::vector<Delivery> inserts;  // new rows, each lane's in sequence order
    struct LaneRows {
      std::size_t lane = 0;
      std::optional<Delivery> head;
      std::deque<events::Event> events;  // given back to the lane if the write fails
    };
    std::vector<LaneRows> lanes;
    std::optional<std::int64_t> cursor;
    bool succeeded = false;
    std::optional<std::int64_t> failed_at;
    std::string failed_error;
    store::EndpointRow after;
    bool found = false, disabled = false;
  };
  auto groups = std::make_shared<std::vector<Group>>();
  auto group_of = [&](const std::shared_ptr<EndpointState>& ep) -> Group& {
    for (auto& g : *groups)
      if (g.ep == ep) return g;
    groups->push_back(Group{});
    groups->back().ep = ep;
    groups->back().id = ep->row.e.id;
    return groups->back();
  };
  for (auto& q : outbox) {
    Group& g = group_of(q.ep);
    for (auto& out : q.outcomes) g.outcomes.push_back(std::move(out));
  }
  outbox.clear();
  for (auto& [id, ep] : endpoints) {
    // A halted endpoint (disabled, or the daemon stopping) writes its cursor
    // but no new rows: those events stay unresolved, below the cursor, and its
    // next install (enable, restart) reads them again from there.
    std::size_t rows = 0;
    if (ep->active)
      for (const auto& l : ep->lanes) rows += l.to_row.size() + (l.head_row ? 1 : 0);
    const std::int64_t cursor_was = ep->row.e.cursor;
    if (rows == 0 && !ep->succeeded && !ep->failed_at && ep->cursor() <= cursor_was) continue;
    Group& g = group_of(ep);
    const auto now = clock.now_ms();
    for (std::size_t k = 0; k < ep->lanes.size() && ep->active; ++k) {
      Lane& l = ep->lanes[k];
      if (l.to_row.empty() && !l.head_row) continue;
      auto& lr = g.lanes.emplace_back();
      lr.lane = k;
      lr.head = std::exchange(l.head_row, std::nullopt);
      lr.events = std::move(l.to_row);
      l.to_row.clear();
      ep->queued -= lr.events.size();
      l.writing = lr.events.size() + (lr.head ? 1 : 0);
      if (lr.head) {
        ep->unresolved.erase(lr.head->event_seq);  // in a row once this commits
        g.inserts.push_back(*lr.head);
      }
      for (const auto& ev : lr.events) {
        ep->unresolved.erase(ev.seq);
        g.inserts.push_back(delivery_for(id, ev, now));
      }
    }
    if (ep->cursor() > cursor_was) g.cursor = ep->cursor();
    g.succeeded = std::exchange(ep->succeeded, false);
    g.failed_at = std::exchange(ep->failed_at, std::nullopt);
    g.failed_error = std::move(ep->failed_error);
  }
  if (groups->empty()) {
    flushing = false;
    written_gen = std::max(written_gen, gen);
    co_return;
  }
  const std::int64_t window_ms = o.retry_window_s * 1000;
  storage::WriteFn write = [groups, window_ms](storage::Conn& c) -> Status {
    for (auto& g : *groups) {
      g.found = false;
      g.disabled = false;
      BOOST_OUTCOME_TRY(found, store::find_endpoint(c, g.id));
      if (!found) continue;  // deleted meanwhile (its deliveries went with it)
      g.found = true;
      g.after = std::move(*found);
      auto& e = g.after.e;
      for (const auto& d : g.inserts) {
        BOOST_OUTCOME_TRY(store::insert_delivery(c, d));
      }
      if (g.cursor) {
        BOOST_OUTCOME_TRY(store::set_cursor(c, g.id, *g.cursor));
      }
      const auto failing_was = e.failing_since;
      if (g.succeeded) e.failing_since.reset();
      std::optional<std::int64_t> last_fail;
      std::string last_error;
      // One cached UPDATE per row: a multi-row UPDATE (each row's status and
      // time through CASE) cost the writer as much per delivery (docs/webhooks.md).
      for (const auto& r : g.outcomes) {
        if (r.ok) {
          BOOST_OUTCOME_TRY(store::mark_delivered(c, r.delivery_id, r.status.value_or(0), r.at));
          e.failing_since.reset();
          last_fail.reset();
          continue;
        }
        BOOST_OUTCOME_TRY(store::mark_failed(c, r.delivery_id, r.status, r.error, r.retry_at));
        if (!e.failing_since) e.failing_since = r.at;
        last_fail = r.at;
        last_error = r.error;
      }
      if (g.failed_at) {
        if (!e.failing_since) e.failing_since = *g.failed_at;
        if (!last_fail || *last_fail < *g.failed_at) {
          last_fail = g.failed_at;
          last_error = g.failed_error;
        }
      }
      if (last_fail && e.failing_since && e.state == "enabled" &&
          *last_fail - *e.failing_since >= window_ms) {
        e.state = "disabled";
        e.disabled_reason =
            "failing since " + format_rfc3339(*e.failing_since) + "; last error: " + last_error;
        nlohmann::json view = {{"id", g.id},
                               {"url", e.url},
                               {"state", "disabled"},
                               {"reason", *e.disabled_reason},
                               {"failing_since", format_rfc3339(*e.failing_since)}};
        BOOST_OUTCOME_TRY(
            events::append(c, {"webhook.disabled", "", g.id, view.dump()}, *last_fail));
        g.disabled = true;
      }
      if (e.failing_since != failing_was || g.disabled) {
        if (last_fail) e.updated_at = *last_fail;
        BOOST_OUTCOME_TRY(store::update_endpoint(c, g.after));
      }
    }
    return ok();
  };
  auto st = co_await db.write_alone(
      std::move(write));  // named: a closure temporary in co_await is destroyed twice by GCC 12
  flushing = false;
  written_gen = std::max(written_gen, gen);
  if (!st) {
    wlog()->warn("recording webhook deliveries failed endpoints={} reason={}", groups->size(),
                 st.error().detail);
    ++reread;  // the lanes send their sent rows again (at least once)
    // The new rows were not written: back to their lanes, ahead of what came
    // since, still unresolved (the cursor stays below them).
    for (auto& g : *groups) {
      for (auto& lr : g.lanes) {
        Lane& l = g.ep->lanes[lr.lane];
        l.writing = 0;
        if (lr.head) {
          g.ep->unresolved.insert(lr.head->event_seq);
          l.head_row = std::move(lr.head);
        }
        for (const auto& ev : lr.events) g.ep->unresolved.insert(ev.seq);
        g.ep->queued += lr.events.size();
        l.to_row.insert(l.to_row.begin(), std::make_move_iterator(lr.events.begin()),
                        std::make_move_iterator(lr.events.end()));
      }
      g.ep->succeeded = g.ep->succeeded || g.succeeded;
      if (g.failed_at && !g.ep->failed_at) {
        g.ep->failed_at = g.failed_at;
        g.ep->failed_error = g.failed_error;
      }
    }
    co_return;
  }
  for (auto& g : *groups) {
    for (const auto& lr : g.lanes) g.ep->lanes[lr.lane].writing = 0;
    if (!g.found) continue;
    if (g.cursor) g.ep->row.e.cursor = std::max(g.ep->row.e.cursor, *g.cursor);
    g.ep->delivered_upto = g.ep->cursor();
    g.ep->row.e.failing_since = g.after.e.failing_since;
    g.ep->row.e.state = g.after.e.state;
    if (g.disabled) {
      g.ep->enabled = false;
      wlog()->warn("webhook endpoint disabled id={} reason=\"{}\"", g.id,
                   *g.after.e.disabled_reason);
      halt(*g.ep);
    } else if (!g.inserts.empty() || !g.outcomes.empty()) {
      wake(*g.ep);  // lanes in rows mode read the new rows, or go back to memory
    }
  }
}

}  // namespace fc::webhooks

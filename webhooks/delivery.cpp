// Delivery: the dispatcher (new events → delivery rows per endpoint) and the
// lanes (delivery rows → signed POSTs, in id order per lane). A lane stops at
// its first failure and waits for that delivery's next attempt, so a
// workspace's events never overtake each other; other lanes and other
// endpoints go on (docs/webhooks.md).
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "webhooks/backoff.hpp"
#include "webhooks/detail/impl.hpp"
#include "webhooks/signature.hpp"

namespace fc::webhooks {

namespace {

constexpr int kPageSize = 64;         // deliveries a lane reads at once
constexpr int kDispatchBatch = 1000;  // events per dispatcher write
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
  return ep;
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
        if (ep->active && ep->row.e.state == "enabled" && ep->row.e.cursor < last.value())
          eps.push_back(ep);
      }
      for (auto& ep : eps) co_await dispatch(ep, last.value());
    }
    if (!running) break;
    co_await sleep_on(dispatch_timer, std::chrono::milliseconds(o.poll_ms));
  }
}

// Delivery rows for the endpoint's new events, its cursor moved in the same
// transaction: an event is queued exactly once per endpoint. A transaction
// of its own (write_alone): up to a thousand rows do not ride in, and
// lengthen, the API's group commits.
awaitable<void> Service::Impl::dispatch(std::shared_ptr<EndpointState> ep, std::int64_t last) {
  const std::string id = ep->row.e.id;
  while (running && ep->active && ep->row.e.cursor < last) {
    events::Query q;
    q.after = ep->row.e.cursor;
    q.limit = kDispatchBatch;
    q.data = false;  // a delivery row needs the event's ids, not its view
    auto page = events::list(*reader, q);
    if (!page || page.value().empty()) co_return;
    const auto now = clock.now_ms();
    auto queue = std::make_shared<std::vector<Delivery>>();
    for (const auto& ev : page.value()) {
      if (matches(ep->row.e.event_types, ev.type)) queue->push_back(delivery_for(id, ev, now));
    }
    const std::int64_t from = ep->row.e.cursor;
    const std::int64_t to = page.value().back().seq;
    // By value: the writer never reads this frame. A named function, not a
    // lambda temporary in the co_await (GCC 12 destroys a capturing
    // closure temporary there twice).
    storage::WriteFn write = [id, from, to, queue](storage::Conn& c) -> Status {
      BOOST_OUTCOME_TRY(moved, store::advance_cursor(c, id, from, to));
      if (!moved) return make_error(Code::kConflict, "cursor moved");
      for (const auto& d : *queue) {
        BOOST_OUTCOME_TRY(store::insert_delivery(c, d));
      }
      return ok();
    };
    auto st = co_await db.write_alone(std::move(write));
    if (!st) {
      wlog()->warn("webhook dispatch failed id={} reason={}", id, st.error().detail);
      // The stored cursor is the truth (an enable or a replay raced it).
      if (auto row = store::find_endpoint(*reader, id); row && row.value())
        ep->row.e.cursor = row.value()->e.cursor;
      co_return;
    }
    ep->row.e.cursor = to;
    if (!queue->empty()) wake(*ep);
  }
}

// A lane sends its pending deliveries in id order. Its cursor `after` skips
// the ones it sent whose outcome is still queued (written every record_ms);
// a failure is written at once and the lane reads from its start again, so
// nothing of the lane overtakes the failed delivery.
awaitable<void> Service::Impl::lane_loop(std::shared_ptr<EndpointState> ep, int lane) {
  detail::Sender sender(o.allow_private, std::chrono::milliseconds(o.timeout_ms));
  asio::steady_timer& timer = *ep->lane_timers[static_cast<std::size_t>(lane)];
  const std::string id = ep->row.e.id;
  std::int64_t after = 0;
  std::uint64_t seen_reread = reread;
  while (running && ep->active) {
    if (seen_reread != reread) {  // an outcome write failed: those rows are pending again
      seen_reread = reread;
      after = 0;
    }
    auto page = store::due(*reader, id, lane, after, kPageSize);
    if (!page || page.value().empty()) {
      co_await sleep_on(timer, kIdleWait);
      continue;
    }
    std::vector<Outcome> outcomes;
    std::int64_t wait_ms = 0;
    for (const auto& d : page.value()) {
      const auto now = clock.now_ms();
      if (d.next_attempt_at > now) {
        wait_ms = d.next_attempt_at - now;
        break;
      }
      Outcome out = co_await attempt(*ep, sender, d);
      if (!out.ok) out.retry_at = out.at + retry_delay_ms(out.attempts);
      after = d.id;
      outcomes.push_back(std::move(out));
      if (!outcomes.back().ok || !running || !ep->active) break;
    }
    if (!outcomes.empty()) {
      const bool failed = !outcomes.back().ok;
      outbox.push_back(Queued{ep, std::move(outcomes)});
      const std::uint64_t mine = ++queued_gen;
      if (failed) {
        // Written before this lane reads again: its retry time and the
        // endpoint's failure clock come from the stored row.
        flush_soon = true;
        flush_timer.cancel();
        while (written_gen < mine && running && ep->active)
          co_await sleep_on(timer, std::chrono::milliseconds(5));
        after = 0;
      }
    }
    if (wait_ms > 0 && running && ep->active) {
      co_await sleep_on(timer, std::chrono::milliseconds(std::min<std::int64_t>(wait_ms, 60'000)));
      after = 0;
    }
  }
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
                                                         const store::Due& d) {
  Outcome out;
  out.delivery_id = d.id;
  out.attempts = d.attempts + 1;
  if (!d.event) {  // never happens while events are kept; do not block the lane
    out.ok = true;
    out.error = "event no longer exists";
    out.at = clock.now_ms();
    co_return out;
  }
  std::string body = payload(*d.event);
  const auto now = clock.now_ms();
  const std::int64_t ts = now / 1000;
  std::size_t keys = ep.signer.size();
  if (keys > 1 && (!ep.row.e.old_secret_until || now >= *ep.row.e.old_secret_until))
    keys = 1;  // the old secret's grace period is over
  auto sig = keys == 0 ? Result<std::string>(make_error(Code::kCrypto, "no usable secret"))
                       : ep.signer.header(d.event_id, ts, body, keys);
  if (!sig || !ep.target) {
    out.error = !sig ? "signing failed" : "unusable URL";
    out.at = now;
    co_return out;
  }
  std::vector<client::HttpHeader> headers{{"webhook-id", d.event_id},
                                          {"webhook-timestamp", std::to_string(ts)},
                                          {"webhook-signature", sig.value()}};
  attempts.fetch_add(1, std::memory_order_relaxed);
  auto res = co_await sender.post(*ep.target, std::move(headers), std::move(body));
  out.at = clock.now_ms();
  out.status = res.status;
  out.ok = res.status && *res.status >= 200 && *res.status < 300;
  Counters& n = *ep.counters;
  if (d.attempts > 0) ++n.retries;
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

// The queued outcomes in one transaction of its own (write_alone: not in the
// API's group commits), with each endpoint's failure clock: a success clears
// it; failing for retry_window_s disables the endpoint and appends
// webhook.disabled. One write at a time, so a lane that waits for its
// outcomes never sees an older write finish after its own.
awaitable<void> Service::Impl::write_outbox() {
  asio::steady_timer turn(wio);
  while (flushing) co_await sleep_on(turn, std::chrono::milliseconds(2));
  if (outbox.empty()) {
    written_gen = queued_gen;
    co_return;
  }
  flushing = true;
  const std::uint64_t gen = queued_gen;
  // Per endpoint, in the order sent; by value into the writer.
  struct Group {
    std::shared_ptr<EndpointState> ep;
    std::string id;
    std::vector<Outcome> outcomes;
    store::EndpointRow after;
    bool found = false, disabled = false;
  };
  auto groups = std::make_shared<std::vector<Group>>();
  for (auto& q : outbox) {
    auto it =
        std::find_if(groups->begin(), groups->end(), [&](const Group& g) { return g.ep == q.ep; });
    if (it == groups->end()) {
      groups->push_back(Group{q.ep, q.ep->row.e.id, {}, {}, false, false});
      it = groups->end() - 1;
    }
    for (auto& out : q.outcomes) it->outcomes.push_back(std::move(out));
  }
  outbox.clear();
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
      // One cached UPDATE per row: a multi-row UPDATE (each row's status and
      // time through CASE) cost the writer as much per delivery (docs/webhooks.md).
      for (const auto& r : g.outcomes) {
        if (r.ok) {
          BOOST_OUTCOME_TRY(store::mark_delivered(c, r.delivery_id, r.status.value_or(0), r.at));
          e.failing_since.reset();
          continue;
        }
        BOOST_OUTCOME_TRY(store::mark_failed(c, r.delivery_id, r.status, r.error, r.retry_at));
        if (!e.failing_since) e.failing_since = r.at;
      }
      const auto& last = g.outcomes.back();
      if (!last.ok && e.state == "enabled" && last.at - *e.failing_since >= window_ms) {
        e.state = "disabled";
        e.disabled_reason =
            "failing since " + format_rfc3339(*e.failing_since) + "; last error: " + last.error;
        nlohmann::json view = {{"id", g.id},
                               {"url", e.url},
                               {"state", "disabled"},
                               {"reason", *e.disabled_reason},
                               {"failing_since", format_rfc3339(*e.failing_since)}};
        BOOST_OUTCOME_TRY(events::append(c, {"webhook.disabled", "", g.id, view.dump()}, last.at));
        g.disabled = true;
      }
      e.updated_at = last.at;
      BOOST_OUTCOME_TRY(store::update_endpoint(c, g.after));
    }
    return ok();
  };
  auto st = co_await db.write_alone(std::move(write));  // named: see dispatch()
  flushing = false;
  written_gen = std::max(written_gen, gen);
  if (!st) {
    wlog()->warn("recording webhook outcomes failed rows={} reason={}", groups->size(),
                 st.error().detail);
    ++reread;  // the lanes send those rows again (at least once)
    co_return;
  }
  for (auto& g : *groups) {
    if (!g.found) continue;
    g.ep->row.e.failing_since = g.after.e.failing_since;
    g.ep->row.e.state = g.after.e.state;
    if (g.disabled) {
      g.ep->enabled = false;
      wlog()->warn("webhook endpoint disabled id={} reason=\"{}\"", g.id,
                   *g.after.e.disabled_reason);
      halt(*g.ep);
    }
  }
}

}  // namespace fc::webhooks

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

void Service::Impl::adopt(store::EndpointRow row) {
  auto ep = std::make_shared<EndpointState>();
  load_secrets(*ep, row);
  const std::string id = row.e.id;
  endpoints[id] = ep;
  if (!running || row.e.state != "enabled" || ep->secrets.empty()) return;
  for (int lane = 0; lane < o.lanes; ++lane) {
    ep->lane_timers.push_back(std::make_unique<asio::steady_timer>(io));
    asio::co_spawn(io, lane_loop(ep, lane), [id, lane](std::exception_ptr e) {
      if (e) wlog()->critical("webhook lane stopped id={} lane={} reason=exception", id, lane);
    });
  }
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
        endpoints.empty() ? Result<std::int64_t>(std::int64_t{0}) : events::last_seq(db.read());
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
// transaction: an event is queued exactly once per endpoint.
awaitable<void> Service::Impl::dispatch(std::shared_ptr<EndpointState> ep, std::int64_t last) {
  const std::string id = ep->row.e.id;
  while (running && ep->active && ep->row.e.cursor < last) {
    events::Query q;
    q.after = ep->row.e.cursor;
    q.limit = kDispatchBatch;
    q.data = false;  // a delivery row needs the event's ids, not its view
    auto page = events::list(db.read(), q);
    if (!page || page.value().empty()) co_return;
    const auto now = clock.now_ms();
    std::vector<Delivery> queue;
    for (const auto& ev : page.value()) {
      if (matches(ep->row.e.event_types, ev.type)) queue.push_back(delivery_for(id, ev, now));
    }
    const std::int64_t from = ep->row.e.cursor;
    const std::int64_t to = page.value().back().seq;
    auto st = co_await db.write([&](storage::Conn& c) -> Status {
      BOOST_OUTCOME_TRY(moved, store::advance_cursor(c, id, from, to));
      if (!moved) return make_error(Code::kConflict, "cursor moved");
      for (const auto& d : queue) {
        BOOST_OUTCOME_TRY(store::insert_delivery(c, d));
      }
      return ok();
    });
    if (!st) {
      wlog()->warn("webhook dispatch failed id={} reason={}", id, st.error().detail);
      co_return;
    }
    ep->row.e.cursor = to;
    if (!queue.empty()) wake(*ep);
  }
}

awaitable<void> Service::Impl::lane_loop(std::shared_ptr<EndpointState> ep, int lane) {
  detail::Sender sender(o.allow_private, std::chrono::milliseconds(o.timeout_ms));
  asio::steady_timer& timer = *ep->lane_timers[static_cast<std::size_t>(lane)];
  const std::string id = ep->row.e.id;
  while (running && ep->active) {
    auto page = store::due(db.read(), id, lane, kPageSize);
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
      outcomes.push_back(out);
      if (!out.ok || !running || !ep->active) break;
    }
    if (!outcomes.empty()) co_await record(ep, std::move(outcomes));
    if (wait_ms > 0 && running && ep->active)
      co_await sleep_on(timer, std::chrono::milliseconds(std::min<std::int64_t>(wait_ms, 60'000)));
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
  ++stats.attempts;
  auto res = co_await sender.post(*ep.target, std::move(headers), std::move(body));
  out.at = clock.now_ms();
  out.status = res.status;
  out.ok = res.status && *res.status >= 200 && *res.status < 300;
  Counters& n = counters[ep.row.e.id];
  if (d.attempts > 0) ++n.retries;
  if (out.ok) {
    ++stats.delivered;
    ++n.delivered;
  } else {
    ++stats.failed;
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

// The outcomes of one lane's round in one transaction, with the endpoint's
// failure clock: a success clears it; failing for retry_window_s disables
// the endpoint and appends webhook.disabled.
awaitable<void> Service::Impl::record(std::shared_ptr<EndpointState> ep,
                                      std::vector<Outcome> outcomes) {
  const std::string id = ep->row.e.id;
  std::vector<std::int64_t> delays;
  for (const auto& o2 : outcomes) delays.push_back(o2.ok ? 0 : retry_delay_ms(o2.attempts));
  bool disabled = false;
  store::EndpointRow after;
  auto st = co_await db.write([&](storage::Conn& c) -> Status {
    disabled = false;
    BOOST_OUTCOME_TRY(found, store::find_endpoint(c, id));
    if (!found) return ok();  // deleted meanwhile (its deliveries went with it)
    after = std::move(*found);
    // One cached UPDATE per row: a multi-row UPDATE (each row's status and
    // time through CASE) cost the writer as much per delivery (docs/webhooks.md).
    for (std::size_t k = 0; k < outcomes.size(); ++k) {
      const auto& r = outcomes[k];
      if (r.ok) {
        BOOST_OUTCOME_TRY(store::mark_delivered(c, r.delivery_id, r.status.value_or(0), r.at));
        after.e.failing_since.reset();
        continue;
      }
      BOOST_OUTCOME_TRY(store::mark_failed(c, r.delivery_id, r.status, r.error, r.at + delays[k]));
      if (!after.e.failing_since) after.e.failing_since = r.at;
    }
    const auto& last = outcomes.back();
    if (!last.ok && after.e.state == "enabled" &&
        last.at - *after.e.failing_since >= o.retry_window_s * 1000) {
      after.e.state = "disabled";
      after.e.disabled_reason =
          "failing since " + format_rfc3339(*after.e.failing_since) + "; last error: " + last.error;
      nlohmann::json view = {{"id", id},
                             {"url", after.e.url},
                             {"state", "disabled"},
                             {"reason", *after.e.disabled_reason},
                             {"failing_since", format_rfc3339(*after.e.failing_since)}};
      BOOST_OUTCOME_TRY(events::append(c, {"webhook.disabled", "", id, view.dump()}, last.at));
      disabled = true;
    }
    after.e.updated_at = last.at;
    return store::update_endpoint(c, after);
  });
  if (!st) {
    wlog()->warn("recording webhook outcomes failed id={} reason={}", id, st.error().detail);
    co_return;
  }
  ep->row.e.failing_since = after.e.failing_since;
  ep->row.e.state = after.e.state;
  if (disabled) {
    wlog()->warn("webhook endpoint disabled id={} reason=\"{}\"", id, *after.e.disabled_reason);
    halt(*ep);
  }
}

}  // namespace fc::webhooks

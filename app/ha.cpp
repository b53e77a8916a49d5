// The leader lease with its fencing token, and the standby that forwards to
// the leader until it takes the lease over (app/ha.hpp, docs/storage.md
// "Several daemons").
#include "app/ha.hpp"

#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "api/server.hpp"
#include "app/app.hpp"
#include "client/async.hpp"
#include "common/asio_net.hpp"
#include "storage/detail/errc.hpp"

namespace fc::app::ha {

namespace {

// Milliseconds since the epoch by the database's clock: every daemon compares
// expiries with the same clock, whatever their own clocks say.
constexpr const char* kNow = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string make_holder_id() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device rd;
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", rd());
  return std::string(host[0] ? host : "host") + "-" + std::to_string(::getpid()) + "-" + suffix;
}

// A holder id is "<host>-<pid>-<random>" (make_holder_id).
struct HolderParts {
  std::string host;
  long pid = 0;
};
std::optional<HolderParts> holder_parts(const std::string& id) {
  const auto r = id.rfind('-');
  if (r == std::string::npos || r == 0) return std::nullopt;
  const auto p = id.rfind('-', r - 1);
  if (p == std::string::npos) return std::nullopt;
  HolderParts out{id.substr(0, p), 0};
  const std::string pid = id.substr(p + 1, r - p - 1);
  if (pid.empty() || pid.size() > 9 || !std::all_of(pid.begin(), pid.end(), ::isdigit))
    return std::nullopt;
  out.pid = std::stol(pid);
  return out;
}

std::string sql(const std::string& a, const std::string& b = "", const std::string& c = "") {
  return a + b + c;
}

}  // namespace

Lease::Lease(const config::Config& cfg)
    : id_(make_holder_id()), url_(cfg.storage_advertise_url), ttl_ms_(cfg.storage_lease_ttl_ms) {
  if (url_.empty())
    url_ =
        std::string(cfg.api_tls_cert_file.empty() ? "http://" : "https://") + cfg.api_listen.str();
}

Result<bool> Lease::try_acquire(storage::Conn& c) {
  // A takeover waits for the old holder's open transaction (FOR SHARE in
  // fence()), but not longer than this: the campaign tries again next round.
  BOOST_OUTCOME_TRY(c.exec("SET lock_timeout = 1000"));
  const std::int64_t mine = epoch_.load();
  if (mine > 0) {
    BOOST_OUTCOME_TRY(renew, c.prepare(sql("UPDATE leases SET expires_at_ms = ", kNow,
                                           " + ?1 WHERE name = ?2 AND holder = ?3 AND epoch = ?4"
                                           " RETURNING epoch")));
    renew.bind_all(ttl_ms_, kLeaseName, id_, mine);
    BOOST_OUTCOME_TRY(kept, renew.step());
    if (kept) return true;
    spdlog::error("leader lease lost holder={} epoch={}", id_, mine);
    epoch_ = 0;
    return false;
  }
  // A live lease of a previous run of this daemon (SIGKILLed and restarted)
  // need not be waited out: taken over at once, with the next epoch as for an
  // expired one, so a write of that run, were it somehow alive, is fenced.
  BOOST_OUTCOME_TRY(held, read(c));
  const std::string stale = held.live && previous_run(held) ? held.id : std::string();
  if (!stale.empty())
    spdlog::warn(
        "leader lease held by a previous run of this daemon holder={} (same host and "
        "address, its process is gone): taking it over now",
        stale);
  // Expired (by the database's clock), or that previous run's: take it over,
  // with the next epoch.
  BOOST_OUTCOME_TRY(
      take, c.prepare(sql("UPDATE leases SET holder = ?1, advertise_url = ?2,"
                          " epoch = epoch + 1, expires_at_ms = ",
                          kNow,
                          " + ?3 WHERE name = ?4 AND (expires_at_ms < " + std::string(kNow) +
                              " OR holder = ?5) RETURNING epoch")));
  take.bind_all(id_, url_, ttl_ms_, kLeaseName, stale);
  BOOST_OUTCOME_TRY(taken, take.step());
  if (taken) {
    epoch_ = take.col_int(0);
    return true;
  }
  BOOST_OUTCOME_TRY(first,
                    c.prepare(sql("INSERT INTO leases (name, holder, advertise_url, epoch,"
                                  " expires_at_ms) VALUES (?4, ?1, ?2, 1, ",
                                  kNow, " + ?3) ON CONFLICT (name) DO NOTHING RETURNING epoch")));
  first.bind_all(id_, url_, ttl_ms_, kLeaseName);
  BOOST_OUTCOME_TRY(created, first.step());
  if (created) epoch_ = first.col_int(0);
  return created;
}

// The holder is an earlier process of this daemon: the same host name, the
// same advertised address, and its pid is not running here (or is this
// process's own: a container restarted in place runs as the same pid). Two
// daemons never share an advertised address (a standby refuses to forward
// to its own), so a live daemon elsewhere is never taken for one.
bool Lease::previous_run(const Holder& h) const {
  if (h.id.empty() || h.id == id_ || h.url != url_) return false;
  const auto theirs = holder_parts(h.id);
  const auto mine = holder_parts(id_);
  if (!theirs || !mine || theirs->host != mine->host) return false;
  if (theirs->pid == ::getpid()) return true;
  return ::kill(static_cast<pid_t>(theirs->pid), 0) != 0 && errno == ESRCH;
}

Result<Holder> Lease::read(storage::Conn& c) {
  BOOST_OUTCOME_TRY(q, c.prepare(sql("SELECT holder, advertise_url, epoch, expires_at_ms > ", kNow,
                                     " FROM leases WHERE name = ?1")));
  q.bind_all(kLeaseName);
  Holder h;
  BOOST_OUTCOME_TRY(row, q.step());
  if (!row) return h;
  h.id = q.col_text(0);
  h.url = q.col_text(1);
  h.epoch = q.col_int(2);
  h.live = q.col_int(3) != 0;
  return h;
}

Status Lease::fence(storage::Conn& c) {
  const std::int64_t mine = epoch_.load();
  if (lost_.load() || mine == 0)
    return make_error(storage::Errc::kUnavailable, "not the leader: the lease was lost");
  // A leader paused inside this transaction (SIGSTOP, a long GC-like stall)
  // keeps the row locked: the server ends its session after the TTL, so the
  // takeover waits at most that long and the paused transaction never commits.
  // The timeout is set by the same statement that reads and locks the row
  // (one round trip per batch, not two).
  BOOST_OUTCOME_TRY(q, c.prepare("SELECT holder, epoch,"
                                 " set_config('idle_in_transaction_session_timeout', ?2, true)"
                                 " FROM leases WHERE name = ?1 FOR SHARE"));
  q.bind_all(kLeaseName, std::to_string(ttl_ms_));
  BOOST_OUTCOME_TRY(row, q.step());
  const bool held = row && q.col_text(0) == id_ && q.col_int(1) == mine;
  if (!held) {
    const std::string now_by = row ? q.col_text(0) + " epoch=" + std::to_string(q.col_int(1)) : "";
    if (!lost_.exchange(true)) {
      spdlog::critical("leader lease lost: another daemon took over holder={} epoch={} now={}", id_,
                       mine, now_by);
      if (on_lost_) on_lost_();
    }
    return make_error(storage::Errc::kUnavailable, "not the leader: the lease was taken over");
  }
  const std::int64_t now = steady_ms();
  if (now - renewed_at_ms_ >= ttl_ms_ / 3) {
    BOOST_OUTCOME_TRY(
        u, c.prepare(sql("UPDATE leases SET expires_at_ms = ", kNow, " + ?1 WHERE name = ?2")));
    u.bind_all(ttl_ms_, kLeaseName);
    BOOST_OUTCOME_TRY(u.run());
    renewed_at_ms_ = now;
  }
  return ok();
}

// ---- The campaign: the lease thread of a standby ----

Campaign::Campaign(const config::Config& cfg, Lease& lease)
    : url_(cfg.storage_postgres_url), lease_(lease) {}

Campaign::~Campaign() { stop(); }

void Campaign::start(std::function<void()> on_leader) {
  thread_ = std::thread([this, on_leader = std::move(on_leader)] { run(on_leader); });
}

void Campaign::run(const std::function<void()>& on_leader) {
  std::unique_ptr<storage::Conn> conn;
  std::int64_t failures = 0;
  // A sixth of the TTL: a standby notices an expired lease within 0.5 s (3 s TTL).
  const auto round = std::chrono::milliseconds(std::max<std::int64_t>(lease_.ttl_ms() / 6, 50));
  for (;;) {
    {
      std::unique_lock lk(mu_);
      if (stopping_) return;
    }
    Status st = ok();
    if (!conn) {
      auto c = storage::Conn::open_postgres(url_);
      if (c)
        conn = std::move(c).value();
      else
        st = c.error();
    }
    if (conn) {
      auto got = lease_.try_acquire(*conn);
      if (got && got.value() && !leading_.exchange(true)) {
        spdlog::info("leader lease taken holder={} epoch={} advertise_url={}", lease_.holder_id(),
                     lease_.epoch(), lease_.advertise_url());
        on_leader();
      } else if (got && !got.value()) {
        auto h = lease_.read(*conn);
        if (h) {
          std::lock_guard lk(mu_);
          if (h.value().url != leader_.url || h.value().epoch != leader_.epoch)
            spdlog::info("standby: leader holder={} epoch={} url={}", h.value().id, h.value().epoch,
                         h.value().url);
          leader_ = h.value();
        } else {
          st = h.error();
        }
      } else if (!got) {
        st = got.error();
      }
    }
    if (!st) {
      if (failures++ % 10 == 0)  // every 10th round: the database may be down for long
        spdlog::warn("leader lease round failed reason={}", st.error().detail);
      std::lock_guard lk(mu_);
      leader_.live = false;
    } else {
      failures = 0;
    }
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, round, [&] { return stopping_; });
  }
}

Holder Campaign::leader() const {
  std::lock_guard lk(mu_);
  return leader_;
}

void Campaign::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// ---- The standby's API: forwards to the leader ----

namespace {

const std::set<std::string>& hop_by_hop() {
  // RFC 9110 §7.6.1, plus what the transport or our server sets itself.
  static const std::set<std::string> h = {
      "connection", "keep-alive", "proxy-connection", "te",     "trailer",      "transfer-encoding",
      "upgrade",    "host",       "content-length",   "server", "x-request-id", "content-type"};
  return h;
}

// Set on every forwarded request (the forwarding daemon's holder id).
constexpr const char* kForwardedHeader = "X-Fleetcommand-Forwarded-By";
constexpr const char* kForwardedHeaderLower = "x-fleetcommand-forwarded-by";

api::Response no_leader(const std::string& why) {
  auto r = api::problem(503, "no-leader", "Service Unavailable",
                        "no leader daemon is reachable right now; retry");
  r.headers.emplace_back("Retry-After", "1");
  spdlog::warn("standby cannot forward reason=\"{}\"", why);
  return r;
}

// An io_context whose pending handlers (forwarded requests still waiting on
// the leader) can be destroyed while what they point to still exists.
struct IoContext : asio::io_context {
  using asio::io_context::io_context;
  using asio::io_context::shutdown;
};

struct Standby {
  Standby(const config::Config& c, Lease& l, Campaign& k) : cfg(c), lease(l), campaign(k) {}
  ~Standby() { io.shutdown(); }
  const config::Config& cfg;
  Lease& lease;
  Campaign& campaign;
  IoContext io{1};
  std::unique_ptr<client::HttpTransport> transport;
  api::Router router;
  api::Router acme_router;
  std::unique_ptr<api::HttpServer> server;
  std::unique_ptr<api::HttpServer> acme;

  // acme: to the leader's HTTP-01 responder, at the advertised host and this
  // daemon's acme_http port (every replica runs the same configuration).
  awaitable<api::Response> forward(api::Request& r, bool acme);
};

awaitable<api::Response> Standby::forward(api::Request& r, bool to_acme) {
  const Holder h = campaign.leader();
  if (!h.live || h.url.empty()) co_return no_leader("no live lease");
  if (h.id == lease.holder_id()) co_return no_leader("this daemon is taking over");
  // The lease still names this daemon's own address under another holder: a
  // previous run of this daemon (killed, restarted on the same port) whose
  // lease has not expired yet. Forwarding would send the request to itself.
  if (h.url == lease.advertise_url())
    co_return no_leader("the lease names this daemon's own address: a previous run of it");
  // A request another standby forwarded: standbys never forward to one
  // another, so a loop (two daemons advertising one address) ends here.
  if (!r.header(kForwardedHeaderLower).empty())
    co_return no_leader("a forwarded request reached a standby: check storage.ha.advertise_url");
  auto url = client::parse_url(h.url);
  if (!url) co_return no_leader("advertise_url of " + h.id + ": " + url.error().detail);
  if (to_acme) {
    url.value().tls = false;
    url.value().port = std::to_string(cfg.acme_http_listen.port);
    url.value().base_path.clear();
  }
  client::HttpRequest out;
  out.method = r.method;
  out.target = r.target.empty() ? r.path : r.target;
  out.body = r.body;
  for (const auto& [k, v] : r.headers)
    if (!hop_by_hop().count(k)) out.headers.push_back({k, v});
  const std::string ctype = r.header("content-type");
  if (!ctype.empty()) out.headers.push_back({"Content-Type", ctype});
  out.headers.push_back({"X-Request-Id", r.request_id});
  out.headers.push_back({"X-Forwarded-For", r.remote.substr(0, r.remote.rfind(':'))});
  out.headers.push_back({kForwardedHeader, lease.holder_id()});
  // A long-poll waits up to 60 s on the leader (GET /v1/agent/assignments?wait=).
  auto reply = co_await transport->send(url.value(), std::move(out), std::chrono::seconds(75));
  if (!reply) co_return no_leader("leader " + h.url + ": " + reply.error().detail);
  api::Response resp;
  resp.status = static_cast<int>(reply.value().status);
  resp.content_type = reply.value().header("content-type");
  resp.body = std::move(reply.value().body);
  for (auto& hd : reply.value().headers) {
    std::string lower = hd.name;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!hop_by_hop().count(lower)) resp.headers.emplace_back(hd.name, hd.value);
  }
  resp.headers.emplace_back("Via", "1.1 fleetcommand-standby");
  co_return resp;
}

}  // namespace

int run_standby(const config::Config& cfg, Lease& lease, Campaign& campaign) {
  Standby s(cfg, lease, campaign);
  client::TransportOptions to;
  to.user_agent = "fleetcommand-standby";
  to.keep_alive = true;
  if (!cfg.api_tls_cert_file.empty()) {  // the daemons' own certificate, besides the system's
    to.ca_file = cfg.api_tls_cert_file;
    to.ca_file_adds_to_system = true;
    to.ca_option = "api.tls.cert_file";
  }
  auto transport = client::HttpTransport::create(to);
  if (!transport) {
    spdlog::critical("standby: http client not created reason={}", transport.error().detail);
    return kExitFailure;
  }
  s.transport = std::move(transport).value();
  s.router.add("GET", "/healthz", api::Scope::kPublic,
               [](api::Request&) -> awaitable<api::Response> {
                 co_return api::json_response(200, {{"status", "ok"}, {"role", "standby"}});
               });
  s.router.add("GET", "/readyz", api::Scope::kPublic,
               [&s](api::Request&) -> awaitable<api::Response> {
                 const Holder h = s.campaign.leader();
                 if (!h.live)
                   co_return api::problem(503, "not-ready", "Service Unavailable",
                                          "standby: no leader known");
                 // Its own lease (taken, the leader starting in this process)
                 // or a previous run's at its own address: forward() answers
                 // 503 to everything until the leader serves, so not ready.
                 if (h.id == s.lease.holder_id() || h.url == s.lease.advertise_url())
                   co_return api::problem(503, "not-ready", "Service Unavailable",
                                          "standby: this daemon is taking over the lease");
                 co_return api::json_response(
                     200, {{"status", "ready"}, {"role", "standby"}, {"leader", h.url}});
               });
  s.router.set_fallback([&s](api::Request& r) { return s.forward(r, false); });
  s.acme_router.set_fallback([&s](api::Request& r) { return s.forward(r, true); });
  auto observe = [](const api::Request& req, const api::Response& resp,
                    std::chrono::nanoseconds d) {
    spdlog::debug("standby forwarded method={} path={} status={} ms={}", req.method, req.path,
                  resp.status, d.count() / 1000000);
  };
  s.server =
      std::make_unique<api::HttpServer>(s.io, s.router, api::api_listener_options(cfg), observe);
  if (auto st = s.server->listen(); !st) {
    spdlog::critical("api not listening reason={}", st.error().detail);
    return kExitFailure;
  }
  s.acme = std::make_unique<api::HttpServer>(s.io, s.acme_router, api::acme_listener_options(cfg),
                                             observe);
  if (auto st = s.acme->listen(); !st) {
    spdlog::critical("acme_http not listening reason={}", st.error().detail);
    return kExitFailure;
  }
  s.server->start();
  s.acme->start();
  int code = -1;
  asio::signal_set signals(s.io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal received signal={} role=standby", sig);
    code = kExitOk;
    s.io.stop();
  });
  asio::signal_set hup(s.io, SIGHUP);  // nothing to reload while standing by
  hup.async_wait([](const boost::system::error_code&, int) {});
  spdlog::info("standby: serving api={} holder={}, forwarding to the leader", cfg.api_listen.str(),
               lease.holder_id());
  campaign.start([&s] { s.io.stop(); });
  s.io.run();
  for (auto* srv : {s.server.get(), s.acme.get()}) {
    srv->stop_accepting();
    srv->close_idle();
  }
  if (code >= 0) {
    campaign.stop();
    return code;
  }
  spdlog::info("standby: promoted, starting as the leader holder={} epoch={}", lease.holder_id(),
               lease.epoch());
  return -1;
}

}  // namespace fc::app::ha

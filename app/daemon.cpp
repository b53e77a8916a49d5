// `fleetcommand serve` and the offline subcommands: wiring, signals and
// graceful shutdown.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "api/server.hpp"
#include "app/app.hpp"
#include "app/backend.hpp"
#include "app/backup.hpp"
#include "app/ha.hpp"
#include "app/systemd.hpp"
#include "certs/service.hpp"
#include "common/asio_net.hpp"
#include "common/clock.hpp"
#include "common/ids.hpp"
#include "dns/publisher.hpp"
#include "domains/service.hpp"
#include "probes/service.hpp"
#include "releases/service.hpp"
#include "scheduler/service.hpp"
#include "storage/db.hpp"
#include "storage/jobs.hpp"
#include "tenants/service.hpp"
#include "webhooks/service.hpp"

namespace fc::app {

std::optional<config::Config> load_config_or_report(const std::optional<std::string>& file) {
  auto cfg = config::load(file, config::process_env());
  if (!cfg) {
    std::fprintf(stderr, "fleetcommand: configuration error: %s\n", cfg.error().detail.c_str());
    return std::nullopt;
  }
  return std::move(cfg).value();
}

bool ensure_parent_dir(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return true;
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) spdlog::error("cannot create directory path={} reason={}", parent.string(), ec.message());
  return !ec;
}

namespace {

// Writes the secret to a new 0600 file (the token alone and a newline).
bool write_secret_file(const std::string& path, const std::string& secret) {
  if (!ensure_parent_dir(path)) return false;
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  std::string line = secret + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = ok && ::fchmod(fd, 0600) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  return ok && std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

bool on_postgres(const config::Config& cfg) { return cfg.storage_backend == "postgres"; }

Result<std::unique_ptr<storage::Conn>> open_conn(const config::Config& cfg,
                                                 storage::OpenMode mode) {
  if (on_postgres(cfg)) return storage::Conn::open_postgres(cfg.storage_postgres_url);
  return storage::Conn::open(cfg.database_path, mode);
}

storage::Database::Options database_options(const config::Config& cfg) {
  storage::Database::Options o;
  o.path = cfg.database_path;
  if (on_postgres(cfg)) o.postgres_url = cfg.storage_postgres_url;
  return o;
}

namespace {

// Opens the database and applies pending migrations.
bool prepare_database(const config::Config& cfg, const Clock& clock) {
  if (!ensure_parent_dir(cfg.database_path)) return false;
  auto conn = open_conn(cfg, storage::OpenMode::kReadWrite);
  if (!conn) {
    spdlog::critical("database not opened backend={} reason={}", cfg.storage_backend,
                     conn.error().detail);
    return false;
  }
  auto applied = storage::migrate(*conn.value(), clock.now_ms());
  if (!applied) {
    spdlog::critical("migrations failed database={} reason={}", conn.value()->path(),
                     applied.error().detail);
    return false;
  }
  for (const auto& m : applied.value()) spdlog::info("migration applied name={}", m.name);
  return true;
}

// An io_context whose services (and so every pending handler and suspended
// coroutine frame) can be shut down before the daemon's own services go away.
struct IoContext : asio::io_context {
  using asio::io_context::io_context;
  using asio::io_context::shutdown;
};

struct Daemon {
  const config::Config& cfg;
  std::optional<std::string> config_file;  // re-read on SIGHUP
  config::Config live;                     // what the last (re)load applied
  SystemClock clock;
  IoContext io{1};
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<scheduler::Service> sched;
  std::unique_ptr<api::Service> api;
  std::unique_ptr<dns::Publisher> dns;
  std::unique_ptr<storage::JobRunner> jobs;  // the one shared durable job runner
  std::unique_ptr<certs::Service> certs;
  std::unique_ptr<domains::Service> domains;    // custom domains
  std::unique_ptr<PeriodicBackup> backup;       // backup.interval_s > 0
  std::unique_ptr<probes::Service> probes;      // live checks
  std::unique_ptr<tenants::Service> tenants;    // tenants, plans, usage metering
  std::unique_ptr<releases::Service> releases;  // releases and rollouts
  std::unique_ptr<webhooks::Service> webhooks;  // signed delivery of lifecycle events
  ha::Lease* lease = nullptr;                   // PostgreSQL: this daemon leads under it
  asio::steady_timer ticker{io};
  asio::steady_timer watchdog_timer{io};
  bool stopping = false;
  int exit_code = kExitOk;

  Daemon(const config::Config& c, std::optional<std::string> file)
      : cfg(c), config_file(std::move(file)), live(c) {}
  // Members are destroyed after this body, the io_context last of them: shut
  // it down first, so coroutine frames suspended at exit (an order waiting on
  // the CA, a verifier on DNS) are destroyed while the services they point to
  // still exist, not after (a use-after-free seen once as exit -11).
  ~Daemon() { io.shutdown(); }
  awaitable<void> startup();
  awaitable<void> shutdown();
  awaitable<void> chores();
  awaitable<void> watchdog();
  void reload();
  bool apply_live(const std::string& key, const config::Config& next);
};

awaitable<void> Daemon::startup() {
  if (!api->has_tokens()) {
    auto token = co_await api->bootstrap_admin();
    if (!token) {
      spdlog::critical("cannot create the first admin token reason={}", token.error().detail);
      exit_code = kExitFailure;
      io.stop();
      co_return;
    }
    if (!token.value().empty()) {
      if (!write_secret_file(cfg.admin_token_file, token.value())) {
        spdlog::critical("cannot write the first admin token path={}", cfg.admin_token_file);
        exit_code = kExitFailure;
        io.stop();
        co_return;
      }
      spdlog::info("first admin token written path={} mode=0600", cfg.admin_token_file);
    }
  }
  api->start();
  if (jobs) jobs->start();
  if (backup) backup->start();
  api->set_ready(true);
  spdlog::info("ready backend={} database={} dns={} zone={}", cfg.storage_backend,
               db->read().path(), cfg.dns_listen.str(), cfg.dns_zone);
  systemd::ready("serving api=" + cfg.api_listen.str() + " dns=" + cfg.dns_listen.str());
}

// WATCHDOG=1 at half the unit's WatchdogSec, from the I/O thread: a loop that
// stops turning stops the pings, and the service manager restarts the daemon.
awaitable<void> Daemon::watchdog() {
  const auto interval = systemd::watchdog_interval() / 2;
  if (interval.count() == 0) co_return;
  spdlog::info("watchdog enabled interval_ms={}", interval.count() / 1000);
  while (!stopping) {
    systemd::watchdog();
    watchdog_timer.expires_after(interval);
    boost::system::error_code ec;
    co_await watchdog_timer.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

// One changed key applied to the running daemon: the log level, the API rate
// limit, the domain verifier's and the live checks' pacing; false = needs a
// restart (the caller logs "needs a restart key=…").
bool Daemon::apply_live(const std::string& key, const config::Config& next) {
  if (key == "log.level") {
    spdlog::set_level(spdlog::level::from_str(next.log_level));
    spdlog::default_logger()->set_level(spdlog::level::from_str(next.log_level));
    return true;
  }
  if (key == "api.rate_limit.requests_per_second") {
    api->set_rate_limit(next.api_rate_limit_rps);
    return true;
  }
  static const std::set<std::string> kProbePacing = {"probes.interval_s", "probes.rate_per_s",
                                                     "probes.per_region_concurrency"};
  if (kProbePacing.count(key) && probes) {
    live.probes_interval_s = next.probes_interval_s;
    live.probes_rate_per_s = next.probes_rate_per_s;
    live.probes_per_region_concurrency = next.probes_per_region_concurrency;
    probes->set_pacing(
        {live.probes_interval_s, live.probes_rate_per_s, live.probes_per_region_concurrency});
    return true;
  }
  static const std::set<std::string> kPacing = {
      "domains.recheck_interval_s", "domains.verify_base_s", "domains.max_concurrent_checks",
      "domains.queries_per_second"};
  if (!kPacing.count(key) || !domains) return false;
  live.domains_recheck_interval_s = next.domains_recheck_interval_s;
  live.domains_verify_base_s = next.domains_verify_base_s;
  live.domains_max_concurrent_checks = next.domains_max_concurrent_checks;
  live.domains_queries_per_second = next.domains_queries_per_second;
  domains->set_pacing({live.domains_recheck_interval_s, live.domains_verify_base_s,
                       static_cast<int>(live.domains_max_concurrent_checks),
                       static_cast<double>(live.domains_queries_per_second)});
  return true;
}

// SIGHUP: re-reads the configuration (file and environment) and applies what
// can change while running; every other changed key is named as needing a
// restart, and a configuration that does not load changes nothing.
void Daemon::reload() {
  systemd::reloading();
  auto next = config::load(config_file, config::process_env());
  if (!next) {
    spdlog::error("reload failed, configuration unchanged reason={}", next.error().detail);
    systemd::ready("reload failed: configuration unchanged");
    return;
  }
  live.log_level = next.value().log_level;
  live.api_rate_limit_rps = next.value().api_rate_limit_rps;
  int applied = 0;
  for (const auto& key : config::changed_keys(live, next.value())) {
    if (!apply_live(key, next.value())) {
      spdlog::warn("setting changed but needs a restart key={}", key);
      continue;
    }
    spdlog::info("setting reloaded key={}", key);
    // Only applied keys move into `live`: the others stay different, so every
    // later reload names them again until the restart.
    std::string pointer = "/" + key;
    std::replace(pointer.begin(), pointer.end(), '.', '/');
    const nlohmann::json::json_pointer at(pointer);
    live.effective[at] = next.value().effective[at];
    ++applied;
  }
  spdlog::info("configuration reloaded applied={}", applied);
  systemd::ready("serving; configuration reloaded");
}

awaitable<void> Daemon::chores() {
  while (!stopping) {
    ticker.expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await ticker.async_wait(asio::redirect_error(use_awaitable, ec));
    co_await api->tick();
    co_await sched->tick();
    if (domains) co_await domains->tick();
    if (tenants) co_await tenants->tick();
    if (certs) co_await certs->tick();
  }
}

awaitable<void> Daemon::shutdown() {
  if (stopping) co_return;
  stopping = true;
  systemd::stopping();
  watchdog_timer.cancel();
  spdlog::info("shutting down phase=drain active_requests={}", api->active_requests());
  api->begin_shutdown();
  dns->stop();
  if (jobs) jobs->stop();
  if (domains) domains->stop();
  if (probes) probes->stop();
  if (releases) releases->stop();
  if (webhooks) webhooks->stop();
  ticker.cancel();
  asio::steady_timer t(io);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  while (api->active_requests() > 0 && std::chrono::steady_clock::now() < deadline) {
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(use_awaitable);
  }
  co_await api->tick();
  io.stop();
}

// The certificate of *.<zone>, by DNS-01 through the embedded server.
awaitable<void> ensure_wildcard(Daemon& d) {
  std::vector<std::string> names;
  names.push_back("*." + d.cfg.dns_zone);
  auto id = co_await d.certs->ensure(std::move(names), "", certs::ChallengePref::kDns01, "");
  if (!id) {
    spdlog::error("platform wildcard certificate failed zone={} reason={}", d.cfg.dns_zone,
                  id.error().detail);
    co_return;
  }
  spdlog::info("platform wildcard certificate id={} zone={}", id.value(), d.cfg.dns_zone);
}

std::unique_ptr<scheduler::Service> make_scheduler(Daemon& d) {
  scheduler::Service::Options so;
  so.policy = scheduler::parse_policy(d.cfg.scheduler_policy).value_or(scheduler::Policy::kSpread);
  so.heartbeat_timeout_s = d.cfg.heartbeat_timeout_s;
  so.changelog_retention = d.cfg.changelog_retention;
  so.changelog_retention_s = d.cfg.changelog_retention_s;
  so.zone = d.cfg.dns_zone;
  return std::make_unique<scheduler::Service>(d.io, *d.db, d.clock, so);
}

std::unique_ptr<certs::Service> make_certs(Daemon& d) {
  certs::ServiceOptions co;
  co.issuers = d.cfg.certs_issuers;
  co.kek_file = d.cfg.certs_kek_file;
  co.zone = d.cfg.dns_zone;
  co.platform_wildcard = d.cfg.certs_platform_wildcard;
  co.dns_providers = d.cfg.dns_providers;
  co.max_orders_in_flight = static_cast<int>(d.cfg.certs_max_orders_in_flight);
  co.expiring_days = d.cfg.events_certificate_expiring_days;
  return std::make_unique<certs::Service>(d.io, *d.db, d.clock, co);
}

// Certificates: KEK check (a wrong key stops the start), job handlers, the
// embedded DNS for DNS-01, and the platform wildcard when configured.
Status wire_certs(Daemon& d) {
  BOOST_OUTCOME_TRY(d.certs->init(*d.jobs));
  d.certs->set_zone(d.dns.get());
  if (d.cfg.certs_platform_wildcard) asio::co_spawn(d.io, ensure_wildcard(d), asio::detached);
  return ok();
}

std::unique_ptr<domains::Service> make_domains(Daemon& d) {
  domains::Options o;
  o.zone = d.cfg.dns_zone;
  for (const auto& s : d.cfg.resolver_servers) o.resolvers.push_back(s.str());
  o.recheck_interval_s = d.cfg.domains_recheck_interval_s;
  o.max_per_workspace = d.cfg.domains_max_per_workspace;
  o.moved_grace_s = d.cfg.domains_moved_grace_s;
  o.reservation_s = d.cfg.domains_reservation_s;
  o.verify_base_s = d.cfg.domains_verify_base_s;
  o.queries_per_second = static_cast<double>(d.cfg.domains_queries_per_second);
  o.max_concurrent_checks = static_cast<int>(d.cfg.domains_max_concurrent_checks);
  // CAA is checked against the first ACME issuer's identities (the one orders go to).
  for (const auto& is : d.cfg.certs_issuers) {
    if (!is.is_object() || is.value("type", "") != "acme") continue;
    if (is.contains("caa_identities"))
      for (const auto& id : is["caa_identities"]) o.caa_identities.push_back(id.get<std::string>());
    break;
  }
  // A plan's max_custom_domains (docs/tenants.md), read in the claim's transaction.
  o.workspace_limit = [t = d.tenants.get()](storage::Conn& c, const std::string& ws) {
    return t->domain_limit(c, ws);
  };
  return std::make_unique<domains::Service>(d.io, *d.db, d.clock, *d.sched, o);
}

// Custom domains: the certificate service behind them (and they behind its
// issued versions), what they add to assignments, then the verifier loop.
void wire_domains(Daemon& d) {
  d.domains->set_certs(d.certs.get());
  d.sched->set_assignment_extras(d.domains.get());
  d.domains->start();
}

// Webhook secrets are sealed by certs' key-encryption key (loaded by
// wire_certs before the first seal/open: start() runs after it).
std::unique_ptr<webhooks::Service> make_webhooks(Daemon& d) {
  webhooks::Options o;
  o.allow_private = d.cfg.webhooks_allow_private;
  o.timeout_ms = d.cfg.webhooks_timeout_ms;
  o.retry_base_ms = d.cfg.webhooks_retry_base_ms;
  o.retry_max_ms = d.cfg.webhooks_retry_max_ms;
  o.retry_window_s = d.cfg.webhooks_retry_window_s;
  o.lanes = static_cast<int>(d.cfg.webhooks_lanes_per_endpoint);
  o.rotation_grace_s = d.cfg.webhooks_rotation_grace_s;
  o.priority = webhooks::parse_priority(d.cfg.webhooks_priority).value_or(webhooks::Priority::kLow);
  o.record_ms = d.cfg.webhooks_record_ms;
  o.retention_s = d.cfg.events_retention_s;
  o.open_reader = [&d] { return open_conn(d.cfg, storage::OpenMode::kReadOnly); };
  webhooks::Sealer s;
  s.seal = [&d](std::string_view plain) { return d.certs->seal_secret(plain); };
  s.open = [&d](const std::string& sealed) { return d.certs->open_secret(sealed); };
  return std::make_unique<webhooks::Service>(d.io, *d.db, d.clock, o, std::move(s));
}

std::unique_ptr<probes::Service> make_probes(Daemon& d) {
  probes::Options o;
  o.enabled = d.cfg.probes_enabled;
  o.interval_s = d.cfg.probes_interval_s;
  o.rate_per_s = d.cfg.probes_rate_per_s;
  o.per_region_concurrency = d.cfg.probes_per_region_concurrency;
  o.timeout_ms = d.cfg.probes_timeout_ms;
  o.https_port = static_cast<std::uint16_t>(d.cfg.probes_https_port);
  o.path = d.cfg.probes_path;
  o.ca_bundle = d.cfg.probes_ca_bundle;
  for (const auto& s : d.cfg.resolver_servers) o.resolvers.push_back(s.str());
  o.zone = d.cfg.dns_zone;
  return std::make_unique<probes::Service>(d.io, *d.db, d.clock, o);
}

// The database, the scheduler and the services the API serves.
bool open_services(Daemon& d) {
  auto opts = database_options(d.cfg);
  if (d.lease != nullptr) {  // every write transaction checks the fencing token first
    opts.fence = [l = d.lease](storage::Conn& c) { return l->fence(c); };
    // Renewed once a third of the TTL has passed, checked every sixth: every
    // 1 to 1.5 s with a 3 s TTL, so the lease never gets within 1.5 s of expiring.
    opts.fence_idle = std::chrono::milliseconds(std::max<std::int64_t>(d.lease->ttl_ms() / 6, 50));
  }
  auto db = storage::Database::open(opts);
  if (!db) {
    spdlog::critical("database not opened reason={}", db.error().detail);
    return false;
  }
  d.db = std::move(db).value();
  d.sched = make_scheduler(d);
  if (auto st = d.sched->load(); !st) {
    spdlog::critical("cannot load the scheduler state reason={}", st.error().detail);
    return false;
  }
  d.api = std::make_unique<api::Service>(d.io, d.cfg, *d.db, d.clock, *d.sched);
  d.tenants = std::make_unique<tenants::Service>(*d.db, d.clock, *d.sched,
                                                 tenants::parse_plans(d.cfg.plans));
  d.sched->add_scope_listener(d.tenants->scope_listener());
  d.api->set_tenants(d.tenants.get());
  d.certs = make_certs(d);
  d.api->set_certs(d.certs.get());
  d.domains = make_domains(d);
  d.api->set_domains(d.domains.get());
  d.tenants->set_domains_in_use(&domains::Service::in_use);
  d.backup = std::make_unique<PeriodicBackup>(d.cfg);
  d.api->set_extra_metrics([b = d.backup.get()] { return b->metrics_text(); });
  d.probes = make_probes(d);
  d.api->set_probes(d.probes.get());
  d.releases = std::make_unique<releases::Service>(d.io, *d.db, *d.sched, d.clock);
  d.api->set_releases(d.releases.get());
  d.webhooks = make_webhooks(d);
  d.api->set_webhooks(d.webhooks.get());
  if (auto st = d.api->init(); !st) {
    spdlog::critical("startup failed reason={}", st.error().detail);
    return false;
  }
  if (auto st = d.api->listen(); !st) {
    spdlog::critical("api not listening reason={}", st.error().detail);
    return false;
  }
  return true;
}

// The shared job runner and the DNS publisher, told by the scheduler.
bool start_dns(Daemon& d) {
  storage::JobRunner::Options jo;
  if (d.cfg.jobs_concurrency > 0) jo.concurrency = static_cast<int>(d.cfg.jobs_concurrency);
  d.jobs = std::make_unique<storage::JobRunner>(d.io, *d.db, d.clock, jo);
  d.dns = std::make_unique<dns::Publisher>(d.io, d.cfg, *d.db, d.clock);
  d.dns->attach_jobs(*d.jobs);
  d.api->set_dns(&d.dns->server());
  if (auto st = d.dns->start(); !st) {
    spdlog::critical("dns not started reason={}", st.error().detail);
    return false;
  }
  d.sched->set_zone_notifier(d.dns.get());
  return true;
}

// SIGHUP reloads, again and again, until shutdown cancels the wait.
void arm_reload(Daemon& d, asio::signal_set& hup) {
  hup.async_wait([&d, &hup](const boost::system::error_code& ec, int) {
    if (ec || d.stopping) return;
    spdlog::info("signal received signal=SIGHUP action=reload");
    d.reload();
    arm_reload(d, hup);
  });
}

}  // namespace

int serve(const config::Config& cfg, const std::optional<std::string>& config_file) {
  std::string why;
  auto lock = StateLock::try_acquire(cfg.database_path, why);
  if (!lock) {
    spdlog::critical("state directory in use reason={}", why);
    return kExitFailure;
  }
  // Declared before the daemon: its writer thread runs the lease's fence
  // until the daemon's database is closed.
  std::optional<ha::Lease> lease;
  Daemon d(cfg, config_file);
  if (!prepare_database(cfg, d.clock)) return kExitFailure;
  // Several daemons on one PostgreSQL: stand by (forwarding to the leader)
  // until this one holds the lease, then start as a single daemon starts.
  if (on_postgres(cfg)) {
    lease.emplace(cfg);
    ha::Campaign campaign(cfg, *lease);
    if (int rc = ha::run_standby(cfg, *lease, campaign); rc >= 0) return rc;
    campaign.stop();  // from here on the writer's fence renews the lease
    d.lease = &*lease;
    lease->set_on_lost([&d] {
      asio::post(d.io, [&d] {
        d.exit_code = kExitFailure;  // restarted by its supervisor, it stands by
        asio::co_spawn(d.io, d.shutdown(), asio::detached);
      });
    });
  }
  if (!open_services(d) || !start_dns(d)) return kExitFailure;
  if (auto st = wire_certs(d); !st) {
    spdlog::critical("certificates not started reason={}", st.error().detail);
    return kExitFailure;
  }
  wire_domains(d);
  // After certs: the internal root is one of the probes' trust anchors.
  if (auto st = d.probes->init(); !st) {
    spdlog::critical("live checks not started reason={}", st.error().detail);
    return kExitFailure;
  }
  d.probes->start();
  d.releases->start();  // the rollout reconciler resumes every active rollout
  d.webhooks->start();
  asio::signal_set signals(d.io, SIGINT, SIGTERM);
  signals.async_wait([&d](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal received signal={}", sig);
    asio::co_spawn(d.io, d.shutdown(), asio::detached);
  });
  asio::signal_set hup(d.io, SIGHUP);
  arm_reload(d, hup);
  asio::co_spawn(d.io, d.startup(), asio::detached);
  asio::co_spawn(d.io, d.chores(), asio::detached);
  asio::co_spawn(d.io, d.watchdog(), asio::detached);
  d.io.run();
  if (d.backup) d.backup->stop();
  d.db->close();
  spdlog::info("stopped cleanly");
  return d.exit_code;
}

int fsck_cmd(const config::Config& cfg) {
  auto conn = open_conn(cfg, storage::OpenMode::kReadOnly);
  if (!conn) {
    std::fprintf(stderr, "fsck: %s\n", conn.error().detail.c_str());
    return kExitFailure;
  }
  auto pending = storage::pending_migrations(*conn.value());
  if (!pending) {
    std::fprintf(stderr, "fsck: %s\n", pending.error().detail.c_str());
    return kExitFailure;
  }
  // One snapshot for every table it compares (PostgreSQL: REPEATABLE READ).
  storage::Tx snapshot(*conn.value(), false);
  if (!snapshot.begin_status()) {
    std::fprintf(stderr, "fsck: %s\n", snapshot.begin_status().error().detail.c_str());
    return kExitFailure;
  }
  auto problems = scheduler::Service::fsck(*conn.value());
  if (!problems) {
    std::fprintf(stderr, "fsck: %s\n", problems.error().detail.c_str());
    return kExitFailure;
  }
  for (const auto& p : problems.value()) std::printf("%s\n", p.c_str());
  std::printf("fsck: %zu problem(s)\n", problems.value().size());
  return problems.value().empty() ? kExitOk : kExitFailure;
}

int migrate_cmd(const config::Config& cfg) {
  SystemClock clock;
  return prepare_database(cfg, clock) ? kExitOk : kExitFailure;
}

int token_create_admin(const config::Config& cfg) {
  SystemClock clock;
  if (!prepare_database(cfg, clock)) return kExitFailure;
  auto db = storage::Database::open(database_options(cfg));
  if (!db) {
    spdlog::critical("database not opened reason={}", db.error().detail);
    return kExitFailure;
  }
  IdGenerator ids;
  std::string token;
  auto st = db.value()->write_sync([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(t, api::mint_admin_token(c, clock.now_ms(), ids));
    token = std::move(t);
    return ok();
  });
  if (!st) {
    spdlog::critical("cannot create token reason={}", st.error().detail);
    return kExitFailure;
  }
  std::printf("%s\n", token.c_str());
  return kExitOk;
}

}  // namespace fc::app

#include "agent/detail/loop.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>

namespace fc::agent {
namespace {

using namespace std::chrono_literals;

constexpr const char* kVersion = "0.1.0";
constexpr auto kHeartbeatEvery = 5s;  // DESIGN.md: at least every 10 s
constexpr auto kRequestTimeout = 10s;
constexpr auto kPollMargin = 10s;  // long-poll timeout = wait + margin
constexpr auto kBackoffFirst = 250ms;
constexpr auto kBackoffCap = 5s;  // DESIGN.md: lost control plane, capped at 5 s
constexpr auto kAuthBackoffFirst = 2s;
constexpr auto kAuthBackoffCap = 30s;  // rejected token: don't spin
constexpr std::size_t kReportChunk = 500;
// The status List: about 3 kB per Deployment+Pod as the API server prints
// them, so 10,000 workspaces are ~30 MB; generous for larger objects.
constexpr std::size_t kMaxStatusOutput = std::size_t{512} << 20;

bool is_auth(const Error& e) { return e.code == Code::kUnauthorized || e.code == Code::kForbidden; }

}  // namespace

Loop::Loop(Options opts, Engine& engine, StateStore& store, client::AsyncClient& http,
           std::shared_ptr<spdlog::logger> log, AgentMetrics& metrics)
    : opts_(std::move(opts)),
      engine_(engine),
      store_(store),
      http_(http),
      log_(std::move(log)),
      metrics_(metrics) {}

void Loop::count_phases() {
  metrics_.phases.clear();
  for (const auto& [id, rec] : state_.workspaces)
    ++metrics_.phases[std::string(proto::to_string(rec.observed.phase))];
}

void Loop::note_snapshot(const char* source, std::chrono::system_clock::time_point at) {
  metrics_.snapshot_source = source;
  metrics_.snapshot_at = at;
  metrics_.revision = state_.revision;
  count_phases();
}

Status Loop::check_http(const Result<client::Response>& r, const char* what) const {
  if (!r) return r.error();
  unsigned s = r.value().status;
  if (s >= 200 && s < 300) return ok();
  std::string detail = std::string(what) + ": HTTP " + std::to_string(s);
  if (s == 401)
    return make_error(Code::kUnauthorized, detail + " (agent token rejected; check --token-file)");
  if (s == 403)
    return make_error(Code::kForbidden, detail + " (token not valid for the agent API)");
  if (s == 410) return make_error(Code::kGone, detail);
  if (s == 404) return make_error(Code::kNotFound, detail);
  if (s == 429) return make_error(Code::kRateLimited, detail);
  std::string body = " " + r.value().body.substr(0, 200);
  if (s >= 500) return make_error(Code::kUnavailable, detail + body);
  return make_error(Code::kInvalidArgument, detail + body);
}

awaitable<void> Loop::sleep(std::chrono::milliseconds d) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex, d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
}

awaitable<Status> Loop::heartbeat() {
  json body = proto::Heartbeat{opts_.agent_id, std::string(kVersion)};
  auto r = co_await http_.post("/v1/agent/heartbeat", body.dump(), kRequestTimeout);
  co_return check_http(r, "heartbeat");
}

awaitable<void> Loop::heartbeat_loop() {
  bool failing = false;
  for (;;) {
    co_await sleep(kHeartbeatEvery);
    auto st = co_await heartbeat();
    if (!st && !failing) log_->warn("heartbeat failed error=\"{}\"", st.error().detail);
    if (st && failing) log_->info("heartbeat recovered");
    failing = !st;
  }
}

awaitable<Result<proto::AssignmentsResponse>> Loop::poll(std::int64_t since, int wait_s) {
  std::string path =
      "/v1/agent/assignments?since=" + std::to_string(since) + "&wait=" + std::to_string(wait_s);
  auto r = co_await http_.get(path, std::chrono::seconds(wait_s) + kPollMargin);
  metrics_.tick();
  auto st = check_http(r, "assignments");
  if (!st) {
    ++metrics_.polls_failed;
    co_return st.error();
  }
  ++metrics_.polls_ok;
  metrics_.last_poll_ok = std::chrono::system_clock::now();
  auto resp = proto::decode_body<proto::AssignmentsResponse>(r.value().body);
  if (!resp) co_return make_error(Code::kUnavailable, "assignments: " + resp.error().detail);
  co_return resp;
}

awaitable<Status> Loop::fetch_certificates(std::vector<proto::CertificateRef> refs) {
  for (const auto& ref : refs) {
    auto r =
        co_await http_.get("/v1/agent/certificates/" + client::url_encode(ref.id), kRequestTimeout);
    auto st = check_http(r, "certificate");
    if (!st && st.error().code != Code::kNotFound && st.error().code != Code::kInvalidArgument) {
      co_return st;  // the control plane is unreachable: retry the whole round
    }
    if (!st) {
      // Not (yet) deliverable, e.g. 404: the workspace reports failed and is retried.
      log_->warn("certificate fetch failed id={} error=\"{}\"", ref.id, st.error().detail);
      continue;
    }
    auto b = proto::decode_body<proto::CertificateBundle>(r.value().body);
    if (!b || b.value().id != ref.id) {
      log_->warn("certificate unusable id={} error=\"{}\"", ref.id,
                 b ? "id mismatch" : b.error().detail);
      continue;
    }
    if (auto saved = store_.save_cert(b.value()); !saved) {
      log_->warn("certificate not cached on disk id={} error=\"{}\"", ref.id, saved.error().detail);
    }
    log_->info("certificate fetched id={} version={}", ref.id, b.value().version);
    certs_[ref.id] = std::move(b).value();
  }
  co_return ok();
}

awaitable<Status> Loop::report() {
  while (!pending_.empty()) {
    proto::StatusReport rep;
    for (auto it = pending_.begin(); it != pending_.end() && rep.workspaces.size() < kReportChunk;
         ++it) {
      rep.workspaces.push_back(it->second);
    }
    json body = rep;
    auto r = co_await http_.post("/v1/agent/status", body.dump(), kRequestTimeout);
    auto st = check_http(r, "status");
    ++(st ? metrics_.reports_sent : metrics_.reports_failed);
    if (!st) co_return st;
    for (const auto& s : rep.workspaces) {
      auto it = pending_.find(s.workspace_id);
      if (it != pending_.end() && it->second == s) pending_.erase(it);
    }
  }
  co_return ok();
}

void Loop::drop_unused_certificates() {
  auto keep = Engine::referenced_certificates(state_);
  for (auto it = certs_.begin(); it != certs_.end();) {
    if (std::binary_search(keep.begin(), keep.end(), it->first)) {
      ++it;
      continue;
    }
    // A file left behind is only disk space: the next start lists it again.
    if (auto st = store_.remove_cert(it->first); !st) {
      log_->warn("agent: could not remove an unused certificate id={} error={}", it->first,
                 st.error().detail);
    }
    it = certs_.erase(it);
  }
}

awaitable<Status> Loop::apply(proto::AssignmentsResponse resp) {
  // Certificates for the response and for earlier failures that will be retried.
  proto::AssignmentsResponse wanted = resp;
  for (const auto& [id, rec] : state_.workspaces) {
    if (rec.observed.phase == proto::Phase::kFailed) wanted.assignments.push_back(rec.assignment);
  }
  auto fetched = co_await fetch_certificates(Engine::missing_certificates(wanted, certs_));
  if (!fetched) co_return fetched;
  auto work = [this, resp = std::move(resp)]() {
    auto out = engine_.retry_failed(state_, certs_);
    auto more = engine_.sync(state_, resp, certs_);
    out.insert(out.end(), more.begin(), more.end());
    return std::make_pair(std::move(out), store_.save(state_));
  };
  auto done = co_await offload(pool_, std::move(work));
  auto& [statuses, saved] = *done;
  if (!saved) log_->error("state not saved error=\"{}\"", saved.error().detail);
  note(statuses);
  for (const auto& st : statuses)
    ++(st.phase == proto::Phase::kFailed ? metrics_.applies_failed : metrics_.applies_ok);
  note_snapshot("fetched", std::chrono::system_clock::now());
  applied_any_ = applied_any_ || !statuses.empty();
  drop_unused_certificates();
  co_return ok();
}

void Loop::note(const std::vector<proto::WorkspaceStatus>& statuses) {
  for (const auto& s : statuses) {
    bool bad = s.phase == proto::Phase::kFailed || s.phase == proto::Phase::kDegraded;
    log_->log(bad ? spdlog::level::warn : spdlog::level::info,
              "workspace {} id={} generation={} message=\"{}\"", proto::to_string(s.phase),
              s.workspace_id, s.generation, s.message);
    pending_[s.workspace_id] = s;
  }
}

// One call of --status-command for the whole region (never one per
// workspace), every --status-interval and right after an apply.
awaitable<void> Loop::observe_cluster() {
  if (!engine_.observing() || !opts_.status_command) co_return;
  auto now = std::chrono::steady_clock::now();
  bool due = now - last_observation_ >= std::chrono::seconds(opts_.status_interval_s);
  if (!due && !applied_any_ && !opts_.once) co_return;
  last_observation_ = now;
  applied_any_ = false;
  auto work = [this]() -> std::pair<Result<std::vector<proto::WorkspaceStatus>>, Status> {
    auto out = run_command(*opts_.status_command, "", std::chrono::seconds(opts_.apply_timeout_s),
                           kMaxStatusOutput);
    if (!out) return {out.error(), ok()};
    if (out.value().truncated) {
      return {make_error(Code::kUnavailable,
                         "output over " + std::to_string(kMaxStatusOutput >> 20) + " MiB"),
              ok()};
    }
    if (out.value().exit_code != 0) {
      std::string err = out.value().err;
      while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
      auto nl = err.rfind('\n');
      return {make_error(Code::kUnavailable, "exit code " + std::to_string(out.value().exit_code) +
                                                 ": " +
                                                 err.substr(nl == std::string::npos ? 0 : nl + 1)),
              ok()};
    }
    auto view = observe::ClusterView::parse(out.value().out);
    if (!view) return {view.error(), ok()};
    auto changed = engine_.observe(state_, view.value(), std::chrono::system_clock::now());
    Status saved = changed.empty() ? ok() : store_.save(state_);
    return {std::move(changed), std::move(saved)};
  };
  auto done = co_await offload(pool_, std::move(work));
  metrics_.tick();
  ++metrics_.observation_rounds;
  auto& [changed, saved] = *done;
  if (!saved) log_->error("state not saved error=\"{}\"", saved.error().detail);
  if (!changed) {
    log_->warn("status command failed; phases unchanged error=\"{}\"", changed.error().detail);
    co_return;
  }
  note(changed.value());
  count_phases();
}

awaitable<Status> Loop::round() {
  auto reported = co_await report();
  if (!reported) co_return reported;
  int wait = opts_.once ? 0 : opts_.poll_wait_s;
  // Observing: the long-poll returns in time for the next observation.
  if (engine_.observing() && opts_.status_command) wait = std::min(wait, opts_.status_interval_s);
  auto resp = co_await poll(state_.revision, wait);
  if (!resp && resp.error().code == Code::kGone) {
    log_->info("revision expired (410), listing a complete snapshot revision={}", state_.revision);
    resp = co_await poll(0, 0);
  }
  if (!resp) co_return resp.error();
  if (resp.value().complete) {
    log_->info("snapshot region={} revision={} workspaces={}", resp.value().region,
               resp.value().revision, resp.value().assignments.size());
  }
  auto applied = co_await apply(std::move(resp).value());
  if (!applied) co_return applied;
  co_await observe_cluster();
  auto sent = co_await report();
  co_return sent;
}

void Loop::restore() {
  std::string warning;
  state_ = store_.load_or_fresh(warning);
  if (!warning.empty()) log_->warn("state restored with a warning reason=\"{}\"", warning);
  warning.clear();
  certs_ = store_.load_certs(warning);
  if (!warning.empty()) log_->warn("certificates restored with a warning reason=\"{}\"", warning);
  for (const auto& [id, rec] : state_.workspaces) {
    if (rec.observed.generation > 0) pending_[id] = rec.observed;  // re-report after a restart
  }
  metrics_.tick();
  if (state_.revision <= 0) return;  // a first start: no snapshot until the first poll
  std::error_code ec;
  auto mtime = std::filesystem::last_write_time(store_.state_path(), ec);
  auto at = ec ? std::chrono::system_clock::now() : std::chrono::file_clock::to_sys(mtime);
  note_snapshot("restored", std::chrono::time_point_cast<std::chrono::system_clock::duration>(at));
}

awaitable<void> Loop::run() {
  restore();
  log_->info("agent starting agent_id={} api={} revision={} workspaces={}", opts_.agent_id,
             opts_.api, state_.revision, state_.workspaces.size());
  auto hb = co_await heartbeat();
  if (!hb) log_->warn("heartbeat failed error=\"{}\"", hb.error().detail);
  if (!opts_.once) {
    auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(ex, heartbeat_loop(), [log = log_](std::exception_ptr e) {
      if (e) log->critical("heartbeat loop stopped by an exception");
    });
  }
  std::chrono::milliseconds delay{0};
  for (;;) {
    metrics_.tick();
    auto st = co_await round();
    if (opts_.once) {
      if (!st) log_->error("sync round failed error=\"{}\"", st.error().detail);
      exit_code_ = st ? 0 : 1;
      co_return;
    }
    if (st) {
      delay = std::chrono::milliseconds{0};
      continue;
    }
    bool auth = is_auth(st.error());
    delay = auth ? client::next_backoff(delay, kAuthBackoffFirst, kAuthBackoffCap)
                 : client::next_backoff(delay, kBackoffFirst, kBackoffCap);
    auto level = auth ? spdlog::level::err : spdlog::level::warn;
    log_->log(level, "control plane round failed error=\"{}\" retry_in_ms={}", st.error().detail,
              delay.count());
    co_await sleep(delay);
  }
}

}  // namespace fc::agent

#include "agent/agent.hpp"
#include "common/asio_net.hpp"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "agent/detail/cli.hpp"
#include "agent/detail/engine.hpp"
#include "agent/detail/health.hpp"
#include "agent/detail/loop.hpp"
#include "agent/detail/render.hpp"
#include "agent/detail/sink.hpp"
#include "agent/detail/state.hpp"

namespace fc::agent {
namespace {

constexpr int kExitUsage = 2;

std::shared_ptr<spdlog::logger> make_logger(const std::string& level) {
  auto log = spdlog::get("agent");
  if (!log) log = spdlog::stderr_color_mt("agent");
  log->set_level(spdlog::level::from_str(level));
  return log;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "agent";
  return buf;
}

Result<std::string> read_token(const std::string& path) {
  BOOST_OUTCOME_TRY(text, read_file(path));
  if (!text) return make_error(Code::kInvalidArgument, "--token-file " + path + ": no such file");
  std::string t = *text;
  auto b = t.find_first_not_of(" \t\r\n");
  auto e = t.find_last_not_of(" \t\r\n");
  if (b == std::string::npos)
    return make_error(Code::kInvalidArgument, "--token-file " + path + ": empty");
  t = t.substr(b, e - b + 1);
  if (t.find_first_of(" \t\r\n") != std::string::npos) {
    return make_error(Code::kInvalidArgument, "--token-file " + path + ": not a single token");
  }
  return t;
}

Result<Template> load_template(const Options& o) {
  std::string text = builtin_template_text();
  if (o.template_file) {
    BOOST_OUTCOME_TRY(t, read_file(*o.template_file));
    if (!t)
      return make_error(Code::kInvalidArgument,
                        "--template " + *o.template_file + ": no such file");
    text = *t;
  }
  auto tmpl = parse_template(text);
  std::string where = o.template_file ? "--template " + *o.template_file : "built-in template";
  if (!tmpl) return make_error(Code::kInvalidArgument, where + ": " + tmpl.error().detail);
  if (auto v = validate_template(tmpl.value(), o.settings); !v) {
    return make_error(Code::kInvalidArgument, where + ": " + v.error().detail);
  }
  return tmpl;
}

// Ticks the loop's progress around every apply and delete: a region's first
// snapshot may take many commands, and the loop is live while they finish.
class ProgressSink final : public Sink {
 public:
  ProgressSink(std::unique_ptr<Sink> inner, AgentMetrics& m) : inner_(std::move(inner)), m_(m) {}
  Status apply(const std::vector<RenderedObject>& objects) override {
    m_.tick();
    auto st = inner_->apply(objects);
    m_.tick();
    return st;
  }
  Status remove(const std::vector<ObjectRef>& refs) override {
    m_.tick();
    auto st = inner_->remove(refs);
    m_.tick();
    return st;
  }

 private:
  std::unique_ptr<Sink> inner_;
  AgentMetrics& m_;
};

std::unique_ptr<Sink> make_sink(const Options& o) {
  if (o.out_dir) return std::make_unique<DirSink>(*o.out_dir);
  return std::make_unique<CommandSink>(o.apply_command, o.delete_command,
                                       std::chrono::seconds(o.apply_timeout_s));
}

int run(Options o) {
  auto log = make_logger(o.log_level);
  if (o.agent_id.empty()) o.agent_id = host_name();
  auto token = read_token(o.token_file);
  auto tmpl = token ? load_template(o) : Result<Template>(token.error());
  if (!tmpl) {
    std::cerr << "fleetcommand agent: " << tmpl.error().detail << "\n";
    return kExitUsage;
  }
  StateStore store(o.state_dir);
  if (auto st = store.init(); !st) {
    std::cerr << "fleetcommand agent: --state-dir: " << st.error().detail << "\n";
    return kExitUsage;
  }
  client::ClientOptions copts;
  copts.user_agent = "fleetcommand-agent/0.1";
  copts.body_limit = 64ull << 20;  // a large region's snapshot
  copts.ca_file = o.ca_bundle;
  copts.ca_option = "--ca-bundle";
  auto http = client::AsyncClient::create(o.api_url, token.value(), std::move(copts));
  if (!http) {
    std::cerr << "fleetcommand agent: " << http.error().detail << "\n";
    return kExitUsage;
  }
  AgentMetrics metrics;
  ProgressSink sink(make_sink(o), metrics);
  ObserveMode mode;
  mode.observing = o.status_command.has_value();
  mode.unobserved_note = "written; not observed";  // --out without --status-command
  mode.failure_grace = std::chrono::seconds(o.failure_grace_s);
  Engine engine(std::move(tmpl).value(), o.settings, sink, mode);
  asio::io_context ctx;
  Loop loop(o, engine, store, *http.value(), log, metrics);
  std::optional<HealthServer> health;
  if (o.health_listen) {
    health.emplace(ctx, *o.health_listen, metrics,
                   liveness_window(o.poll_wait_s, o.apply_timeout_s), log);
    if (auto st = health->listen(); !st) {
      std::cerr << "fleetcommand agent: --health-listen: " << st.error().detail << "\n";
      return kExitUsage;
    }
  }
  asio::signal_set signals(ctx, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log->info("stopping signal={}", sig);
    ctx.stop();
  });
  metrics.tick();  // the loop starts now
  asio::co_spawn(ctx, loop.run(), [&](std::exception_ptr e) {
    if (e) {
      log->critical("agent loop stopped by an exception");
      ctx.stop();
      return;
    }
    if (o.once) ctx.stop();
  });
  ctx.run();
  return loop.exit_code();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  if (!args.empty() && args.front() == "agent") args.erase(args.begin());
  auto opts = parse_args(args);
  if (!opts) {
    std::cerr << "fleetcommand agent: " << opts.error().detail << "\n\n" << usage();
    return kExitUsage;
  }
  if (opts.value().help) {
    std::cout << usage();
    return 0;
  }
  if (opts.value().print_template) {
    std::cout << builtin_template_text() << "\n";
    return 0;
  }
  return run(std::move(opts).value());
}

}  // namespace fc::agent

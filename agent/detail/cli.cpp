#include "agent/detail/cli.hpp"

#include <charconv>
#include <functional>

namespace fc::agent {
namespace {

Error usage_error(std::string msg) { return make_error(Code::kInvalidArgument, std::move(msg)); }

Result<int> parse_int(const std::string& opt, const std::string& v, int lo, int hi) {
  int n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi) {
    return usage_error(opt + ": expected an integer in " + std::to_string(lo) + ".." +
                       std::to_string(hi) + ", got '" + v + "'");
  }
  return n;
}

Status set_var(Options& o, const std::string& kv) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    return usage_error("--set: expected KEY=VALUE, got '" + kv + "'");
  std::string key = kv.substr(0, eq);
  for (char c : key) {
    bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.';
    if (!okc) return usage_error("--set: bad variable name '" + key + "'");
  }
  o.settings[key] = kv.substr(eq + 1);
  return ok();
}

using Handler = std::function<Status(Options&, const std::string&)>;

// The table of value options, one entry per flag: reads better whole.
const std::map<std::string, Handler>& value_options() {
  static const std::map<std::string, Handler> kOpts = {
      {"--api",
       [](Options& o, const std::string& v) -> Status {
         auto u = client::parse_url(v);
         if (!u) return usage_error("--api: " + u.error().detail);
         o.api = v;
         o.api_url = std::move(u).value();
         return ok();
       }},
      {"--token-file",
       [](Options& o, const std::string& v) -> Status {
         o.token_file = v;
         return ok();
       }},
      {"--state-dir",
       [](Options& o, const std::string& v) -> Status {
         o.state_dir = v;
         return ok();
       }},
      {"--out",
       [](Options& o, const std::string& v) -> Status {
         o.out_dir = v;
         return ok();
       }},
      {"--apply-command",
       [](Options& o, const std::string& v) -> Status {
         o.apply_command = v;
         return ok();
       }},
      {"--delete-command",
       [](Options& o, const std::string& v) -> Status {
         o.delete_command = v;
         return ok();
       }},
      {"--template",
       [](Options& o, const std::string& v) -> Status {
         o.template_file = v;
         return ok();
       }},
      {"--set", [](Options& o, const std::string& v) { return set_var(o, v); }},
      {"--agent-id",
       [](Options& o, const std::string& v) -> Status {
         o.agent_id = v;
         return ok();
       }},
      {"--ca-bundle",
       [](Options& o, const std::string& v) -> Status {
         o.ca_bundle = v;
         return ok();
       }},
      {"--log-level",
       [](Options& o, const std::string& v) -> Status {
         static const char* kLevels[] = {"trace", "debug",    "info", "warn",
                                         "error", "critical", "off"};
         for (const char* l : kLevels) {
           if (v == l) {
             o.log_level = v;
             return ok();
           }
         }
         return usage_error("--log-level: expected trace|debug|info|warn|error|critical|off");
       }},
      {"--poll-wait",
       [](Options& o, const std::string& v) -> Status {
         BOOST_OUTCOME_TRY(n, parse_int("--poll-wait", v, 0, 60));
         o.poll_wait_s = n;
         return ok();
       }},
      {"--status-command",
       [](Options& o, const std::string& v) -> Status {
         if (v.empty()) return usage_error("--status-command: empty command");
         o.status_command = v;
         return ok();
       }},
      {"--status-interval",
       [](Options& o, const std::string& v) -> Status {
         BOOST_OUTCOME_TRY(n, parse_int("--status-interval", v, 1, 3600));
         o.status_interval_s = n;
         return ok();
       }},
      {"--failure-grace",
       [](Options& o, const std::string& v) -> Status {
         BOOST_OUTCOME_TRY(n, parse_int("--failure-grace", v, 0, 86400));
         o.failure_grace_s = n;
         return ok();
       }},
      {"--health-listen",
       [](Options& o, const std::string& v) -> Status {
         BOOST_OUTCOME_TRY(a, parse_listen(v));
         o.health_listen = std::move(a);
         return ok();
       }},
      {"--apply-timeout",
       [](Options& o, const std::string& v) -> Status {
         BOOST_OUTCOME_TRY(n, parse_int("--apply-timeout", v, 1, 86400));
         o.apply_timeout_s = n;
         return ok();
       }},
  };
  return kOpts;
}

Status check_required(const Options& o, bool apply_set, bool delete_set) {
  if (o.api.empty()) return usage_error("--api URL is required");
  if (o.token_file.empty()) return usage_error("--token-file FILE is required");
  if (o.state_dir.empty()) return usage_error("--state-dir DIR is required");
  if (o.out_dir && (apply_set || delete_set)) {
    return usage_error("--out and --apply-command/--delete-command are mutually exclusive");
  }
  if (o.out_dir && o.out_dir->empty()) return usage_error("--out: empty directory");
  if (o.ca_bundle && !o.api_url.tls) return usage_error("--ca-bundle needs an https:// --api");
  return ok();
}

}  // namespace

Result<ListenAddr> parse_listen(std::string_view s) {
  auto bad = [&s](const std::string& why) -> Result<ListenAddr> {
    return make_error(Code::kInvalidArgument, "--health-listen: " + why +
                                                  " (expected HOST:PORT with an IP literal, e.g. "
                                                  "127.0.0.1:9102 or [::]:9102), got '" +
                                                  std::string(s) + "'");
  };
  ListenAddr a;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || s.substr(close + 1, 1) != ":")
      return bad("bad bracketed address");
    a.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    a.host = std::string(s.substr(0, colon));
    if (a.host.find(':') != std::string::npos) return bad("an IPv6 address needs brackets");
    port = s.substr(colon + 1);
  }
  if (a.host.empty()) return bad("no address");
  int n = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (ec != std::errc() || p != port.data() + port.size() || n < 1 || n > 65535)
    return bad("the port is not in 1..65535");
  a.port = static_cast<std::uint16_t>(n);
  return a;
}

Result<Options> parse_args(const std::vector<std::string>& args) {
  Options o;
  bool apply_set = false, delete_set = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
      return o;
    }
    if (a == "--print-template") {
      o.print_template = true;
      return o;
    }
    if (a == "--once") {
      o.once = true;
      continue;
    }
    std::optional<std::string> value;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    auto it = value_options().find(a);
    if (it == value_options().end()) return usage_error("unknown option '" + a + "'");
    if (!value) {
      if (i + 1 >= args.size()) return usage_error(a + " needs a value");
      value = args[++i];
    }
    apply_set = apply_set || a == "--apply-command";
    delete_set = delete_set || a == "--delete-command";
    BOOST_OUTCOME_TRY(it->second(o, *value));
  }
  BOOST_OUTCOME_TRY(check_required(o, apply_set, delete_set));
  if (!o.out_dir && !o.status_command) o.status_command = kDefaultStatusCommand;
  return o;
}

std::string usage() {
  return R"(usage: fleetcommand agent --api URL --token-file FILE --state-dir DIR [options]

  --api URL              control plane, http://host:port or https://host:port
  --token-file FILE      file holding the region's agent token (fc_agt_…)
  --state-dir DIR        where the snapshot, revision and certificates are kept
  --out DIR              GitOps mode: each object as DIR/<namespace>/<kind>-<name>.json
  --apply-command CMD    objects as a List on stdin (default: kubectl apply --server-side -f -)
  --delete-command CMD   deletions as a List on stdin
                         (default: kubectl delete --ignore-not-found -f -)
  --template FILE        replaces the built-in template (docs/agent.md)
  --print-template       prints the built-in template (a starting point for --template)
  --set KEY=VALUE        template variable (namespace, image, replicas, ingress_class,
                         mongo_url, acme_responder_host, acme_responder_port, …)
  --agent-id ID          this agent's id (default: the host name)
  --once                 one sync round (list, apply, report), then exit
  --ca-bundle FILE       trust anchors for an https --api
  --log-level LEVEL      trace|debug|info|warn|error|critical|off (default info)
  --poll-wait SECONDS    long-poll wait, 0..60 (default 30)
  --apply-timeout SECONDS  limit per apply/delete/status command (default 300)
  --status-command CMD   prints one List of Deployments and Pods (default in kubectl mode:
                         kubectl get deployments,pods --all-namespaces
                           -l app.kubernetes.io/managed-by=fleetcommand -o json;
                         in --out mode nothing is observed unless given)
  --status-interval SECONDS  between observations of the cluster (default 10)
  --health-listen ADDR   serve /healthz, /readyz and /metrics on ADDR (e.g. 127.0.0.1:9102,
                         [::]:9102); off by default
  --failure-grace SECONDS  a pod waiting with ImagePullBackOff, CrashLoopBackOff, … this
                         long fails the rollout (default 60)
)";
}

}  // namespace fc::agent

#include "agent/detail/cli.hpp"

#include <doctest/doctest.h>

#include "agent/agent.hpp"
#include "agent/detail/loop.hpp"

namespace fc::agent {
namespace {

using V = std::vector<std::string>;
const V kBase = {"--api", "http://127.0.0.1:8080", "--token-file", "/t", "--state-dir", "/s"};

V with(V extra) {
  V v = kBase;
  v.insert(v.end(), extra.begin(), extra.end());
  return v;
}

TEST_SUITE("agent") {
  TEST_CASE("defaults: kubectl apply mode, 30 s long poll") {
    auto o = parse_args(kBase);
    REQUIRE(o);
    CHECK(o.value().apply_command == "kubectl apply --server-side -f -");
    CHECK(o.value().delete_command == "kubectl delete --ignore-not-found -f -");
    CHECK_FALSE(o.value().out_dir);
    CHECK(o.value().poll_wait_s == 30);
    CHECK_FALSE(o.value().once);
    CHECK(o.value().api_url.host == "127.0.0.1");
    CHECK(o.value().api_url.port == "8080");
  }

  TEST_CASE("status command: kubectl get by default, none in --out mode unless given") {
    auto k = parse_args(kBase);
    REQUIRE(k);
    CHECK(k.value().status_command ==
          std::optional<std::string>("kubectl get deployments,pods --all-namespaces -l "
                                     "app.kubernetes.io/managed-by=fleetcommand -o json"));
    CHECK(k.value().status_interval_s == 10);
    CHECK(k.value().failure_grace_s == 60);
    auto out = parse_args(with({"--out", "/o"}));
    REQUIRE(out);
    CHECK_FALSE(out.value().status_command);
    auto both = parse_args(with({"--out", "/o", "--status-command", "cat list.json",
                                 "--status-interval=2", "--failure-grace", "0"}));
    REQUIRE(both);
    CHECK(both.value().status_command == std::optional<std::string>("cat list.json"));
    CHECK(both.value().status_interval_s == 2);
    CHECK(both.value().failure_grace_s == 0);
    auto bad = parse_args(with({"--status-interval", "0"}));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().detail == "--status-interval: expected an integer in 1..3600, got '0'");
    CHECK_FALSE(parse_args(with({"--status-command", ""})));
  }

  TEST_CASE("options with values, --opt=value and repeated --set") {
    auto o = parse_args(with({"--out", "/o", "--set", "namespace=x", "--set=image=a=b", "--once",
                              "--agent-id=agent-7", "--log-level", "debug", "--poll-wait", "0"}));
    REQUIRE(o);
    CHECK(o.value().out_dir == std::optional<std::string>("/o"));
    CHECK(o.value().settings.at("namespace") == "x");
    CHECK(o.value().settings.at("image") == "a=b");
    CHECK(o.value().once);
    CHECK(o.value().agent_id == "agent-7");
    CHECK(o.value().poll_wait_s == 0);
  }

  TEST_CASE("usage errors name the problem") {
    struct Case {
      V args;
      const char* detail;
    };
    const Case cases[] = {
        {{}, "--api URL is required"},
        {{"--api", "ftp://x"}, "--api: expected an http:// or https:// URL, got 'ftp://x'"},
        {{"--api", "http://x:99999", "--token-file", "t", "--state-dir", "s"},
         "--api: port: expected an integer in 1..65535, got '99999'"},
        {{"--api", "http://x", "--state-dir", "s"}, "--token-file FILE is required"},
        {{"--api", "http://x", "--token-file", "t"}, "--state-dir DIR is required"},
        {with({"--bogus"}), "unknown option '--bogus'"},
        {with({"--set"}), "--set needs a value"},
        {with({"--set", "novalue"}), "--set: expected KEY=VALUE, got 'novalue'"},
        {with({"--set", "a b=c"}), "--set: bad variable name 'a b'"},
        {with({"--out", "/o", "--apply-command", "x"}),
         "--out and --apply-command/--delete-command are mutually exclusive"},
        {with({"--log-level", "loud"}),
         "--log-level: expected trace|debug|info|warn|error|critical|off"},
        {with({"--poll-wait", "61"}), "--poll-wait: expected an integer in 0..60, got '61'"},
        {with({"--ca-bundle", "/ca.pem"}), "--ca-bundle needs an https:// --api"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.detail);
      auto o = parse_args(c.args);
      REQUIRE_FALSE(o);
      CHECK(o.error().detail == c.detail);
    }
  }

  TEST_CASE("main: usage errors exit 2, --help exits 0") {
    std::string a0 = "agent", a1 = "--api", a2 = "gopher://x";
    char* bad[] = {a0.data(), a1.data(), a2.data()};
    CHECK(fc::agent::main(3, bad) == 2);
    std::string h = "--help";
    char* help[] = {h.data()};
    CHECK(fc::agent::main(1, help) == 0);
    std::string t = "--token-file", tv = "/nonexistent/token", s = "--state-dir", sv = "/tmp/x",
                api = "--api", apiv = "http://127.0.0.1:1";
    char* missing_token[] = {api.data(), apiv.data(), t.data(), tv.data(), s.data(), sv.data()};
    CHECK(fc::agent::main(6, missing_token) == 2);
  }
}

}  // namespace
}  // namespace fc::agent

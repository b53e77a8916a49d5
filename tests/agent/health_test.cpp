// --health-listen: the replies as a pure function, the metrics text, the
// address syntax, and the listener over loopback with bad requests.
#include "agent/detail/health.hpp"
#include "common/asio_net.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <doctest/doctest.h>

namespace fc::agent {
namespace {

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

std::chrono::steady_clock::time_point health_test_steady(const AgentMetrics& m) {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(m.last_progress_ns.load()));
}

TEST_SUITE("agent") {
  TEST_CASE("healthz: live while the loop made progress within the window") {
    AgentMetrics m;
    m.tick();
    auto t0 = health_test_steady(m);
    auto wall = std::chrono::system_clock::now();
    auto live = health_reply("GET", "/healthz", m, 100s, t0 + 99s, wall);
    CHECK(live.status == 200);
    CHECK(live.body == "ok: last progress 99 s ago\n");
    auto stuck = health_reply("GET", "/healthz", m, 100s, t0 + 101s, wall);
    CHECK(stuck.status == 503);
    CHECK(stuck.body == "stalled: the sync loop made no progress for 101 s (limit 100 s)\n");
    CHECK(liveness_window(30, 300) == 370s);
  }

  TEST_CASE("readyz: 503 with the reason until a snapshot is held") {
    AgentMetrics m;
    auto now = std::chrono::steady_clock::now();
    auto wall = std::chrono::system_clock::now();
    auto none = health_reply("GET", "/readyz", m, 100s, now, wall);
    CHECK(none.status == 503);
    CHECK(none.body.find("not ready: no snapshot yet") == 0);
    CHECK(std::count(none.body.begin(), none.body.end(), '\n') == 1);  // one line
    m.snapshot_source = "restored";
    m.revision = 42;
    auto ready = health_reply("GET", "/readyz?verbose", m, 100s, now, wall);
    CHECK(ready.status == 200);
    CHECK(ready.body == "ready: snapshot revision=42 source=restored\n");
  }

  TEST_CASE("other paths are 404, other methods 405") {
    AgentMetrics m;
    auto now = std::chrono::steady_clock::now();
    auto wall = std::chrono::system_clock::now();
    CHECK(health_reply("GET", "/", m, 1s, now, wall).status == 404);
    CHECK(health_reply("GET", "/healthz/x", m, 1s, now, wall).status == 404);
    CHECK(health_reply("GET", "/v1/agent/heartbeat", m, 1s, now, wall).status == 404);
    CHECK(health_reply("POST", "/metrics", m, 1s, now, wall).status == 405);
    CHECK(health_reply("HEAD", "/metrics", m, 1s, now, wall).status == 200);
  }

  TEST_CASE("metrics: every family with HELP and TYPE, phases as stable series") {
    AgentMetrics m;
    m.applies_ok = 3;
    m.applies_failed = 1;
    m.reports_sent = 5;
    m.revision = 9;
    m.snapshot_source = "fetched";
    auto wall = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'100));
    m.snapshot_at = wall - 40s;
    m.last_poll_ok =
        std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'060'250));
    m.phases["running"] = 2;
    auto text = render_agent_metrics(m, wall);
    for (std::string line : {
             "# TYPE fleetcommand_agent_applies_total counter\n",
             "fleetcommand_agent_applies_total{result=\"ok\"} 3\n",
             "fleetcommand_agent_applies_total{result=\"failed\"} 1\n",
             "fleetcommand_agent_reports_total{result=\"sent\"} 5\n",
             "fleetcommand_agent_reports_total{result=\"failed\"} 0\n",
             "fleetcommand_agent_revision 9\n",
             "fleetcommand_agent_ready 1\n",
             "fleetcommand_agent_snapshot_age_seconds 40\n",
             "fleetcommand_agent_last_successful_poll_timestamp_seconds 1700000060.250\n",
             "fleetcommand_agent_workspaces{phase=\"running\"} 2\n",
             "fleetcommand_agent_workspaces{phase=\"failed\"} 0\n",
             "fleetcommand_agent_observation_rounds_total 0\n",
         }) {
      CAPTURE(line);
      CHECK(text.find(line) != std::string::npos);
    }
    AgentMetrics fresh;
    auto empty = render_agent_metrics(fresh, wall);
    CHECK(empty.find("fleetcommand_agent_snapshot_age_seconds 0") == std::string::npos);
    CHECK(empty.find("fleetcommand_agent_ready 0\n") != std::string::npos);
    CHECK(empty.find("fleetcommand_agent_last_successful_poll_timestamp_seconds 0\n") !=
          std::string::npos);
  }

  TEST_CASE("--health-listen syntax") {
    auto v4 = parse_listen("127.0.0.1:9102");
    REQUIRE(v4);
    CHECK(v4.value().host == "127.0.0.1");
    CHECK(v4.value().port == 9102);
    auto v6 = parse_listen("[::]:9102");
    REQUIRE(v6);
    CHECK(v6.value().host == "::");
    for (const char* bad : {"", "9102", ":9102", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
                            "127.0.0.1:65536", "::1:9102", "[::1]9102", "[::1", "[]:9102"}) {
      CAPTURE(bad);
      auto r = parse_listen(bad);
      REQUIRE_FALSE(r);
      CHECK(r.error().detail.rfind("--health-listen: ", 0) == 0);
    }
  }

  TEST_CASE("listener: answers, refuses bad input without dying, rejects a name") {
    asio::io_context ctx;
    AgentMetrics m;
    m.tick();
    auto log = std::make_shared<spdlog::logger>("health-test",
                                                std::make_shared<spdlog::sinks::null_sink_mt>());
    HealthServer named(ctx, {"localhost", 0}, m, 60s, log);
    CHECK_FALSE(named.listen());
    HealthServer srv(ctx, {"127.0.0.1", 0}, m, 60s, log);
    REQUIRE(srv.listen());
    auto port = srv.port();
    REQUIRE(port != 0);
    std::vector<std::string> answers;
    auto exchange = [&](std::string raw) -> awaitable<void> {
      tcp::socket s(ctx);
      boost::system::error_code ec;
      co_await s.async_connect({asio::ip::make_address("127.0.0.1"), port},
                               asio::redirect_error(use_awaitable, ec));
      co_await asio::async_write(s, asio::buffer(raw), asio::redirect_error(use_awaitable, ec));
      std::string got;
      char buf[4096];
      for (;;) {
        auto n =
            co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
        got.append(buf, n);
        if (ec) break;
      }
      answers.push_back(got);
    };
    asio::co_spawn(
        ctx,
        [&]() -> awaitable<void> {
          co_await exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
          co_await exchange("NOT HTTP AT ALL\r\n\r\n");
          co_await exchange("GET /readyz HTTP/1.1\r\nHost: x\r\n" + std::string(20000, 'X') +
                            ": y\r\n\r\n");
          co_await exchange("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n");
          co_await exchange("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
          ctx.stop();
        },
        asio::detached);
    ctx.run_for(10s);
    REQUIRE(answers.size() == 5);
    CHECK(answers[0].rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(answers[0].find("ok: last progress") != std::string::npos);
    CHECK(answers[1].rfind("HTTP/1.1 400 ", 0) == 0);
    CHECK(answers[2].rfind("HTTP/1.1 400 ", 0) == 0);  // header limit
    CHECK(answers[3].rfind("HTTP/1.1 400 ", 0) == 0);  // body limit
    CHECK(answers[4].rfind("HTTP/1.1 503 ", 0) == 0);  // still serving, no snapshot yet
  }
}

}  // namespace
}  // namespace fc::agent

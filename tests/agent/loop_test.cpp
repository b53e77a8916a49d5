// The agent loop over real HTTP on loopback (port 0) against a scripted
// endpoint that speaks API.md's agent shapes; the real daemon is exercised by
// the integration tests.
#include "agent/detail/loop.hpp"
#include "common/asio_net.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <algorithm>
#include <cctype>
#include <string_view>

#include <boost/asio/read_until.hpp>

#include <doctest/doctest.h>

#include "test_util.hpp"

namespace fc::agent {
namespace {

namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct Seen {
  std::string method, target, auth, body;
};
using Reply = std::pair<unsigned, std::string>;
using Handler = std::function<Reply(const Seen&)>;

// The value of header `name` (case-insensitive) in a request head, "" if absent.
std::string request_header(std::string_view head, std::string_view name) {
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    size_t start = pos + 2;
    size_t end = head.find("\r\n", start);
    std::string_view line = head.substr(start, end == std::string_view::npos ? end : end - start);
    size_t colon = line.find(':');
    if (colon == name.size() &&
        std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return std::string(v);
    }
    pos = end;
  }
  return "";
}

// One request per connection (the client reconnects), as the agent's calls
// need: plain Asio on purpose — a Beast server here cost this test binary a
// second Beast instantiation (docs/building.md).
awaitable<void> serve(tcp::acceptor& acc, Handler& handler, std::vector<Seen>& seen) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket sock = co_await acc.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    std::string buf;
    size_t n = co_await asio::async_read_until(sock, asio::dynamic_buffer(buf), "\r\n\r\n",
                                               asio::redirect_error(use_awaitable, ec));
    if (ec) continue;
    std::string head = buf.substr(0, n);
    std::string body = buf.substr(n);
    size_t length = 0;
    if (std::string cl = request_header(head, "Content-Length"); !cl.empty())
      length = std::stoul(cl);
    if (body.size() < length) {
      size_t have = body.size();
      body.resize(length);
      co_await asio::async_read(sock, asio::buffer(body.data() + have, length - have),
                                asio::redirect_error(use_awaitable, ec));
      if (ec) continue;
    }
    std::string_view line = std::string_view(head).substr(0, head.find("\r\n"));
    size_t sp1 = line.find(' ');
    size_t sp2 = line.find(' ', sp1 + 1);
    Seen s{std::string(line.substr(0, sp1)), std::string(line.substr(sp1 + 1, sp2 - sp1 - 1)),
           request_header(head, "Authorization"), body};
    seen.push_back(s);
    auto [status, reply] = handler(s);
    std::string res =
        "HTTP/1.1 " + std::to_string(status) +
        " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(reply.size()) +
        "\r\nConnection: close\r\n\r\n" + reply;
    co_await asio::async_write(sock, asio::buffer(res), asio::redirect_error(use_awaitable, ec));
    sock.shutdown(tcp::socket::shutdown_both, ec);
  }
}

struct Harness {
  test::TempDir dir;
  Handler handler;
  std::vector<Seen> seen;
  AgentMetrics metrics;

  fs::path out() const { return dir.path() / "out"; }

  // One `--once` run against the handler; returns the exit code.
  int run_once() {
    asio::io_context ctx;
    tcp::acceptor acc(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    Options o;
    o.api_url = {false, "127.0.0.1", std::to_string(acc.local_endpoint().port()), ""};
    o.state_dir = (dir.path() / "state").string();
    o.out_dir = out().string();
    o.agent_id = "agent-test";
    o.once = true;
    StateStore store(o.state_dir);
    REQUIRE(store.init());
    DirSink sink(out());
    Engine engine(parse_template(builtin_template_text()).value(), {}, sink);
    auto http = client::AsyncClient::create(o.api_url, "fc_agt_secret", {});
    REQUIRE(http);
    auto log = std::make_shared<spdlog::logger>("agent-test",
                                                std::make_shared<spdlog::sinks::null_sink_mt>());
    Loop loop(o, engine, store, *http.value(), log, metrics);
    asio::co_spawn(ctx, serve(acc, handler, seen), asio::detached);
    asio::co_spawn(ctx, loop.run(), [&](std::exception_ptr) { ctx.stop(); });
    ctx.run_for(20s);  // bounded; a --once round ends long before
    return loop.exit_code();
  }
};

const char* kSnapshot = R"({"region":"eu","revision":7,"complete":true,"assignments":[
  {"workspace_id":"ws_a","name":"acme","generation":2,"action":"apply",
   "resources":{"memory_mib":600,"cpu_millis":250},"spec":{},
   "hostnames":["acme.fleet.test","chat.customer.test"],
   "certificates":[{"id":"crt_1","hostnames":["chat.customer.test"],"version":1}]}]})";

const char* kBundle = R"({"id":"crt_1","version":1,"hostnames":["chat.customer.test"],
  "certificate_pem":"CHAIN","private_key_pem":"KEY","not_after":"2030-01-01T00:00:00Z"})";

Reply happy(const Seen& s) {
  if (s.target == "/v1/agent/heartbeat") return {200, "{}"};
  if (s.target.rfind("/v1/agent/assignments?since=0", 0) == 0) return {200, kSnapshot};
  if (s.target.rfind("/v1/agent/assignments", 0) == 0) {
    return {200, R"({"region":"eu","revision":7,"complete":false,"assignments":[]})"};
  }
  if (s.target == "/v1/agent/certificates/crt_1") return {200, kBundle};
  if (s.target == "/v1/agent/status") return {200, R"({"results":[]})"};
  return {404, "{}"};
}

TEST_SUITE("agent") {
  TEST_CASE("--once: heartbeat, snapshot, certificate, files, running report") {
    Harness h;
    h.handler = happy;
    REQUIRE(h.run_once() == 0);
    REQUIRE(h.seen.size() == 4);
    CHECK(h.seen[0].target == "/v1/agent/heartbeat");
    CHECK(json::parse(h.seen[0].body) == json{{"agent_id", "agent-test"}, {"version", "0.1.0"}});
    CHECK(h.seen[1].target == "/v1/agent/assignments?since=0&wait=0");
    CHECK(h.seen[2].target == "/v1/agent/certificates/crt_1");
    CHECK(h.seen[3].target == "/v1/agent/status");
    for (const auto& s : h.seen) CHECK(s.auth == "Bearer fc_agt_secret");
    json rep = json::parse(h.seen[3].body);
    CHECK(rep ==
          json::parse(R"({"workspaces":[{"workspace_id":"ws_a","generation":2,"phase":"running",)"
                      R"("message":""}]})"));
    CHECK(fs::exists(h.out() / "fleet" / "deployment-ws-a.json"));
    CHECK(fs::exists(h.out() / "fleet" / "ingress-ws-a.json"));
    auto secret = json::parse(test::slurp(h.out() / "fleet" / "secret-ws-a-crt-1.json"));
    CHECK(secret["data"]["tls.crt"] == base64("CHAIN"));

    // Second run resumes from the stored revision; the cached certificate is
    // not fetched again, and the restart re-reports the last status.
    h.seen.clear();
    REQUIRE(h.run_once() == 0);
    REQUIRE(h.seen.size() == 3);
    CHECK(h.seen[1].target == "/v1/agent/status");
    CHECK(h.seen[2].target == "/v1/agent/assignments?since=7&wait=0");
  }

  TEST_CASE("an undeliverable certificate fails only its workspace") {
    Harness h;
    h.handler = [](const Seen& s) -> Reply {
      if (s.target == "/v1/agent/certificates/crt_1") return {404, "{}"};
      return happy(s);
    };
    REQUIRE(h.run_once() == 0);
    json rep = json::parse(h.seen.back().body);
    REQUIRE(rep["workspaces"].size() == 1);
    CHECK(rep["workspaces"][0]["phase"] == "failed");
    CHECK(rep["workspaces"][0]["message"] == "render: certificate crt_1 version 1 not fetched");
    CHECK_FALSE(fs::exists(h.out() / "fleet" / "deployment-ws-a.json"));
    // Next round: delivered now, so the failed workspace is retried and runs.
    h.seen.clear();
    h.handler = happy;
    REQUIRE(h.run_once() == 0);
    CHECK(fs::exists(h.out() / "fleet" / "secret-ws-a-crt-1.json"));
    CHECK(json::parse(h.seen.back().body)["workspaces"][0]["phase"] == "running");
  }

  TEST_CASE("410 lists again from 0; a snapshot without the workspace removes it") {
    Harness h;
    h.handler = happy;
    REQUIRE(h.run_once() == 0);
    h.seen.clear();
    h.handler = [](const Seen& s) -> Reply {
      if (s.target.rfind("/v1/agent/assignments?since=7", 0) == 0) return {410, "{}"};
      if (s.target.rfind("/v1/agent/assignments?since=0", 0) == 0) {
        return {200, R"({"region":"eu","revision":9,"complete":true,"assignments":[]})"};
      }
      return happy(s);
    };
    REQUIRE(h.run_once() == 0);
    CHECK_FALSE(fs::exists(h.out() / "fleet" / "deployment-ws-a.json"));
    CHECK_FALSE(fs::exists(h.out() / "fleet" / "secret-ws-a-crt-1.json"));
    auto st = StateStore(h.dir.path() / "state").load();
    REQUIRE(st);
    CHECK(st.value().revision == 9);
    CHECK(st.value().workspaces.empty());
  }

  TEST_CASE("control plane down or token rejected: exit 1, objects stay (static stability)") {
    Harness h;
    h.handler = happy;
    REQUIRE(h.run_once() == 0);
    for (unsigned code : {503u, 401u, 403u}) {
      CAPTURE(code);
      h.handler = [code](const Seen& s) -> Reply {
        if (s.target.rfind("/v1/agent/", 0) == 0) return {code, "{}"};
        return {404, "{}"};
      };
      CHECK(h.run_once() == 1);
      CHECK(fs::exists(h.out() / "fleet" / "deployment-ws-a.json"));
      CHECK(StateStore(h.dir.path() / "state").load().value().revision == 7);
    }
    h.handler = [](const Seen&) -> Reply { return {200, "not json"}; };
    CHECK(h.run_once() == 1);
    CHECK(fs::exists(h.out() / "fleet" / "deployment-ws-a.json"));
  }
}

}  // namespace
}  // namespace fc::agent

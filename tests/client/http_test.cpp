// The shared client's transport over real sockets on loopback (port 0): what
// it sends, what it returns, and how network failures surface. TLS is covered
// end to end by tests/ctl/tls_itest.py and the agent's itests.
#include "client/async.hpp"
#include "common/asio_net.hpp"

#include <thread>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <doctest/doctest.h>

namespace fc::client {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct SeenRequest {
  std::string method, target, host, user_agent, auth, content_type, connection, body;
};

// A plain blocking server on its own thread: answers `count` connections,
// one request each, with `status`, `body` and a Retry-After; with `silent`, it
// reads the request and then waits until the client gives up and closes.
void client_test_serve(tcp::acceptor& acc, int count, unsigned status, std::string body,
                       bool silent, std::vector<SeenRequest>& seen) {
  for (int i = 0; i < count; ++i) {
    boost::system::error_code ec;
    auto sock = acc.accept(ec);
    if (ec) return;
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::read(sock, buf, req, ec);
    if (ec) continue;
    auto field = [&req](http::field f) { return std::string(req[f]); };
    seen.push_back({std::string(req.method_string()), std::string(req.target()),
                    field(http::field::host), field(http::field::user_agent),
                    field(http::field::authorization), field(http::field::content_type),
                    field(http::field::connection), req.body()});
    if (silent) {
      char byte;
      sock.read_some(asio::buffer(&byte, 1), ec);  // returns when the client closes
      continue;
    }
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/problem+json");
    res.set(http::field::retry_after, "7");
    res.body() = body;
    res.prepare_payload();
    http::write(sock, res, ec);
  }
}

Url loopback_url(const tcp::acceptor& acc, std::string base = "") {
  return {false, "127.0.0.1", std::to_string(acc.local_endpoint().port()), std::move(base)};
}

TEST_SUITE("client") {
  TEST_CASE("async client: request line, headers, response fields") {
    asio::io_context ctx;
    tcp::acceptor acc(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::vector<SeenRequest> seen;
    ClientOptions o;
    o.user_agent = "fleetcommand-test/1";
    auto c = AsyncClient::create(loopback_url(acc, "/base"), "fc_agt_x", o);
    REQUIRE(c);
    std::optional<Result<Response>> got, posted;
    std::thread server([&] { client_test_serve(acc, 2, 429, R"({"title":"slow"})", false, seen); });
    asio::co_spawn(
        ctx,
        [&]() -> awaitable<void> {
          auto g = co_await c.value()->get("/v1/x?a=1", 5s);
          got.emplace(std::move(g));
          auto p = co_await c.value()->post("/v1/y", R"({"k":1})", 5s);
          posted.emplace(std::move(p));
        },
        asio::detached);
    ctx.run_for(10s);
    server.join();
    REQUIRE(got);
    REQUIRE(got->has_value());
    CHECK(got->value().status == 429);
    CHECK(got->value().content_type == "application/problem+json");
    CHECK(got->value().retry_after == "7");
    CHECK(got->value().body == R"({"title":"slow"})");
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].method == "GET");
    CHECK(seen[0].target == "/base/v1/x?a=1");
    CHECK(seen[0].host == "127.0.0.1:" + loopback_url(acc).port);
    CHECK(seen[0].user_agent == "fleetcommand-test/1");
    CHECK(seen[0].auth == "Bearer fc_agt_x");
    CHECK(seen[0].content_type.empty());
    CHECK(seen[0].connection == "close");
    CHECK(seen[1].method == "POST");
    CHECK(seen[1].content_type == "application/json");
    CHECK(seen[1].body == R"({"k":1})");
  }

  TEST_CASE("blocking client: no token sends no Authorization; body limit") {
    asio::io_context ctx;
    tcp::acceptor acc(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::vector<SeenRequest> seen;
    std::thread server(
        [&] { client_test_serve(acc, 2, 200, std::string(2000, 'x'), false, seen); });
    ClientOptions o;
    o.body_limit = 1000;
    auto small = Client::create(loopback_url(acc), "", o);
    REQUIRE(small);
    auto r = small.value()->request("DELETE", "/v1/z", "", 5s);
    REQUIRE_FALSE(r);  // 2000 bytes over a 1000-byte limit
    CHECK(r.error().detail == "read: body limit exceeded");
    auto big = Client::create(loopback_url(acc), "", {});
    REQUIRE(big);
    auto ok_r = big.value()->request("GET", "/v1/z", "", 5s);
    server.join();
    REQUIRE(ok_r);
    CHECK(ok_r.value().body.size() == 2000);
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].method == "DELETE");
    CHECK(seen[0].auth.empty());
  }

  TEST_CASE("network failures: refused is kUnavailable, silence is kTimeout") {
    Url closed;
    {
      asio::io_context probe;
      tcp::acceptor a(probe, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
      closed = loopback_url(a);
    }  // closed: nothing listens on that port now
    auto refused = Client::create(closed, "t", {}).value()->request("GET", "/", "", 2s);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Code::kUnavailable);
    CHECK(refused.error().detail.rfind("connect 127.0.0.1:", 0) == 0);

    asio::io_context ctx;
    tcp::acceptor acc(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::vector<SeenRequest> seen;
    std::thread server([&] { client_test_serve(acc, 1, 200, "", true, seen); });
    auto slow = Client::create(loopback_url(acc), "t", {}).value()->request("GET", "/", "", 300ms);
    server.join();
    REQUIRE_FALSE(slow);
    CHECK(slow.error().code == Code::kTimeout);
    CHECK(slow.error().detail == "read: timed out");
  }

  TEST_CASE("https: a missing CA file is named by the caller's option") {
    ClientOptions o;
    o.ca_file = "/nonexistent/ca.pem";
    o.ca_option = "--ca-bundle";
    auto c = Client::create({true, "127.0.0.1", "443", ""}, "t", o);
    REQUIRE_FALSE(c);
    CHECK(c.error().code == Code::kIo);
    CHECK(c.error().detail.rfind("--ca-bundle /nonexistent/ca.pem: ", 0) == 0);
  }
}

}  // namespace
}  // namespace fc::client

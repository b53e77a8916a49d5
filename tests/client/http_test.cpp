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

// A keep-alive server: on each of `conns` connections it answers requests
// until the client closes (or, with `close_after_one`, closes after the
// first answer without saying so — a server dropping an idle connection).
// Each answer carries two Link headers, a Location and a body of 5 bytes
// (Content-Length 5 on a HEAD too, with no body, RFC 9110 §9.3.2).
void client_test_keep_alive(tcp::acceptor& acc, int conns, bool close_after_one,
                            std::vector<SeenRequest>& seen, std::vector<std::string>& custom) {
  for (int i = 0; i < conns; ++i) {
    boost::system::error_code ec;
    auto sock = acc.accept(ec);
    if (ec) return;
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      http::read(sock, buf, req, ec);
      if (ec) break;
      seen.push_back({std::string(req.method_string()), std::string(req.target()),
                      std::string(req[http::field::host]), "", "", "",
                      std::string(req[http::field::connection]), req.body()});
      custom.emplace_back(req["X-Test"]);
      http::response<http::string_body> res{http::status::created, 11};
      res.set(http::field::link, "<https://a/1>;rel=\"up\"");
      res.insert(http::field::link, "<https://a/2>;rel=\"alternate\"");
      res.set(http::field::location, "https://a/order/" + std::to_string(seen.size()));
      res.body() = "hello";
      res.prepare_payload();
      if (req.method() == http::verb::head) {
        http::response<http::empty_body> head{res.result(), 11};
        for (const auto& f : res) head.set(f.name_string(), f.value());
        http::write(sock, head, ec);
      } else {
        http::write(sock, res, ec);
      }
      if (ec || close_after_one) break;
    }
  }
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

  TEST_CASE("transport: keep-alive, headers both ways, HEAD, every Link header") {
    asio::io_context ctx;
    tcp::acceptor acc(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::vector<SeenRequest> seen;
    std::vector<std::string> custom;
    TransportOptions o;
    o.keep_alive = true;
    auto t = HttpTransport::create(o);
    REQUIRE(t);
    std::thread server([&] { client_test_keep_alive(acc, 1, false, seen, custom); });
    // Named arguments, no temporaries: GCC 12 corrupts a prvalue passed by
    // value to a coroutine inside co_await (certs/https.cpp has the same note).
    const Url url = loopback_url(acc);
    std::vector<Result<HttpReply>> got;
    asio::co_spawn(
        ctx,
        [&]() -> awaitable<void> {
          HttpRequest post;
          post.method = "POST";
          post.target = "/acme/new-order";
          post.headers.push_back({"X-Test", "jws"});
          post.headers.push_back({"Content-Type", "application/jose+json"});
          post.body = R"({"payload":""})";
          auto a = co_await t.value()->send(url, post, 5s);
          got.push_back(std::move(a));
          HttpRequest head;
          head.method = "HEAD";
          head.target = "/acme/new-nonce";
          auto b = co_await t.value()->send(url, head, 5s);
          got.push_back(std::move(b));
        },
        asio::detached);
    ctx.run_for(10s);
    t.value().reset();  // closes the kept connection: the server's loop ends
    server.join();
    REQUIRE(got.size() == 2);
    REQUIRE(got[0]);
    CHECK(got[0].value().status == 201);
    CHECK(got[0].value().body == "hello");
    CHECK_FALSE(got[0].value().reused);
    CHECK(got[0].value().header("location") == "https://a/order/1");
    CHECK(got[0].value().header_values("Link") ==
          std::vector<std::string>{"<https://a/1>;rel=\"up\"", "<https://a/2>;rel=\"alternate\""});
    REQUIRE(got[1]);
    CHECK(got[1].value().reused);  // one connection for both
    CHECK(got[1].value().body.empty());
    CHECK(got[1].value().header("Content-Length") == "5");
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].method == "POST");
    CHECK(seen[0].body == R"({"payload":""})");
    CHECK(seen[0].connection.empty());  // HTTP/1.1: keep-alive is the default
    CHECK(custom[0] == "jws");
    CHECK(seen[1].method == "HEAD");
  }

  TEST_CASE("transport: a kept connection the server dropped is retried once, on a new one") {
    asio::io_context ctx;
    tcp::acceptor acc(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::vector<SeenRequest> seen;
    std::vector<std::string> custom;
    TransportOptions o;
    o.keep_alive = true;
    auto t = HttpTransport::create(o);
    REQUIRE(t);
    std::thread server([&] { client_test_keep_alive(acc, 2, true, seen, custom); });
    const Url url = loopback_url(acc);
    const HttpRequest plain;
    std::vector<Result<HttpReply>> got;
    asio::co_spawn(
        ctx,
        [&]() -> awaitable<void> {
          for (int i = 0; i < 2; ++i) {
            auto r = co_await t.value()->send(url, plain, 5s);
            got.push_back(std::move(r));
          }
        },
        asio::detached);
    ctx.run_for(10s);
    server.join();
    REQUIRE(got.size() == 2);
    REQUIRE(got[1]);  // not "end of stream": sent again on a new connection
    CHECK(got[1].value().status == 201);
    CHECK_FALSE(got[1].value().reused);
    CHECK(seen.size() == 2);
  }

  TEST_CASE("transport: connect_to pins the address, Host stays the URL's; body limit") {
    asio::io_context ctx;
    tcp::acceptor acc(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::vector<SeenRequest> seen;
    std::thread server(
        [&] { client_test_serve(acc, 1, 200, std::string(2000, 'x'), false, seen); });
    TransportOptions o;
    o.body_limit = 1000;
    auto t = HttpTransport::create(o);
    REQUIRE(t);
    const std::string port = loopback_url(acc).port;
    const Url hooks{false, "hooks.example.invalid", port, ""};  // never resolved
    std::vector<Result<HttpReply>> got;
    asio::co_spawn(
        ctx,
        [&]() -> awaitable<void> {
          HttpRequest req;
          req.connect_to = "127.0.0.1";
          auto r = co_await t.value()->send(hooks, req, 5s);
          got.push_back(std::move(r));
          HttpRequest bad;
          bad.connect_to = "hooks.example.invalid";  // a name, not an address
          auto b = co_await t.value()->send(hooks, bad, 5s);
          got.push_back(std::move(b));
        },
        asio::detached);
    ctx.run_for(10s);
    server.join();
    REQUIRE(got.size() == 2);
    REQUIRE_FALSE(got[0]);
    CHECK(got[0].error().code == Code::kTooLarge);  // 2000 bytes over 1000
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].host == "hooks.example.invalid:" + port);
    CHECK(seen[0].connection == "close");
    REQUIRE_FALSE(got[1]);
    CHECK(got[1].error().code == Code::kInvalidArgument);
  }

  TEST_CASE("transport: truncate_body answers the status of a reply over the limit") {
    asio::io_context ctx;
    tcp::acceptor acc(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::vector<SeenRequest> seen;
    std::thread server(
        [&] { client_test_serve(acc, 1, 202, std::string(100000, 'x'), false, seen); });
    TransportOptions o;
    o.body_limit = 64 * 1024;
    o.truncate_body = true;  // the webhook sender's setting
    o.keep_alive = true;
    auto t = HttpTransport::create(o);
    REQUIRE(t);
    const Url url = loopback_url(acc);
    std::optional<Result<HttpReply>> got;
    asio::co_spawn(
        ctx,
        [&]() -> awaitable<void> {
          HttpRequest req;
          req.method = "POST";
          req.body = "{}";
          auto r = co_await t.value()->send(url, req, 5s);
          got.emplace(std::move(r));
        },
        asio::detached);
    ctx.run_for(10s);
    server.join();
    REQUIRE(got);
    REQUIRE(*got);
    CHECK(got->value().status == 202);
    CHECK(got->value().truncated);
    CHECK(got->value().body.size() <= 64 * 1024);
  }

  TEST_CASE("transport: a header or method that would split the request is refused unsent") {
    asio::io_context ctx;
    auto t = HttpTransport::create({});
    REQUIRE(t);
    const Url nowhere{false, "127.0.0.1", "9", ""};  // never connected to
    std::vector<HttpRequest> bad(4);
    bad[0].headers.push_back({"X-Sig", "a\r\nX-Injected: 1"});
    bad[1].headers.push_back({"X-Bad Name", "v"});
    bad[2].method = "GET /x HTTP/1.1\r\n";
    bad[3].target = "/a b";
    std::vector<Result<HttpReply>> got;
    asio::co_spawn(
        ctx,
        [&]() -> awaitable<void> {
          for (const auto& r : bad) {
            auto g = co_await t.value()->send(nowhere, r, 1s);
            got.push_back(std::move(g));
          }
        },
        asio::detached);
    ctx.run_for(5s);
    REQUIRE(got.size() == 4);
    for (const auto& g : got) {
      REQUIRE_FALSE(g);
      CHECK(g.error().code == Code::kInvalidArgument);
    }
    CHECK(got[0].error().detail == "header X-Sig: CR, LF or NUL in its value");
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

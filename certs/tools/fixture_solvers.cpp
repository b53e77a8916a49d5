#include "certs/tools/fixture_solvers.hpp"
#include "common/asio_net.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace fc::certs::fixture {
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";

awaitable<void> serve_one(tcp::socket sock,
                          std::shared_ptr<std::map<std::string, std::string>> tokens,
                          std::shared_ptr<int> served) {
  beast::tcp_stream stream(std::move(sock));
  beast::flat_buffer buf;
  error_code ec;
  for (int i = 0; i < 8; ++i) {  // bounded keep-alive
    stream.expires_after(std::chrono::seconds(10));
    http::request<http::string_body> req;
    co_await http::async_read(stream, buf, req, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    http::response<http::string_body> res{http::status::not_found, req.version()};
    const std::string target(req.target());
    if (target.starts_with(kPrefix)) {
      auto it = tokens->find(target.substr(kPrefix.size()));
      if (it != tokens->end()) {
        res.result(http::status::ok);
        res.body() = it->second;
        ++*served;
      }
    }
    res.set(http::field::content_type, "text/plain");
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
    if (ec || !req.keep_alive()) co_return;
  }
}

awaitable<void> accept_loop(tcp::acceptor acceptor,
                            std::shared_ptr<std::map<std::string, std::string>> tokens,
                            std::shared_ptr<int> served) {
  while (true) {
    error_code ec;
    tcp::socket sock = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    asio::co_spawn(acceptor.get_executor(), serve_one(std::move(sock), tokens, served),
                   asio::detached);
  }
}

}  // namespace

Http01Responder::Http01Responder(asio::any_io_executor ex, unsigned short port)
    : tokens_(std::make_shared<std::map<std::string, std::string>>()),
      served_(std::make_shared<int>(0)) {
  tcp::acceptor acceptor(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::co_spawn(ex, accept_loop(std::move(acceptor), tokens_, served_), asio::detached);
}

awaitable<Status> Http01Responder::present(std::string, std::string token, std::string key_auth) {
  (*tokens_)[token] = key_auth;
  co_return ok();
}

awaitable<Status> Http01Responder::cleanup(std::string, std::string token, std::string) {
  tokens_->erase(token);
  co_return ok();
}

awaitable<Status> ChallTestSrvDns01::post(std::string path, std::string body) {
  auto ex = co_await asio::this_coro::executor;
  error_code ec;
  tcp::resolver resolver(ex);
  auto eps = co_await resolver.async_resolve(host_, port_, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return make_error(Code::kUnavailable, "challtestsrv resolve: " + ec.message());
  beast::tcp_stream stream(ex);
  stream.expires_after(std::chrono::seconds(10));
  co_await stream.async_connect(eps, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return make_error(Code::kUnavailable, "challtestsrv connect: " + ec.message());
  http::request<http::string_body> req{http::verb::post, path, 11};
  req.set(http::field::host, host_);
  req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  co_await http::async_write(stream, req, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return make_error(Code::kUnavailable, "challtestsrv write: " + ec.message());
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  co_await http::async_read(stream, buf, res, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return make_error(Code::kUnavailable, "challtestsrv read: " + ec.message());
  if (res.result_int() != 200)
    co_return make_error(Code::kUnavailable,
                         "challtestsrv " + path + " → " + std::to_string(res.result_int()));
  co_return ok();
}

awaitable<Status> ChallTestSrvDns01::present(std::string domain, std::string,
                                             std::string key_auth) {
  nlohmann::json body{{"host", "_acme-challenge." + domain + "."},
                      {"value", dns01_txt_value(key_auth)}};
  auto r = co_await post("/set-txt", body.dump());
  co_return r;
}

awaitable<Status> ChallTestSrvDns01::cleanup(std::string domain, std::string, std::string) {
  nlohmann::json body{{"host", "_acme-challenge." + domain + "."}};
  auto r = co_await post("/clear-txt", body.dump());
  co_return r;
}

}  // namespace fc::certs::fixture

// Test-only solvers for fc-acme-fixture: an HTTP-01 responder on a loopback
// port, and a DNS-01 solver that drives pebble-challtestsrv's management API.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "certs/acme.hpp"

namespace fc::certs::fixture {

class Http01Responder final : public Solver {
 public:
  // Binds 127.0.0.1:port at once (throws on failure: a test setup error).
  Http01Responder(asio::any_io_executor ex, unsigned short port);
  std::string type() const override { return "http-01"; }
  awaitable<Status> present(std::string domain, std::string token, std::string key_auth) override;
  awaitable<Status> cleanup(std::string domain, std::string token, std::string key_auth) override;
  int served() const { return *served_; }

 private:
  std::shared_ptr<std::map<std::string, std::string>> tokens_;
  std::shared_ptr<int> served_;
};

class ChallTestSrvDns01 final : public Solver {
 public:
  ChallTestSrvDns01(std::string host, std::string port)
      : host_(std::move(host)), port_(std::move(port)) {}
  std::string type() const override { return "dns-01"; }
  awaitable<Status> present(std::string domain, std::string token, std::string key_auth) override;
  awaitable<Status> cleanup(std::string domain, std::string token, std::string key_auth) override;

 private:
  awaitable<Status> post(std::string path, std::string body);
  std::string host_, port_;
};

}  // namespace fc::certs::fixture

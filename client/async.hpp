// The coroutine face of the shared HTTP client (client/client.hpp): the agent
// long-polls and heartbeats on its one io_context with it. Only the Asio core
// (common/asio.hpp, for awaitable) is visible here; sockets, Beast and
// OpenSSL stay in client/http.cpp.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "client/client.hpp"
#include "common/asio.hpp"

namespace fc::client {

class AsyncClient {
 public:
  static Result<std::unique_ptr<AsyncClient>> create(Url url, std::string token,
                                                     ClientOptions opts);
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  // As Client::request, on the caller's executor. A long-poll is a GET whose
  // timeout covers the server's `wait` plus a margin.
  awaitable<Result<Response>> request(std::string method, std::string target, std::string body,
                                      std::chrono::milliseconds timeout);
  awaitable<Result<Response>> get(std::string target, std::chrono::milliseconds timeout);
  awaitable<Result<Response>> post(std::string target, std::string body,
                                   std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit AsyncClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fc::client

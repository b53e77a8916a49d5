// Socket helpers shared by the server (NOTIFY), the resolver and the update
// client: host:port parsing, CIDR matching, one-shot UDP and TCP exchanges
// that time out with a steady_timer cancelling the socket (Boost 1.74 rules).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>  // before common/asio.hpp, which uses std::optional without including it
#include <span>
#include <string>
#include <vector>

#include "common/asio.hpp"
#include "common/asio_net.hpp"
#include "common/result.hpp"

namespace fc::dns::detail {

using udp = asio::ip::udp;
using tcp = asio::ip::tcp;

// "127.0.0.1:53", "[::1]:53". IP literals only (no name resolution).
Result<udp::endpoint> parse_host_port(const std::string& s);

struct Cidr {
  asio::ip::address_v6::bytes_type net{};  // IPv4 as v4-mapped IPv6
  unsigned bits = 128;
  static Result<Cidr> parse(const std::string& s);  // "10.0.0.0/8", "::1", "127.0.0.1"
  bool contains(const asio::ip::address& a) const;
};

using Accept = std::function<bool(std::span<const std::uint8_t>)>;

// Sends `query` from a fresh socket on an ephemeral port (a random source port
// per query) and waits for a datagram from `to` that `accept` approves.
awaitable<Result<std::vector<std::uint8_t>>> udp_exchange(udp::endpoint to,
                                                          std::vector<std::uint8_t> query,
                                                          std::chrono::milliseconds timeout,
                                                          Accept accept);

// One query over TCP (2-byte length framing, RFC 1035 §4.2.2); reads messages
// until `done` returns true (a single response, or the last SOA of a transfer).
awaitable<Result<std::vector<std::vector<std::uint8_t>>>> tcp_exchange(
    tcp::endpoint to, std::vector<std::uint8_t> query, std::chrono::milliseconds timeout,
    Accept done);

std::uint16_t random_id();

}  // namespace fc::dns::detail

// End to end on loopback, port 0: the server, the stub resolver and NOTIFY, on
// one io_context that runs until the work is done (bounded by run_for).
#include "dns/server.hpp"
#include "common/asio_net.hpp"

#include <doctest/doctest.h>

#include <optional>

#include "common/asio.hpp"
#include "helpers.hpp"

using namespace fc;
using namespace fc::dns;
using namespace fc::dns::test;
using asio::ip::udp;

TEST_SUITE("dns") {
  ZoneSpec small_zone(std::uint32_t serial, bool with_new) {
    ZoneSpec s;
    s.origin = "fleet.test.";
    s.mname = "ns1.fleet.test.";
    s.rname = "hostmaster.fleet.test.";
    s.serial = serial;
    s.nameservers = {{"ns1.fleet.test.", {"127.0.0.1"}, {}}};
    s.records = {{"www.fleet.test.", RrType::kA, 60, RD(RrType::kA, "192.0.2.1")},
                 {"alias.fleet.test.", RrType::kCname, 60, RD(RrType::kCname, "www.fleet.test.")}};
    for (int i = 0; i < 30; ++i)
      s.records.push_back(
          {"big.fleet.test.", RrType::kTxt, 60,
           RD(RrType::kTxt, "\"" + std::string(100, 'q') + std::to_string(i) + "\"")});
    if (with_new)
      s.records.push_back({"new.fleet.test.", RrType::kA, 60, RD(RrType::kA, "192.0.2.77")});
    return s;
  }

  // A stand-in secondary: acknowledges `count` NOTIFYs and records their serials.
  awaitable<void> secondary(udp::socket & sock, int count, std::vector<std::uint32_t>& serials) {
    std::vector<std::uint8_t> buf(4096);
    for (int i = 0; i < count; ++i) {
      udp::endpoint from;
      const std::size_t n =
          co_await sock.async_receive_from(asio::buffer(buf), from, use_awaitable);
      auto m = parse(std::span(buf.data(), n));
      if (!m || m.value().header.opcode != Opcode::kNotify) continue;
      serials.push_back(std::get<SoaRdata>(m.value().answers.at(0).rdata).serial);
      Message ack;
      ack.header = m.value().header;
      ack.header.qr = true;
      ack.questions = m.value().questions;
      const auto wire = serialize(ack);
      co_await sock.async_send_to(asio::buffer(wire), from, use_awaitable);
    }
  }

  struct Observed {
    std::optional<Result<Resolution>> www, alias, big, fresh, nx;
  };

  awaitable<void> client(Server & server, std::string addr, Observed & seen) {
    ResolverOptions o;
    o.servers = {addr};
    o.timeout = std::chrono::milliseconds(2000);
    auto www = co_await resolve(o, N("www.fleet.test"), RrType::kA);
    seen.www = std::move(www);
    auto alias = co_await resolve(o, N("ALIAS.fleet.test"), RrType::kA);
    seen.alias = std::move(alias);
    auto big = co_await resolve(o, N("big.fleet.test"), RrType::kTxt);
    seen.big = std::move(big);
    server.publish(ZoneSnapshot::build(small_zone(2, true)).value());
    auto fresh = co_await resolve(o, N("new.fleet.test"), RrType::kA);
    seen.fresh = std::move(fresh);
    auto nx = co_await resolve(o, N("gone.fleet.test"), RrType::kA);
    seen.nx = std::move(nx);
  }

  TEST_CASE("server on port 0: UDP+TCP answers, publish swaps the zone, NOTIFY per serial") {
    asio::io_context io;
    ManualClock clock;
    udp::socket sec(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.secondaries = {"127.0.0.1:" + std::to_string(sec.local_endpoint().port())};
    o.notify_timeout = std::chrono::milliseconds(500);
    Server server(io, o, clock);
    server.publish(ZoneSnapshot::build(small_zone(1, false)).value());
    REQUIRE(server.start());
    REQUIRE(server.port() != 0);
    std::vector<std::uint32_t> serials;
    Observed seen;
    int pending = 2;
    auto done = [&](std::exception_ptr e) {
      CHECK_FALSE(e);
      if (--pending == 0) server.stop();
    };
    asio::co_spawn(io, secondary(sec, 2, serials), done);
    asio::co_spawn(io, client(server, "127.0.0.1:" + std::to_string(server.port()), seen), done);
    io.run_for(std::chrono::seconds(20));
    CHECK(pending == 0);
    REQUIRE(seen.nx);
    REQUIRE(seen.www->has_value());
    CHECK(seen.www->value().records.size() == 1);
    CHECK(seen.www->value().authoritative);
    CHECK(seen.alias->value().cname_chain.size() == 1);
    CHECK(seen.alias->value().records.size() == 1);
    CHECK(seen.big->value().records.size() == 30);  // > 1232 bytes: TC, then TCP
    CHECK(seen.fresh->value().records.size() == 1);
    CHECK(seen.nx->value().rcode == Rcode::kNxDomain);
    CHECK(serials == std::vector<std::uint32_t>{1, 2});
    CHECK(server.stats().notifies_acked == 2);
    CHECK(server.stats().tcp_queries >= 1);
    CHECK(server.zone()->serial() == 2);
  }

  TEST_CASE("server start errors are values") {
    asio::io_context io;
    ManualClock clock;
    ServerOptions o;
    o.listen = "not-an-address:53";
    Server bad_listen(io, o, clock);
    CHECK_FALSE(bad_listen.start());
    o.listen = "127.0.0.1:0";
    o.axfr_allow = {"10.0.0.0/33"};
    Server bad_acl(io, o, clock);
    CHECK_FALSE(bad_acl.start());
  }

  TEST_CASE("build_update: RFC 2136 sections and classes") {
    UpdateRequest req;
    req.zone = "customer.test.";
    req.ops = {
        {UpdateOp::Kind::kAdd,
         Record{N("a.customer.test"), RrType::kA, kClassIn, 60, RD(RrType::kA, "192.0.2.1")}},
        {UpdateOp::Kind::kDeleteRrset,
         Record{N("b.customer.test"), RrType::kTxt, kClassIn, 60, {}}},
        {UpdateOp::Kind::kDeleteRecord,
         Record{N("c.customer.test"), RrType::kA, kClassIn, 60, RD(RrType::kA, "192.0.2.3")}},
        {UpdateOp::Kind::kDeleteName, Record{N("d.customer.test"), RrType::kA, kClassIn, 60, {}}}};
    auto m = build_update(req, 9);
    REQUIRE(m);
    CHECK(m.value().header.opcode == Opcode::kUpdate);
    CHECK(m.value().questions.at(0) == Question{N("customer.test"), RrType::kSoa, kClassIn});
    const auto& up = m.value().authority;
    REQUIRE(up.size() == 4);
    CHECK(up[0].klass == kClassIn);
    CHECK((up[1].klass == kClassAny && up[1].ttl == 0 && up[1].rdata == Rdata{OpaqueRdata{}}));
    CHECK((up[2].klass == kClassNone && up[2].ttl == 0));
    CHECK((up[3].klass == kClassAny && up[3].type == RrType::kAny));
    auto back = parse(serialize(m.value()));
    REQUIRE(back);
    CHECK(back.value() == m.value());
    req.ops.push_back({UpdateOp::Kind::kAdd, Record{N("x.other.test"), RrType::kA, kClassIn, 60,
                                                    RD(RrType::kA, "192.0.2.1")}});
    CHECK_FALSE(build_update(req, 9));
  }

}  // TEST_SUITE

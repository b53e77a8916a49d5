// RFC 2136 dynamic update client with TSIG (RFC 8945).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "dns/detail/net.hpp"
#include "dns/server.hpp"

namespace fc::dns {
namespace {

bool is_update_response(std::span<const std::uint8_t> w, std::uint16_t id) {
  return w.size() >= kHeaderSize && ((w[0] << 8) | w[1]) == id && (w[2] & 0x80) &&
         ((w[2] >> 3) & 0xF) == static_cast<int>(Opcode::kUpdate);
}

awaitable<Result<std::vector<std::uint8_t>>> exchange(detail::udp::endpoint ep,
                                                      std::vector<std::uint8_t> wire,
                                                      std::uint16_t id, UpdateRequest req) {
  Error last = make_error(Code::kTimeout, "no answer from " + req.server);
  auto accept = [id](std::span<const std::uint8_t> w) { return is_update_response(w, id); };
  for (int attempt = 0; attempt < std::max(1, req.attempts); ++attempt) {
    auto got = co_await detail::udp_exchange(ep, wire, req.timeout, accept);
    if (!got) {
      last = got.error();
      continue;
    }
    if (!(got.value()[2] & 0x02)) co_return got;
    auto t = co_await detail::tcp_exchange(detail::tcp::endpoint(ep.address(), ep.port()), wire,
                                           req.timeout, accept);
    if (!t) co_return t.error();
    co_return std::move(t.value().front());
  }
  co_return last;
}

// Checks the response's TSIG (RFC 8945 §5.3.2 / §5.4).
Result<Rcode> check_response(std::span<const std::uint8_t> wire, const UpdateRequest& req,
                             const std::vector<std::uint8_t>& request_mac, std::uint64_t now) {
  BOOST_OUTCOME_TRY(m, parse(wire));
  const Rcode rc = m.full_rcode();
  if (m.tsig) {
    const auto& t = std::get<TsigRdata>(m.tsig->rdata);
    if (t.error != 0)
      return make_error(Errc::kNotAuth,
                        "server rejected our TSIG: " + rcode_name(static_cast<Rcode>(t.error)) +
                            " (rcode " + rcode_name(rc) + ")");
    if (!req.key) return make_error(Errc::kBadResponseTsig, "signed answer to an unsigned update");
    const TsigKey keys[] = {*req.key};
    BOOST_OUTCOME_TRY(v, tsig_verify(wire, keys, TsigSignOptions{now, 300, request_mac, false, 0}));
    if (v.error != 0)
      return make_error(Errc::kBadResponseTsig,
                        "bad TSIG on the response: " + rcode_name(static_cast<Rcode>(v.error)));
    return rc;
  }
  if (rc == Rcode::kNotAuth) return make_error(Errc::kNotAuth, "server answered NOTAUTH");
  if (req.key && rc == Rcode::kNoError)
    return make_error(Errc::kBadResponseTsig, "unsigned answer to a signed update");
  return rc;
}

Record update_record(const UpdateOp& op) {
  Record r = op.record;
  switch (op.kind) {
    case UpdateOp::Kind::kAdd: r.klass = kClassIn; break;
    case UpdateOp::Kind::kDeleteRrset:  // RFC 2136 §2.5.2
      r = Record{op.record.name, op.record.type, kClassAny, 0, Rdata{OpaqueRdata{}}};
      break;
    case UpdateOp::Kind::kDeleteRecord:  // §2.5.4
      r.klass = kClassNone;
      r.ttl = 0;
      break;
    case UpdateOp::Kind::kDeleteName:  // §2.5.3
      r = Record{op.record.name, RrType::kAny, kClassAny, 0, Rdata{OpaqueRdata{}}};
      break;
  }
  return r;
}

}  // namespace

Result<Message> build_update(const UpdateRequest& req, std::uint16_t id) {
  BOOST_OUTCOME_TRY(zone, Name::from_text(req.zone));
  Message m;
  m.header.id = id;
  m.header.opcode = Opcode::kUpdate;
  m.questions.push_back(Question{zone, RrType::kSoa, kClassIn});  // the zone section
  for (const auto& op : req.ops) {
    if (!op.record.name.is_subdomain_of(zone))
      return make_error(Code::kInvalidArgument,
                        op.record.name.to_text() + " is outside " + zone.to_text());
    m.authority.push_back(update_record(op));  // the update section
  }
  return m;
}

awaitable<Result<Rcode>> send_update(UpdateRequest req, const Clock& clock) {
  auto ep = detail::parse_host_port(req.server);
  if (!ep) co_return ep.error();
  const std::uint16_t id = detail::random_id();
  auto msg = build_update(req, id);
  if (!msg) co_return msg.error();
  std::vector<std::uint8_t> wire = serialize(msg.value());
  std::vector<std::uint8_t> mac;
  const auto now = static_cast<std::uint64_t>(clock.now_ms() / 1000);
  if (req.key) {
    auto s = tsig_sign(wire, *req.key, TsigSignOptions{now, 300, {}, false, 0});
    if (!s) co_return s.error();
    wire = std::move(s.value().wire);
    mac = std::move(s.value().mac);
  }
  auto got = co_await exchange(ep.value(), wire, id, req);
  if (!got) co_return got.error();
  co_return check_response(got.value(), req, mac, now);
}

}  // namespace fc::dns

namespace fc::dns {
namespace {

std::string lower_zone(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

Result<std::vector<Rfc2136Target>> parse_rfc2136_targets(const nlohmann::json& providers) {
  std::vector<Rfc2136Target> out;
  if (!providers.is_array()) return out;
  for (const auto& p : providers) {
    if (!p.is_object() || p.value("type", "rfc2136") != "rfc2136") continue;
    Rfc2136Target t;
    t.server = p.value("server", "");
    t.zone = lower_zone(p.value("zone", ""));
    t.id = t.server + "/" + t.zone;
    if (p.contains("retry_base_ms"))
      t.retry_base = std::chrono::milliseconds(p["retry_base_ms"].get<std::int64_t>());
    if (p.contains("nameservers") && p["nameservers"].is_array())
      for (const auto& n : p["nameservers"])
        if (n.is_string()) t.nameservers.push_back(n.get<std::string>());
    if (p.contains("nameserver_port"))
      t.nameserver_port = static_cast<std::uint16_t>(p["nameserver_port"].get<std::int64_t>());
    if (p.contains("propagation_timeout_ms"))
      t.propagation_timeout =
          std::chrono::milliseconds(p["propagation_timeout_ms"].get<std::int64_t>());
    if (p.contains("tsig") && p["tsig"].is_object()) {
      const auto& k = p["tsig"];
      auto key = TsigKey::from_base64(k.value("name", ""), k.value("algorithm", "hmac-sha256"),
                                      k.value("secret", ""));
      if (!key)
        return make_error(key.error().code,
                          "dns.providers " + t.zone + ".tsig: " + key.error().detail);
      t.key = key.value();
    }
    out.push_back(std::move(t));
  }
  return out;
}

awaitable<Status> update(const Rfc2136Target& target, std::vector<UpdateOp> ops,
                         std::chrono::milliseconds timeout, const Clock& clock) {
  UpdateRequest req;
  req.server = target.server;
  req.zone = target.zone + ".";
  req.key = target.key;
  req.ops = std::move(ops);
  req.timeout = timeout;
  auto rc = co_await send_update(std::move(req), clock);
  if (!rc) co_return rc.error();
  if (rc.value() != Rcode::kNoError)
    co_return make_error(Errc::kUpdateRejected, "update answered " + rcode_name(rc.value()));
  co_return ok();
}

}  // namespace fc::dns

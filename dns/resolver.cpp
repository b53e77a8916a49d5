// Stub resolver: UDP with TCP fallback on TC, across a list of servers.
#include "dns/detail/net.hpp"
#include "dns/server.hpp"

namespace fc::dns {
namespace {

constexpr int kMaxChain = 16;

// The response must echo our id and our question (RFC 5452 §9.1).
bool matches(std::span<const std::uint8_t> w, std::uint16_t id, const Question& q) {
  if (w.size() < kHeaderSize || ((w[0] << 8) | w[1]) != id || !(w[2] & 0x80)) return false;
  auto m = parse(w);
  return m && m.value().questions.size() == 1 && m.value().questions.front() == q;
}

Resolution extract(const Message& m, const Name& name, RrType type, std::string server) {
  Resolution r;
  r.rcode = m.full_rcode();
  r.authoritative = m.header.aa;
  r.authority = m.authority;
  r.server = std::move(server);
  Name cur = name;
  for (int hop = 0; hop < kMaxChain; ++hop) {
    for (const auto& rec : m.answers)
      if (rec.name == cur && (rec.type == type || type == RrType::kAny)) r.records.push_back(rec);
    if (!r.records.empty() || type == RrType::kCname) break;
    auto cname = std::find_if(m.answers.begin(), m.answers.end(), [&](const Record& rec) {
      return rec.name == cur && rec.type == RrType::kCname;
    });
    if (cname == m.answers.end()) break;
    cur = std::get<CnameRdata>(cname->rdata).target;
    r.cname_chain.push_back(cur);
  }
  r.name = cur;
  return r;
}

awaitable<Result<Message>> ask(detail::udp::endpoint ep, Question q, ResolverOptions opts) {
  Message m;
  m.header.id = detail::random_id();
  m.header.rd = opts.recursion_desired;
  m.questions.push_back(q);
  m.edns = Edns{opts.udp_size, 0, 0, false, {}};
  const auto wire = serialize(m);
  const std::uint16_t id = m.header.id;
  auto accept = [id, q](std::span<const std::uint8_t> w) { return matches(w, id, q); };
  auto got = co_await detail::udp_exchange(ep, wire, opts.timeout, accept);
  if (!got) co_return got.error();
  auto resp = parse(got.value());
  if (!resp) co_return resp.error();
  if (!resp.value().header.tc) co_return std::move(resp.value());
  // RFC 7766 §5: truncated over UDP → ask again over TCP.
  auto t = co_await detail::tcp_exchange(detail::tcp::endpoint(ep.address(), ep.port()), wire,
                                         opts.timeout,
                                         [](std::span<const std::uint8_t>) { return true; });
  if (!t) co_return t.error();
  if (!matches(t.value().front(), id, q))
    co_return make_error(Code::kParse, "TCP answer does not match the query");
  co_return parse(t.value().front());
}

}  // namespace

awaitable<Result<Resolution>> resolve(ResolverOptions opts, Name name, RrType type) {
  if (opts.servers.empty())
    co_return make_error(Code::kInvalidArgument, "no resolver servers configured");
  std::vector<detail::udp::endpoint> eps;
  for (const auto& s : opts.servers) {
    auto ep = detail::parse_host_port(s);
    if (!ep) co_return ep.error();
    eps.push_back(ep.value());
  }
  const Question q{name, type, kClassIn};
  Error last = make_error(Code::kTimeout, "no server answered");
  std::optional<Resolution> fallback;  // a SERVFAIL/REFUSED answer, if nothing better comes
  for (int attempt = 0; attempt < std::max(1, opts.attempts); ++attempt) {
    for (std::size_t i = 0; i < eps.size(); ++i) {
      auto m = co_await ask(eps[i], q, opts);
      if (!m) {
        last = m.error();
        continue;
      }
      Resolution r = extract(m.value(), name, type, opts.servers[i]);
      if (r.rcode == Rcode::kNoError || r.rcode == Rcode::kNxDomain) co_return r;
      if (!fallback) fallback = std::move(r);
    }
  }
  if (fallback) co_return std::move(*fallback);
  co_return last;
}

}  // namespace fc::dns

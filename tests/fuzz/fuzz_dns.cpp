// libFuzzer target for the DNS codec (cf. Knot tests-fuzz/fuzz_packet.c):
// parse must never crash or over-read; whatever parses must re-serialize to a
// message that parses to the same value (round trip), and the authoritative
// responder must handle it; and where the UDP answer cache accepts a query, a
// cache hit for a variant of it (other id, flipped case, other RD/CD) must be
// byte-for-byte the full path's reply to that variant. Seeds: tests/fuzz/corpus/dns/.
#include <cstdint>
#include <cstdlib>
#include <span>

#include <algorithm>
#include <vector>

#include "dns/codec.hpp"
#include "dns/detail/fast_path.hpp"
#include "dns/detail/responder.hpp"
#include "dns/server.hpp"

namespace {
const std::shared_ptr<const fc::dns::ZoneSnapshot>& zone() {
  static auto z = [] {
    fc::dns::ZoneSpec s;
    s.origin = "fleet.test.";
    s.mname = "ns1.fleet.test.";
    s.rname = "hostmaster.fleet.test.";
    s.nameservers = {{"ns1.fleet.test.", {"127.0.0.1"}, {}}};
    s.records = {{"www.fleet.test.", fc::dns::RrType::kA, 60,
                  fc::dns::rdata_from_text(fc::dns::RrType::kA, "192.0.2.1").value()},
                 {"alias.fleet.test.", fc::dns::RrType::kCname, 60,
                  fc::dns::rdata_from_text(fc::dns::RrType::kCname, "www.fleet.test.").value()},
                 {"*.apps.fleet.test.", fc::dns::RrType::kA, 60,
                  fc::dns::rdata_from_text(fc::dns::RrType::kA, "192.0.2.8").value()}};
    return fc::dns::ZoneSnapshot::build(s).value();
  }();
  return z;
}

void check_cache(std::span<const std::uint8_t> in) {
  namespace d = fc::dns::detail;
  auto key = d::fast_key(in, 1232);
  if (!key) return;
  d::QueryContext udp;
  auto full = d::handle_query(*zone(), in, udp);
  if (full.wires.size() != 1) return;
  d::AnswerCache cache(4);
  cache.use_zone(zone());
  cache.store(*key, full.wires.front());
  std::vector<std::uint8_t> variant(in.begin(), in.end());
  variant[0] ^= 0x5a;
  variant[2] ^= 0x01;  // RD
  variant[3] ^= 0x10;  // CD
  for (std::size_t i = 12; i < 12u + key->qname_len; ++i)
    if ((variant[i] | 0x20) >= 'a' && (variant[i] | 0x20) <= 'z') variant[i] ^= 0x20;
  auto vkey = d::fast_key(variant, 1232);
  if (!vkey ||
      !std::equal(vkey->view().begin(), vkey->view().end(), key->view().begin(), key->view().end()))
    std::abort();  // case, id and RD/CD must not change the key
  auto vfull = d::handle_query(*zone(), variant, udp);
  std::vector<std::uint8_t> hit;
  if (!cache.lookup(*vkey, variant, hit)) return;  // not stored (unexpected shape): fine
  if (vfull.wires.size() != 1 || hit != vfull.wires.front()) std::abort();  // cache not invisible
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  auto m = fc::dns::parse(in);
  if (m) {
    const auto wire = fc::dns::serialize(m.value());
    auto again = fc::dns::parse(wire);
    if (!again || !(again.value() == m.value())) std::abort();  // round trip broke
    for (const auto& r : m.value().answers) (void)fc::dns::record_to_text(r);
  }
  fc::dns::detail::QueryContext c;
  c.transport = fc::dns::detail::Transport::kTcp;
  c.acl_allows_transfer = true;
  (void)fc::dns::detail::handle_query(*zone(), in, c);
  check_cache(in);
  return 0;
}

// libFuzzer target for the DNS codec (cf. Knot tests-fuzz/fuzz_packet.c):
// parse must never crash or over-read; whatever parses must re-serialize to a
// message that parses to the same value (round trip), and the authoritative
// responder must handle it. Seeds: tests/fuzz/corpus/dns/.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dns/codec.hpp"
#include "dns/detail/responder.hpp"
#include "dns/server.hpp"

namespace {
const fc::dns::ZoneSnapshot& zone() {
  static auto z = [] {
    fc::dns::ZoneSpec s;
    s.origin = "fleet.test.";
    s.mname = "ns1.fleet.test.";
    s.rname = "hostmaster.fleet.test.";
    s.nameservers = {{"ns1.fleet.test.", {"127.0.0.1"}, {}}};
    s.records = {{"www.fleet.test.", fc::dns::RrType::kA, 60,
                  fc::dns::rdata_from_text(fc::dns::RrType::kA, "192.0.2.1").value()},
                 {"alias.fleet.test.", fc::dns::RrType::kCname, 60,
                  fc::dns::rdata_from_text(fc::dns::RrType::kCname, "www.fleet.test.").value()}};
    return fc::dns::ZoneSnapshot::build(s).value();
  }();
  return *z;
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
  (void)fc::dns::detail::handle_query(zone(), in, c);
  return 0;
}

// Fuzzes everything certs/ parses from an ACME CA (RFC 8555 resources, problem
// documents, Link/Retry-After headers, RFC 3339 times, PEM chains) plus the
// persisted order state and base64url. The first byte picks the parser.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "certs/detail/acme_wire.hpp"
#include "certs/pki.hpp"

using namespace fc::certs;
using namespace fc::certs::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const fc::SysTime now{std::chrono::seconds(1'700'000'000)};
  switch (data[0] % 10) {
    case 0: (void)parse_directory(body); break;
    case 1: (void)parse_order(body); break;
    case 2: (void)parse_authorization(body); break;
    case 3: {
      Problem p = parse_problem(body, 400);
      (void)problem_error(p);
      (void)p.retryable();
      break;
    }
    case 4: (void)parse_renewal_info(body); break;
    case 5:
      (void)parse_links({std::string(body)});
      (void)parse_retry_after(body, now);
      break;
    case 6: (void)parse_rfc3339(body); break;
    case 7: {
      auto st = parse_order_state(body);
      if (st) (void)parse_order_state(serialize_order_state(st.value()));
      break;
    }
    case 8: {
      auto info = parse_leaf(body);
      if (info) (void)top_issuer_cn(body);
      break;
    }
    default: {
      auto dec = base64url_decode(body);
      // Canonical inputs must round-trip exactly.
      if (dec && base64url_encode(dec.value()) != body) __builtin_trap();
      break;
    }
  }
  return 0;
}

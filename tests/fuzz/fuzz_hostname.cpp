// libFuzzer target for the hostname normaliser (domains/hostname.cpp): any
// byte string must be rejected with kInvalidArgument or normalised to a name
// that is lower-case LDH, at most 253 octets, outside the platform zone, and
// a fixed point (normalising it again gives the same name).
// Seeds: tests/fuzz/corpus/hostname/.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "domains/domain.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = fc::domains::normalize_hostname(in, "fleet.test");
  if (!r) {
    if (r.error().code != fc::Code::kInvalidArgument || r.error().detail.empty()) std::abort();
    return 0;
  }
  const std::string& name = r.value();
  if (name.empty() || name.size() > 253) std::abort();
  for (char c : name) {
    bool okc = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!okc) std::abort();
  }
  auto again = fc::domains::normalize_hostname(name, "fleet.test");
  if (!again || again.value() != name) std::abort();
  return 0;
}

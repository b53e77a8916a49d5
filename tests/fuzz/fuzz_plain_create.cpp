// Fuzzes the create body's reader without a DOM (api::detail::read_plain_create,
// POST /v1/workspaces): a body it accepts must be one the DOM path
// (nlohmann's parse, then JsonIn as read_workspace reads it) reads without an
// error, to the same name and resources; the DOM path answers everything it
// does not accept (tests/api/plain_create_test.cpp has the same check).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "api/detail/json_in.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const auto fast = fc::api::detail::read_plain_create(in);
  if (!fast) return 0;
  const auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) std::abort();
  std::vector<fc::api::FieldError> errors;
  fc::api::detail::JsonIn r(errors);
  r.only(j, {"name", "resources"}, "");
  const auto name = r.str(j, "name", "name", true);
  const nlohmann::json* res = r.object(j, "resources", "resources", true);
  if (!res) std::abort();
  r.only(*res, {"memory_mib", "cpu_millis"}, "resources.");
  const auto m = r.integer(*res, "memory_mib", "resources.memory_mib", true);
  const auto c = r.integer(*res, "cpu_millis", "resources.cpu_millis", true);
  if (!errors.empty() || !name || !m || !c) std::abort();
  if (*name != fast->name || *m != fast->memory_mib || *c != fast->cpu_millis) std::abort();
  return 0;
}

// ctl … why: the status chain document as a checklist (ctl/detail/why.cpp).
#include <doctest/doctest.h>

#include "ctl/detail/commands.hpp"

using nlohmann::json;
using namespace fc::ctl;

namespace {

json why_doc() {
  return json::parse(R"({"hostname":"chat.example.com","workspace_id":"ws_1","status":"failed",
    "ok":false,"conditions":[
     {"type":"OwnershipVerified","status":"True","reason":"TxtFound","message":"TXT ok",
      "since":"2026-12-06T13:00:00.000Z","observed_generation":1},
     {"type":"PreflightOK","status":"False","reason":"CaaForbids","message":"CAA at x forbids",
      "since":null,"observed_generation":1,"fix":"remove the CAA record at x"},
     {"type":"Live","status":"Unknown","reason":"Blocked","message":"not evaluated: waiting for PreflightOK",
      "since":null,"observed_generation":1}]})");
}

}  // namespace

TEST_SUITE("ctl") {
  TEST_CASE("why: plain marks, aligned types, the fix under the failing step") {
    const std::int64_t now = 1796562000 + 180;  // 2026-12-06T13:03:00Z
    auto out = render_checklist(why_doc(), ChecklistStyle{false, false}, now);
    CHECK(out ==
          "domain chat.example.com (failed)\n"
          "  [ok]   OwnershipVerified  TXT ok (3m ago)\n"
          "  [FAIL] PreflightOK        CAA at x forbids\n"
          "      fix: remove the CAA record at x\n"
          "  [?]    Live               not evaluated: waiting for PreflightOK\n");
  }

  TEST_CASE("why: symbols and colour on a UTF-8 terminal") {
    auto out = render_checklist(why_doc(), ChecklistStyle{true, true}, 0);
    CHECK(out.find("\x1b[32m\u2713\x1b[0m OwnershipVerified") != std::string::npos);
    CHECK(out.find("\x1b[31m\u2717\x1b[0m PreflightOK") != std::string::npos);
    CHECK(out.find("\x1b[33m?\x1b[0m Live") != std::string::npos);
  }

  TEST_CASE("why: a workspace's header") {
    json d = {{"id", "ws_1"},
              {"name", "acme"},
              {"generation", 3},
              {"ok", true},
              {"conditions", json::array()}};
    CHECK(render_checklist(d, ChecklistStyle{}, 0) == "workspace acme (ws_1), generation 3\n");
  }
}

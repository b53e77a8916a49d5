#include "ctl/detail/suggest.hpp"

#include <doctest/doctest.h>

namespace fc::ctl {
namespace {

TEST_SUITE("ctl") {
  TEST_CASE("edit distance") {
    CHECK(edit_distance("", "") == 0);
    CHECK(edit_distance("abc", "") == 3);
    CHECK(edit_distance("regions", "regoins") == 1);  // a swap
    CHECK(edit_distance("ab", "ba") == 1);
    CHECK(edit_distance("kitten", "sitting") == 3);
  }

  TEST_CASE("nearest: typos and prefixes suggested, far words not") {
    const std::vector<std::string> cmds = {"regions", "workspaces", "domains", "certificates",
                                           "tokens",  "dns",        "context"};
    CHECK(nearest("regoins", cmds) == "regions");
    CHECK(nearest("workspace", cmds) == "workspaces");
    CHECK(nearest("cert", cmds) == "certificates");
    CHECK(nearest("dsn", cmds) == "dns");
    CHECK_FALSE(nearest("banana", cmds).has_value());
    CHECK_FALSE(nearest("x", cmds).has_value());
    const std::vector<std::string> flags = {"--region", "--state", "--limit", "--watch"};
    CHECK(nearest("--regoin", flags) == "--region");
    CHECK(nearest("--wacth", flags) == "--watch");
  }
}

}  // namespace
}  // namespace fc::ctl

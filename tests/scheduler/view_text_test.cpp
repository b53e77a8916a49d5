// The list page's time writer (scheduler/detail/view_text.hpp) against
// format_rfc3339: the same bytes, quoted, for every shape of instant (the
// page must stay byte for byte what json_response of the view gives).
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>

#include "common/clock.hpp"
#include "scheduler/detail/view_text.hpp"

using namespace fc;

TEST_SUITE("scheduler") {
  TEST_CASE("view text: append_rfc3339_json writes format_rfc3339's bytes") {
    const auto same = [](std::int64_t ms) {
      std::string out = "x";
      scheduler::detail::append_rfc3339_json(out, ms);
      CHECK_MESSAGE(out == "x\"" + format_rfc3339(ms) + "\"", ms);
    };
    for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{999},
                            std::int64_t{-1000}, std::int64_t{-1001}, std::int64_t{951782400000},
                            std::int64_t{1796688000123}, std::int64_t{253402300799999},
                            std::int64_t{253402300800000}, std::int64_t{-62167219200000},
                            std::int64_t{-62167219200001}, std::int64_t{4102444800000}})
      same(ms);
    std::mt19937_64 rng(3339);
    for (int i = 0; i < 100000; ++i)
      same(static_cast<std::int64_t>(rng() % 400000000000000ull) - 100000000000000);
  }
}

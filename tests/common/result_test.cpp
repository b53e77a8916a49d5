// fc::Error: generic classes, component codes, stable names.
#include <doctest/doctest.h>

#include <cstddef>
#include <iterator>
#include <set>
#include <string>

#include "common/result.hpp"

namespace fc_result_test {

enum class Errc : std::uint8_t { kFirst = 1, kSecond };
inline constexpr fc::ErrcEntry kEntries[] = {{"first", fc::Code::kConflict},
                                             {"second", fc::Code::kUnavailable}};
inline constexpr fc::ErrorDomain kDomain{"sample", kEntries};
constexpr const fc::ErrorDomain& error_domain(Errc) { return kDomain; }

enum class Other : std::uint8_t { kFirst = 1 };
inline constexpr fc::ErrcEntry kOtherEntries[] = {{"first", fc::Code::kConflict}};
inline constexpr fc::ErrorDomain kOtherDomain{"other", kOtherEntries};
constexpr const fc::ErrorDomain& error_domain(Other) { return kOtherDomain; }

}  // namespace fc_result_test

TEST_SUITE("common") {
  TEST_CASE("a generic error has its class and no component code") {
    fc::Error e = fc::make_error(fc::Code::kNotFound, "no region x");
    CHECK(e.code == fc::Code::kNotFound);
    CHECK(e.domain == nullptr);
    CHECK(e.name() == "not_found");
    CHECK(e.detail == "no region x");
    CHECK_FALSE(e.is(fc_result_test::Errc::kFirst));
  }

  TEST_CASE("a component error carries its domain, value, generic class and a stable name") {
    using fc_result_test::Errc;
    fc::Error e = fc::make_error(Errc::kSecond, "d");
    CHECK(e.code == fc::Code::kUnavailable);
    CHECK(e.domain == &fc_result_test::kDomain);
    CHECK(e.value == 2);
    CHECK(e.name() == "sample.second");
    CHECK(e.is(Errc::kSecond));
    CHECK_FALSE(e.is(Errc::kFirst));
    // Same value, other component: not the same code.
    CHECK_FALSE(fc::make_error(fc_result_test::Other::kFirst, "d").is(Errc::kFirst));
    CHECK(fc::make_error(Errc::kFirst, "d").code == fc::Code::kConflict);
  }

  TEST_CASE("with_context keeps the class and the component code") {
    fc::Error e = fc::with_context(fc::make_error(fc_result_test::Errc::kFirst, "inner"), "outer");
    CHECK(e.detail == "outer: inner");
    CHECK(e.is(fc_result_test::Errc::kFirst));
  }

  TEST_CASE("every generic class has a distinct name") {
    std::set<std::string> names;
    for (int c = 0; c <= static_cast<int>(fc::Code::kInternal); ++c)
      names.insert(fc::code_name(static_cast<fc::Code>(c)));
    CHECK(names.size() == static_cast<std::size_t>(fc::Code::kInternal) + 1);
  }

  TEST_CASE("a value outside the domain falls back to the generic class name") {
    fc::Error e = fc::make_error(static_cast<fc_result_test::Errc>(9), "d");
    CHECK(e.code == fc::Code::kInternal);
    CHECK(e.name() == "internal");
    CHECK(fc_result_test::kDomain.find(0) == nullptr);
    CHECK(fc_result_test::kDomain.find(3) == nullptr);
  }
}

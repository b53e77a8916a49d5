// requeue_leased (storage/jobs.hpp, the block added for certs): at start,
// jobs of one kind left leased by a dead process are queued again at once.
#include <doctest/doctest.h>

#include "backend_util.hpp"
#include "storage/jobs.hpp"
#include "test_util.hpp"

using namespace fc::storage;
using fc::storage::test::kT0;
using fc::storage::test::scalar;

TEST_SUITE("storage") {
  TEST_CASE("requeue_leased queues a kind's leased jobs again, others untouched") {
    test::TempDir dir;
    auto c = test::open_backend(dir.file("r.db"));
    REQUIRE(enqueue(*c, NewJob{"cert.order", "crt_1", "{}", kT0, 0}, kT0));
    REQUIRE(enqueue(*c, NewJob{"mail", "m1", "{}", kT0, 0}, kT0));
    auto leased = lease(*c, R"(["cert.order","mail"])", kT0, 60'000, 10);
    REQUIRE(leased);
    REQUIRE(leased.value().size() == 2);
    REQUIRE(requeue_leased(*c, "cert.order", kT0 + 5));
    CHECK(scalar(*c,
                 "SELECT count(*) FROM jobs WHERE kind = 'cert.order' AND state = 'queued'"
                 " AND run_at = " +
                     std::to_string(kT0 + 5) + " AND lease_until IS NULL") == 1);
    CHECK(scalar(*c, "SELECT count(*) FROM jobs WHERE kind = 'mail' AND state = 'leased'") == 1);
    // Due again at once, well before the 60 s lease would have run out.
    auto again = lease(*c, R"(["cert.order"])", kT0 + 5, 60'000, 10);
    REQUIRE(again);
    CHECK(again.value().size() == 1);
  }
}

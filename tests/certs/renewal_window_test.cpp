#include <doctest/doctest.h>

#include "certs/detail/acme_wire.hpp"
#include "test_util.hpp"

using namespace fc::certs;
using namespace fc::certs::detail;
using namespace std::chrono;
using fc::SysTime;

namespace {
SysTime at(std::int64_t s) { return SysTime{seconds(s)}; }
}  // namespace

TEST_SUITE("certs") {
  TEST_CASE("RFC 9773 §4.1 example certificate identifier") {
    auto aki = test::unhex("69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4");
    auto serial = test::unhex("00:87:65:43:21");
    CHECK(ari_cert_id(aki, serial) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  }

  TEST_CASE("renewal at a ratio of the lifetime") {
    const SysTime nb = at(1'000'000), na = at(1'000'000 + 90 * 86400);
    CHECK(renewal_time_by_ratio(nb, na) == at(1'000'000 + 60 * 86400));
    CHECK(renewal_time_by_ratio(nb, na, 0.5) == at(1'000'000 + 45 * 86400));
    CHECK(renewal_time_by_ratio(na, nb) == na);  // inverted: renew at once
    CHECK_FALSE(in_renewal_window(nb, na, at(1'000'000 + 60 * 86400 - 1)));
    CHECK(in_renewal_window(nb, na, at(1'000'000 + 60 * 86400)));
  }

  TEST_CASE("pick_in_window stays inside [start, end)") {
    const SysTime s = at(100), e = at(200);
    CHECK(pick_in_window(s, e, 0.0) == s);
    CHECK(pick_in_window(s, e, 0.5) == at(150));
    CHECK(pick_in_window(s, e, 1.0) < e);
    CHECK(pick_in_window(s, e, 7.0) < e);
    CHECK(pick_in_window(e, s, 0.5) == e);
  }

  TEST_CASE("choose_renewal_time: ARI window, past window, no ARI") {
    CertInfo cert;
    cert.not_before = at(0);
    cert.not_after = at(90 * 86400);
    RenewalInfo ri;
    ri.window_start = at(50 * 86400);
    ri.window_end = at(52 * 86400);
    CHECK(choose_renewal_time(cert, ri, at(10), 0.5) == at(51 * 86400));
    CHECK(choose_renewal_time(cert, ri, at(53 * 86400), 0.5) == at(53 * 86400));
    CHECK(choose_renewal_time(cert, std::nullopt, at(10), 0.5) == at(60 * 86400));
  }

  // RFC 9773 §4.2's example answer: a one-day window, Retry-After: 21600.
  RenewalInfo rfc9773_example() {
    auto ri = parse_renewal_info(
        R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00Z"},)"
        R"("explanationURL":"https://acme.example.com/docs/ari"})");
    REQUIRE(ri);
    auto v = ri.value();
    v.retry_after_s = parse_retry_after("21600", at(0));
    return v;
  }

  TEST_CASE("plan_renewal on RFC 9773's example window") {
    const RenewalInfo ri = rfc9773_example();
    const SysTime start = parse_rfc3339("2025-01-02T04:00:00Z").value();
    const SysTime end = parse_rfc3339("2025-01-03T04:00:00Z").value();
    CertInfo cert;  // a 90-day certificate whose 2/3 point is well after the window
    cert.not_before = start - hours(24 * 40);
    cert.not_after = cert.not_before + hours(24 * 90);
    const SysTime before = start - hours(24 * 5);
    // uniform inside the window: u = 0 → start, 0.5 → noon of the window, never `end`
    CHECK(plan_renewal(cert, ri, std::nullopt, before, 0.0) == start);
    CHECK(plan_renewal(cert, ri, std::nullopt, before, 0.5) == start + hours(12));
    CHECK(plan_renewal(cert, ri, std::nullopt, before, 1.0) < end);
    // a time already planned inside the window is kept on the next poll …
    CHECK(plan_renewal(cert, ri, start + hours(3), before, 0.9) == start + hours(3));
    // … one outside it (the 2/3 fallback, or a moved window) is replaced
    const SysTime fallback = renewal_time_by_ratio(cert.not_before, cert.not_after);
    CHECK(plan_renewal(cert, ri, fallback, before, 0.25) == start + hours(6));
    // inside the window now: never in the past
    CHECK(plan_renewal(cert, ri, std::nullopt, start + hours(20), 0.0) == start + hours(20));
    // window over (RFC 9773 §4.2: renew immediately)
    CHECK(plan_renewal(cert, ri, fallback, end + hours(1), 0.5) == end + hours(1));
  }

  TEST_CASE("plan_renewal without ARI: 2/3 of the lifetime minus up to 5 % jitter") {
    CertInfo cert;
    cert.not_before = at(0);
    cert.not_after = at(90 * 86400);
    CHECK(plan_renewal(cert, std::nullopt, std::nullopt, at(10), 0.0) == at(60 * 86400));
    CHECK(plan_renewal(cert, std::nullopt, std::nullopt, at(10), 1.0) ==
          at(60 * 86400 - 90 * 86400 / 20));
    CHECK(plan_renewal(cert, std::nullopt, at(1234), at(10), 0.7) == at(1234));  // kept
    CertInfo short_lived;  // the daemon's short-lived test: 33 s from not_before
    short_lived.not_before = at(1000);
    short_lived.not_after = at(1033);
    CHECK(plan_renewal(short_lived, std::nullopt, std::nullopt, at(1003), 0.0) == at(1022));
  }

  TEST_CASE("renewalInfo poll interval: Retry-After bounded to 1 h .. 24 h") {
    CHECK(ari_poll_interval(rfc9773_example().retry_after_s, false) == seconds(21600));
    CHECK(ari_poll_interval(std::nullopt, false) == hours(6));
    CHECK(ari_poll_interval(5, false) == hours(1));
    CHECK(ari_poll_interval(7 * 86400, false) == hours(24));
    CHECK(ari_poll_interval(-3, false) == hours(1));
    CHECK(ari_poll_interval(21600, true) == hours(1));  // failed request: again in an hour
  }

  TEST_CASE("RFC 3339 parsing") {
    CHECK(parse_rfc3339("1970-01-01T00:00:00Z").value() == at(0));
    CHECK(parse_rfc3339("2021-01-03T00:00:00Z").value() == at(1609632000));
    CHECK(parse_rfc3339("2021-01-03T01:30:00+01:30").value() == at(1609632000));
    CHECK(parse_rfc3339("2021-01-03T00:00:00.5Z").value() == at(1609632000) + milliseconds(500));
    for (const char* bad :
         {"", "2021-01-03", "2021-01-03T00:00:00", "2021-13-03T00:00:00Z",
          "2021-01-03T00:00:00Zjunk", "2021-01-03T00:00:00.Z", "abcd-ef-ghTij:kl:mnZ"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_rfc3339(bad));
    }
  }

  TEST_CASE("Retry-After: seconds or IMF-fixdate, capped, junk ignored") {
    const SysTime now = at(784111777 - 60);  // one minute before the RFC 9110 example date
    CHECK(parse_retry_after("120", now) == 120);
    CHECK(parse_retry_after(" 5 ", now) == 5);
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == 60);
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", at(784111777 + 10)) == 0);
    CHECK(parse_retry_after("99999999999", now) == 7 * 86400);
    CHECK_FALSE(parse_retry_after("", now));
    CHECK_FALSE(parse_retry_after("-5", now));
    CHECK_FALSE(parse_retry_after("soon", now));
    CHECK_FALSE(parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", now));
  }

  TEST_CASE("poll schedule: 50 ms doubling to the cap, never sooner than Retry-After") {
    const SysTime now = at(784111777 - 60);
    const PollSchedule s{50, 60000};
    struct Row {
      const char* retry_after;
      int n;
      std::int64_t want_ms;
    };
    const Row rows[] = {
        {"", 1, 50},
        {"", 2, 100},
        {"", 3, 200},
        {"", 4, 400},
        {"", 11, 51200},
        {"", 12, 60000},
        {"", 1000000, 60000},  // capped, no overflow
        {"", 0, 50},
        {"", -3, 50},  // n < 1 counts as 1
        {"junk", 2, 100},
        {"-1", 2, 100},  // bad Retry-After ignored
        {"0", 1, 50},    // never a busy loop
        {"3", 1, 3000},
        {"3", 7, 3200},
        {"3", 8, 6400},                               // the later of the two
        {"86400", 1, 86400000},                       // honoured beyond the cap
        {"Sun, 06 Nov 1994 08:49:37 GMT", 1, 60000},  // an HTTP date a minute away
    };
    for (const auto& r : rows) {
      CAPTURE(r.retry_after);
      CAPTURE(r.n);
      CHECK(poll_delay_ms(r.retry_after, now, r.n, s) == r.want_ms);
    }
    CHECK(poll_delay_ms("", now, 1, PollSchedule{0, 0}) == 1);        // a zero schedule still waits
    CHECK(poll_delay_ms("", now, 5, PollSchedule{500, 100}) == 500);  // cap below first: first
    CHECK(poll_delay_ms("", now, 3, PollSchedule{50, 150}) == 150);
  }
}

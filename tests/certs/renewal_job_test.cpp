// certs/renewal_job.cpp decisions on plain values: the inputs of a renewal order
// (`replaces` only when the same CA renews; ARI renewals budget-exempt once
// the window has started) and a renewalInfo answer applied to the row.
#include <doctest/doctest.h>

#include "certs/detail/acme_wire.hpp"
#include "certs/detail/service_impl.hpp"

using namespace fc::certs;

TEST_SUITE("certs") {
  TEST_CASE("order_inputs: replaces and ARI renewals") {
    const auto now = fc::SysTime{std::chrono::seconds(1'700'000'000)};
    const std::int64_t now_ms = 1'700'000'000'000;
    auto ca = create_internal_ca(now, "test root");
    REQUIRE(ca);
    auto issued = issue_with_new_key(ca.value(), {"a.example.com"}, now, KeyType::kEcdsaP256);
    REQUIRE(issued);
    auto info = parse_leaf(issued.value().chain_pem);
    REQUIRE(info);
    REQUIRE_FALSE(info.value().ari_id.empty());
    detail::CertRow row;
    row.hostnames = {"a.example.com"};
    row.issuer = "acme:https://ca/dir";
    row.version = 1;
    row.chain_pem = issued.value().chain_pem;

    auto same = order_inputs(row, "acme:https://ca/dir", now_ms);
    CHECK(same.state.identifiers == row.hostnames);
    CHECK(same.state.replaces == info.value().ari_id);
    CHECK_FALSE(same.ari_renewal);  // no window known
    row.ari_window_start = now_ms + 1000;
    CHECK_FALSE(
        order_inputs(row, "acme:https://ca/dir", now_ms).ari_renewal);  // window not started
    row.ari_window_start = now_ms - 1000;
    CHECK(order_inputs(row, "acme:https://ca/dir", now_ms).ari_renewal);
    // another CA (fallback) must not be told to replace a certificate it never issued
    auto other = order_inputs(row, "acme:https://other/dir", now_ms);
    CHECK(other.state.replaces.empty());
    CHECK_FALSE(other.ari_renewal);
    // a first order replaces nothing
    row.version = 0;
    CHECK(order_inputs(row, "acme:https://ca/dir", now_ms).state.replaces.empty());
  }

  TEST_CASE("apply_ari_answer: window, no ARI, failure") {
    using std::chrono::hours;
    const auto start = detail::parse_rfc3339("2025-01-02T04:00:00Z").value();
    auto ms = [](fc::SysTime t) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    };
    const std::int64_t now = ms(start - hours(24 * 5));
    CertInfo cert;
    cert.not_before = start - hours(24 * 40);
    cert.not_after = cert.not_before + hours(24 * 90);
    const std::int64_t two_thirds = ms(renewal_time_by_ratio(cert.not_before, cert.not_after));
    detail::CertRow base;
    base.renew_after = two_thirds;
    base.ari_check_at = now;

    // RFC 9773 §4.2's example: window 2025-01-02T04:00Z .. 2025-01-03T04:00Z, Retry-After 21600
    RenewalInfo ri{start, start + hours(24), "https://acme.example.com/docs/ari", 21600};
    auto row = base;
    apply_ari_answer(row, cert, std::optional<RenewalInfo>(ri), now, 0.5);
    CHECK(row.renew_after == ms(start + hours(12)));
    CHECK(row.ari_window_start == ms(start));
    CHECK(row.ari_window_end == ms(start + hours(24)));
    CHECK(row.ari_check_at == now + 21600 * 1000);

    row = base;  // the CA has no renewalInfo (Pebble 2.4)
    apply_ari_answer(row, cert, std::optional<RenewalInfo>(), now, 0.5);
    CHECK(row.renew_after == two_thirds);
    CHECK_FALSE(row.ari_check_at);
    CHECK_FALSE(row.ari_window_start);

    row = base;  // the request failed
    apply_ari_answer(row, cert, fc::make_error(fc::Code::kUnavailable, "connect refused"), now,
                     0.5);
    CHECK(row.renew_after == two_thirds);
    CHECK(row.ari_check_at == now + 3600 * 1000);
  }
}

// Renewal scheduling and budgets for the order job (issue.cpp calls these):
// renewalInfo (RFC 9773) after a certificate is stored and at the CA's
// Retry-After, and the token buckets an order takes before it is placed.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "certs/detail/service_impl.hpp"

namespace fc::certs {

using detail::CertRow;
using detail::CertStatus;
using storage::JobOutcome;
using namespace std::chrono_literals;

OrderInputs order_inputs(const CertRow& row, const std::string& issuer_name, std::int64_t now) {
  OrderInputs in;
  in.state.identifiers = row.hostnames;
  const bool same_ca = row.version > 0 && row.issuer == issuer_name && row.chain_pem;
  if (!same_ca) return in;
  auto info = parse_leaf(*row.chain_pem);
  if (info)
    in.state.replaces = info.value().ari_id;  // sent only when the CA offers ARI (acme_order.cpp)
  // Let's Encrypt exempts ARI renewals (`replaces` inside the window) from its limits.
  in.ari_renewal =
      !in.state.replaces.empty() && row.ari_window_start && now >= *row.ari_window_start;
  return in;
}

std::optional<std::int64_t> Service::Impl::issuer_by_name(const std::string& name) const {
  for (std::size_t i = 0; i < issuers.size(); ++i)
    if (issuers[i].name == name) return static_cast<std::int64_t>(i);
  return std::nullopt;
}

void apply_ari_answer(CertRow& row, const CertInfo& cert,
                      const Result<std::optional<RenewalInfo>>& answer, std::int64_t now,
                      double u) {
  if (!answer) {  // keep the time planned so far, ask again in an hour
    row.ari_check_at = now + ari_poll_interval(std::nullopt, true).count() * 1000;
    return;
  }
  if (!answer.value()) {  // the directory has no renewalInfo: 2/3 of the lifetime stays
    row.ari_check_at.reset();
    return;
  }
  const RenewalInfo& w = *answer.value();
  std::optional<SysTime> current;
  if (row.renew_after) current = from_ms(*row.renew_after);
  row.renew_after = to_ms(plan_renewal(cert, w, current, from_ms(now), u));
  row.ari_window_start = to_ms(w.window_start);
  row.ari_window_end = to_ms(w.window_end);
  row.ari_check_at = now + ari_poll_interval(w.retry_after_s, false).count() * 1000;
}

// Asks the CA that issued the current version for its renewal window when
// the row says a request is due (apply_ari_answer decides what follows).
awaitable<void> Service::Impl::check_ari(CertRow& row, std::int64_t now) {
  if (!row.ari_check_at || *row.ari_check_at > now || row.version == 0 || !row.renew ||
      row.order_state || !row.chain_pem || row.status != CertStatus::kValid)
    co_return;
  auto info = parse_leaf(*row.chain_pem);
  auto idx = issuer_by_name(row.issuer);
  if (!info || !idx || issuers[static_cast<std::size_t>(*idx)].type != "acme") {
    row.ari_check_at.reset();
  } else {
    // No co_await inside ?: — GCC 12 miscompiles temporaries there.
    Result<std::optional<RenewalInfo>> answer = make_error(Code::kInternal, "no client");
    auto cl = co_await client(*idx);
    if (cl) {
      auto got = co_await cl.value()->renewal_info(*row.chain_pem);
      answer = std::move(got);
    } else {
      answer = cl.error();
    }
    std::uniform_real_distribution<double> u(0.0, 1.0);
    apply_ari_answer(row, info.value(), answer, now, u(rng));
    if (!answer)
      spdlog::warn("certs: renewalInfo failed id={} error={}", row.id, answer.error().detail);
    else if (answer.value())
      spdlog::info("certs: ARI window id={} start={} end={} renew_after={}", row.id,
                   format_rfc3339(*row.ari_window_start), format_rfc3339(*row.ari_window_end),
                   format_rfc3339(*row.renew_after));
  }
  auto st = co_await db.write([&](storage::Conn& c) { return detail::update_cert(c, row, now); });
  if (!st)
    spdlog::warn("certs: storing renewal plan failed id={} error={}", row.id, st.error().detail);
}

// Before a new order: the budgets it needs (all or none, in one write
// transaction with the reservation) and the order's inputs (names, and
// `replaces` for a renewal at the same CA), stored as an order without URL
// so that a retry or a restart does not take the tokens twice.
awaitable<std::optional<JobOutcome>> Service::Impl::reserve_order(CertRow& row, std::int64_t idx,
                                                                  std::int64_t now) {
  const IssuerConfig& iss = issuers[static_cast<std::size_t>(idx)];
  const bool renewal = row.version > 0;
  const OrderInputs in = order_inputs(row, iss.name, now);
  detail::BudgetVerdict verdict;
  auto w = co_await db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(due, detail::count_due_renewals(c, now));
    auto uses = detail::order_buckets(iss.budgets, row.hostnames, row.names_key, renewal,
                                      in.ari_renewal, due);
    BOOST_OUTCOME_TRY(tats, detail::load_tats(c, iss.name, uses));
    verdict = detail::plan_budget(uses, tats, now);
    if (!verdict.allowed) {
      row.last_error = iss.name + ": " + verdict.reason;
      return detail::update_cert(c, row, now);
    }
    BOOST_OUTCOME_TRY(detail::save_tats(c, iss.name, verdict.new_tats));
    // a budget reason shown while the order waited is no longer true
    if (row.last_error && row.last_error->rfind(iss.name + ": budget ", 0) == 0)
      row.last_error.reset();
    row.order_state = serialize_order_state(in.state);
    row.order_issuer = idx;
    row.order_url.reset();
    return detail::update_cert(c, row, now);
  });
  if (!w) co_return JobOutcome{false, w.error().detail, 5s, false};
  if (verdict.allowed) co_return std::nullopt;
  spdlog::info("certs: order waits id={} reason={}", row.id, *row.last_error);
  co_return JobOutcome{false, "",
                       std::chrono::milliseconds(std::max<std::int64_t>(verdict.retry_at - now, 0)),
                       false};
}

// An order the CA declared invalid produced no certificate: its
// certificate-counting tokens come back, and every name spends a
// failed-validations token (an ARI renewal took none and spends none).
awaitable<void> Service::Impl::order_invalid(const CertRow& row, std::int64_t idx) {
  const IssuerConfig& iss = issuers[static_cast<std::size_t>(idx)];
  const auto now = clock.now_ms();
  if (order_inputs(row, iss.name, now).ari_renewal) co_return;
  auto uses =
      detail::order_buckets(iss.budgets, row.hostnames, row.names_key, row.version > 0, false, 0);
  auto st = co_await db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(tats, detail::load_tats(c, iss.name, uses));
    detail::TatMap next;
    for (const auto& u : uses) {
      auto it = tats.find({u.bucket, u.key});
      std::optional<std::int64_t> tat;
      if (it != tats.end()) tat = it->second;
      if (u.bucket == "failed_validations")
        next[{u.bucket, u.key}] = detail::gcra_spend(u.limit, tat, now);
      else if (tat && (u.bucket == "certs_per_domain" || u.bucket == "duplicates"))
        next[{u.bucket, u.key}] = detail::gcra_refund(u.limit, *tat, now);
    }
    return detail::save_tats(c, iss.name, next);
  });
  if (!st) {
    spdlog::warn("certs: budget after invalid order failed id={} error={}", row.id,
                 st.error().detail);
  }
}

}  // namespace fc::certs

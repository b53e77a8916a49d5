// Lifecycle events of certificates (docs/events.md): certificate.issued and
// .renewed are appended by store_issued (issue.cpp) in the transaction that
// stores the version; certificate.expiring here, once per version.
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "certs/detail/service_impl.hpp"
#include "certs/detail/status.hpp"
#include "certs/detail/store.hpp"
#include "events/events.hpp"

namespace fc::certs {

namespace detail {

std::string cert_event_view(const CertRow& r) {
  auto opt_time = [](const std::optional<std::int64_t>& t) {
    return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr);
  };
  return nlohmann::json{{"id", r.id},
                        {"hostnames", r.hostnames},
                        {"workspace_id", r.workspace_id},
                        {"status", std::string(cert_status_name(r.status))},
                        {"version", r.version},
                        {"issuer", r.issuer},
                        {"not_before", opt_time(r.not_before)},
                        {"not_after", opt_time(r.not_after)}}
      .dump();
}

}  // namespace detail

namespace {
constexpr std::int64_t kCheckEveryMs = 60'000;
constexpr int kBatch = 500;
// Every certificate.* type (docs/events.md): the newest of them tells
// whether this version was announced already.
const std::vector<std::string> kCertificateEvents = {"certificate.issued", "certificate.renewed",
                                                     "certificate.expiring"};

std::int64_t version_of(const events::Event& e) {
  auto j = nlohmann::json::parse(e.data_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return -1;
  return j.value("version", std::int64_t{-1});
}
}  // namespace

namespace detail {

Result<int> announce_expiring_page(storage::Conn& c, std::int64_t before, std::int64_t now,
                                   int limit, ExpiringCursor& from, bool& done) {
  BOOST_OUTCOME_TRY(rows, expiring_certs(c, before, limit, from));
  done = rows.size() < static_cast<std::size_t>(limit);
  if (rows.empty()) return 0;
  from = {*rows.back().not_after, rows.back().id};
  std::vector<std::string> ids;
  ids.reserve(rows.size());
  for (const auto& r : rows) ids.push_back(r.id);
  // One query for the page: the events table has no index by subject, and
  // a lookup per certificate scanned it from the newest row down.
  BOOST_OUTCOME_TRY(last, events::newest_about(c, ids, kCertificateEvents));
  int announced = 0;
  for (const auto& r : rows) {
    const auto it = last.find(r.id);
    if (it != last.end() && it->second.type == "certificate.expiring" &&
        version_of(it->second) == r.version)
      continue;
    BOOST_OUTCOME_TRY(
        events::append(c, {"certificate.expiring", r.workspace_id, r.id, cert_event_view(r)}, now));
    ++announced;
  }
  return announced;
}

}  // namespace detail

// A version within expiring_days of its not_after gets one
// certificate.expiring: skipped when the newest certificate event about it
// already is that version's expiring (a renewal appends .renewed, so the next
// version can expire again). Every expiring version is looked at, in pages
// of kBatch, each its own write: the ones already announced do not hide the
// ones after them.
awaitable<void> Service::Impl::announce_expiring() {
  const auto now = clock.now_ms();
  if (now - expiring_checked_at < kCheckEveryMs) co_return;
  expiring_checked_at = now;
  const std::int64_t before = now + o.expiring_days * 86'400'000;
  // Most minutes nothing is near its end: a read first, a write only then.
  auto near = detail::expiring_certs(db.read(), before, 1);
  if (!near || near.value().empty()) co_return;
  int announced = 0;
  detail::ExpiringCursor from;
  for (bool done = false; !done;) {
    auto st = co_await db.write([&](storage::Conn& c) -> Status {
      BOOST_OUTCOME_TRY(n, detail::announce_expiring_page(c, before, now, kBatch, from, done));
      announced += n;
      return ok();
    });
    if (!st) {
      spdlog::warn("certs: expiring events failed reason={}", st.error().detail);
      break;
    }
  }
  if (announced > 0) spdlog::info("certs: expiring announced={}", announced);
}

}  // namespace fc::certs

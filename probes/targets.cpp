// What the live checks probe (docs/probes.md "What is probed"), the API's
// `live` object and the /metrics series.
#include <nlohmann/json.hpp>

#include <cctype>

#include "certs/service.hpp"
#include "domains/service.hpp"
#include "probes/detail/impl.hpp"
#include "probes/detail/store.hpp"
#include "scheduler/service.hpp"

namespace fc::probes {

namespace {

std::string lower_name(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

// Leaf fingerprints by hostname (lower case), from every issued
// certificate's current chain; a chain's digest is computed once per version.
std::map<std::string, std::vector<std::string>> Service::Impl::issued_fingerprints(
    storage::Conn& c) {
  std::map<std::string, std::vector<std::string>> out;
  auto chains = certs::Service::issued_chains(c);
  if (!chains) {
    probes_logger()->warn("issued certificates not read reason={}", chains.error().detail);
    return out;
  }
  for (const auto& ic : chains.value()) {
    const std::string key = ic.id + ":" + std::to_string(ic.version);
    auto it = fingerprint_cache.find(key);
    if (it == fingerprint_cache.end())
      it = fingerprint_cache.emplace(key, detail::leaf_fingerprint(ic.chain_pem)).first;
    if (it->second.empty()) continue;
    for (const auto& h : ic.hostnames) out[lower_name(h)].push_back(it->second);
  }
  return out;
}

// Workspace hostnames are checked against our leaf when fleetcommand issued
// one for exactly that name, else (an operator's wildcard at the edge) by
// chain and name only; custom domains always against our leaf.
Result<std::vector<detail::Target>> Service::Impl::targets() {
  auto& c = db.read();
  BOOST_OUTCOME_TRY(published, scheduler::Service::published(c));
  BOOST_OUTCOME_TRY(active, domains::Service::active_hostnames(c));
  auto fps = issued_fingerprints(c);
  std::map<std::string, std::string> region_of;  // workspace id → region
  std::vector<detail::Target> out;
  out.reserve(published.size() + active.size());
  for (const auto& p : published) {
    region_of[p.workspace_id] = p.region;
    detail::Target t{lower_name(p.name + "." + o.zone), p.workspace_id, p.region, {}, false};
    if (auto it = fps.find(t.hostname); it != fps.end()) {
      t.accepted = it->second;
      t.require_ours = true;
    }
    out.push_back(std::move(t));
  }
  for (const auto& [host, ws] : active) {
    detail::Target t{lower_name(host), ws, region_of[ws], {}, true};
    if (auto it = fps.find(t.hostname); it != fps.end()) t.accepted = it->second;
    out.push_back(std::move(t));
  }
  return out;
}

nlohmann::json Service::view(const std::optional<LiveResult>& r) {
  using nlohmann::json;
  if (!r)
    return json{{"status", "unknown"},
                {"step", nullptr},
                {"detail", nullptr},
                {"checked_at", nullptr},
                {"failures", 0}};
  return json{{"status", status_name(r->status)},
              {"step", step_name(r->step)},
              {"detail", r->detail},
              {"checked_at", format_rfc3339(r->checked_at)},
              {"failures", r->failures}};
}

nlohmann::json Service::view_of(const std::string& hostname) {
  auto r = store::load(impl_->db.read(), hostname);
  return view(r ? r.value() : std::nullopt);
}

std::string Service::metrics_text() {
  auto& i = *impl_;
  std::string o;
  o += "# HELP fleetcommand_probe_results_total Live-check probes by result (pass|fail) and the"
       " step they ended at.\n# TYPE fleetcommand_probe_results_total counter\n";
  for (const char* result : {"pass", "fail"}) {
    for (const char* step : {"dns", "connect", "tls", "certificate", "http"}) {
      auto it = i.results.find({result, step});
      const std::uint64_t n = it == i.results.end() ? 0 : it->second;
      o += std::string("fleetcommand_probe_results_total{result=\"") + result + "\",step=\"" +
           step + "\"} " + std::to_string(n) + "\n";
    }
  }
  auto counts = store::count_by_status(i.db.read());
  o += "# HELP fleetcommand_probe_hostnames Probed hostnames by their live status.\n"
       "# TYPE fleetcommand_probe_hostnames gauge\n";
  for (const char* s : {"live", "failing"}) {
    std::int64_t n = -1;
    if (counts) n = counts.value().count(s) ? counts.value().at(s) : 0;
    o += std::string("fleetcommand_probe_hostnames{status=\"") + s + "\"} " + std::to_string(n) +
         "\n";
  }
  std::int64_t flying = 0;
  for (const auto& [region, n] : i.in_flight) flying += n;
  o += "# HELP fleetcommand_probe_in_flight Probes running now.\n"
       "# TYPE fleetcommand_probe_in_flight gauge\nfleetcommand_probe_in_flight " +
       std::to_string(flying) + "\n";
  o += "# HELP fleetcommand_probe_rounds_total Completed rounds over every hostname.\n"
       "# TYPE fleetcommand_probe_rounds_total counter\nfleetcommand_probe_rounds_total " +
       std::to_string(i.rounds) + "\n";
  // The pacing in force (SIGHUP applies a new one: set_pacing).
  o += "# HELP fleetcommand_probe_rate_per_second_limit probes.rate_per_s in force.\n"
       "# TYPE fleetcommand_probe_rate_per_second_limit gauge\n"
       "fleetcommand_probe_rate_per_second_limit " +
       std::to_string(i.o.rate_per_s) + "\n";
  o += "# HELP fleetcommand_probe_interval_seconds probes.interval_s in force.\n"
       "# TYPE fleetcommand_probe_interval_seconds gauge\nfleetcommand_probe_interval_seconds " +
       std::to_string(i.o.interval_s) + "\n";
  o += "# HELP fleetcommand_probe_per_region_concurrency_limit probes.per_region_concurrency in"
       " force.\n# TYPE fleetcommand_probe_per_region_concurrency_limit gauge\n"
       "fleetcommand_probe_per_region_concurrency_limit " +
       std::to_string(i.o.per_region_concurrency) + "\n";
  return o;
}

}  // namespace fc::probes

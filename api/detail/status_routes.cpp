// GET /v1/workspaces/{id}/status and GET /v1/domains/{hostname}/status
// (API.md "Status chains", docs/status.md): the facts of scheduler, dns,
// domains and certs gathered here, read only, and handed to the pure
// builder in status/. Admins, or the workspace's tenant token (404 for
// anything else, as the other tenant routes answer).
#include <cstdio>
#include <ctime>

#include "api/detail/status_routes.hpp"
#include "certs/service.hpp"
#include "dns/codec.hpp"
#include "domains/service.hpp"
#include "probes/probe.hpp"
#include "scheduler/service.hpp"
#include "status/status.hpp"

namespace fc::api::detail {

using nlohmann::json;
namespace sch = fc::scheduler;

namespace {

status::Audience audience_of(const Request& r) {
  return r.principal->kind == TokenKind::kTenant ? status::Audience::kTenant
                                                 : status::Audience::kAdmin;
}

status::RegionFact region_fact(Context& ctx, const std::string& id) {
  status::RegionFact f;
  f.id = id;
  f.heartbeat_timeout_s = ctx.scheduler->heartbeat_timeout_s();
  auto r = ctx.scheduler->get_region(id);
  if (!r) {
    f.exists = false;
    return f;
  }
  f.last_heartbeat_ms = r.value().last_heartbeat_ms;
  f.healthy = ctx.scheduler->health(r.value()).health == sch::Health::kHealthy;
  return f;
}

// format_rfc3339's own output back to unix ms (synced_at); nullopt otherwise.
std::optional<std::int64_t> status_parse_time(const std::string& t) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

// What the embedded server's zone answers at `host` (A, AAAA, CNAME), with
// every provider's sync state of those RRsets.
status::DnsFact dns_fact(Context& ctx, const std::string& host) {
  status::DnsFact f;
  auto name = dns::Name::from_text(host);
  if (!name || ctx.dns_server == nullptr) return f;
  auto items = dns_records_at(ctx, name.value());
  if (!items) return f;
  for (const auto& it : items.value()) {
    const auto type = it.value("type", "");
    if (type != "A" && type != "AAAA" && type != "CNAME") continue;
    for (const auto& d : it["data"]) f.answers.push_back(type + " " + d.get<std::string>());
    for (const auto& p : it["providers"]) {
      status::ProviderFact pf{p.value("server", ""), p.value("state", "pending"), std::nullopt,
                              std::nullopt};
      if (p["last_error"].is_string()) pf.last_error = p["last_error"].get<std::string>();
      if (p["synced_at"].is_string())
        pf.synced_at_ms = status_parse_time(p["synced_at"].get<std::string>());
      f.providers.push_back(std::move(pf));
    }
  }
  return f;
}

Result<status::WorkspaceFacts> workspace_facts(Context& ctx, const sch::Workspace& w) {
  status::WorkspaceFacts f;
  f.id = w.id;
  f.name = w.name;
  f.hostname = ctx.scheduler->hostname_of(w);
  f.state = w.state;
  f.generation = w.generation;
  f.region = w.region;
  f.target_region = w.target_region;
  f.created_at_ms = w.created_at;
  f.observed_generation = w.observed_generation;
  f.observed_phase = w.observed_phase;
  f.observed_message = w.observed_message;
  f.observed_since_ms = w.observed_since;
  f.dns_region = w.dns_region;
  const std::string serving = w.target_region.value_or(w.region);
  f.serving = region_fact(ctx, serving);
  BOOST_OUTCOME_TRY(d, ctx.scheduler->delivery(serving, w.id));
  f.delivery = {d.assigned, d.revision, d.written_at, d.delivered_revision};
  f.dns = dns_fact(ctx, f.hostname);
  f.now_ms = ctx.clock.now_ms();
  return f;
}

Result<sch::Workspace> status_visible_workspace(Context& ctx, const Request& r,
                                                const std::string& id) {
  auto w = ctx.scheduler->get_workspace(id);
  if (!w) return w;
  const std::string viewer = viewer_for(ctx, r, w.value().id);
  if (!viewer.empty() && viewer != w.value().id)
    return make_error(Code::kNotFound, "no workspace " + id);
  return w;
}

awaitable<Response> workspace_status(Context& ctx, Request& r) {
  auto w = status_visible_workspace(ctx, r, r.params.at("id"));
  if (!w) co_return problem_from(w.error(), r.request_id);
  auto facts = workspace_facts(ctx, w.value());
  if (!facts) co_return problem_from(facts.error(), r.request_id);
  auto chain = status::workspace_conditions(facts.value(), audience_of(r));
  co_return json_response(200, {{"id", w.value().id},
                                {"name", w.value().name},
                                {"generation", w.value().generation},
                                {"ok", status::chain_ok(chain)},
                                {"conditions", status::conditions_json(chain)}});
}

std::optional<status::CertificateFact> cert_fact(Context& ctx, const domains::Domain& d) {
  if (!d.certificate_id) return std::nullopt;
  status::CertificateFact c{*d.certificate_id, "pending", std::nullopt, std::nullopt, std::nullopt};
  if (ctx.certs == nullptr) return c;
  auto v = ctx.certs->get(*d.certificate_id);
  if (!v) return c;
  c.status = v.value().status;
  c.not_before_ms = v.value().not_before_ms;
  c.not_after_ms = v.value().not_after_ms;
  c.last_error = v.value().last_error;
  return c;
}

void copy_domain(const domains::Domain& d, status::DomainFacts& f) {
  f.hostname = d.hostname;
  f.state = domains::state_name(d.state);
  f.token = d.token;
  f.verified_at_ms = d.verified_at;
  f.routing_type = d.routing_type;
  f.routing_ok = d.routing_ok;
  f.routing_found = d.routing_found;
  f.last_error = d.last_error;
  f.last_checked_at_ms = d.last_checked_at;
  f.moved_at_ms = d.moved_at;
  f.cert_generation = d.cert_generation;
  f.created_at_ms = d.created_at;
}

// The hostname's latest live check (probes/), nullopt before its first probe
// or without the live checks: Live is then Unknown/NotProbed.
std::optional<status::LiveFact> live_fact(Context& ctx, const std::string& hostname) {
  if (ctx.probes == nullptr) return std::nullopt;
  auto r = probes::latest(ctx.db.read(), hostname);
  if (!r || !r.value()) return std::nullopt;
  const auto& l = *r.value();
  return status::LiveFact{probes::status_name(l.status), probes::step_name(l.step), l.detail,
                          l.checked_at};
}

Result<std::vector<status::Condition>> chain_of(Context& ctx, const domains::Domain& d,
                                                status::Audience who) {
  BOOST_OUTCOME_TRY(w, ctx.scheduler->get_workspace(d.workspace_id));
  status::DomainFacts f;
  copy_domain(d, f);
  f.routing_target = ctx.scheduler->hostname_of(w);
  if (auto region = ctx.scheduler->get_region(w.region)) {
    f.ingress = region.value().ingress.ipv4;
    for (const auto& a : region.value().ingress.ipv6) f.ingress.push_back(a);
  }
  f.certificate = cert_fact(ctx, d);
  BOOST_OUTCOME_TRY(wf, workspace_facts(ctx, w));
  f.workspace = std::move(wf);
  f.live = live_fact(ctx, d.hostname);
  return status::domain_conditions(f, who);
}

awaitable<Response> domain_status(Context& ctx, Request& r) {
  const std::string viewer = viewer_for_host(ctx, r, r.params.at("hostname"));
  auto d = ctx.domains->get(r.params.at("hostname"), viewer);
  if (!d) co_return problem_from(d.error(), r.request_id);
  auto chain = chain_of(ctx, d.value(), audience_of(r));
  if (!chain) co_return problem_from(chain.error(), r.request_id);
  co_return json_response(200, {{"hostname", d.value().hostname},
                                {"workspace_id", d.value().workspace_id},
                                {"status", domains::state_name(d.value().state)},
                                {"ok", status::chain_ok(chain.value())},
                                {"conditions", status::conditions_json(chain.value())}});
}

}  // namespace

nlohmann::json domain_failing_step(Context& ctx, const domains::Domain& d) {
  auto chain = chain_of(ctx, d, status::Audience::kAdmin);
  if (!chain) return {{"ok", false}, {"failing", nullptr}};
  nlohmann::json failing = nullptr;
  for (const auto& c : chain.value()) {
    if (c.status == status::Truth::kTrue || (c.type == "Live" && c.reason == "NotProbed")) continue;
    failing = status::conditions_json({c})[0];
    break;
  }
  return {{"ok", status::chain_ok(chain.value())}, {"failing", failing}};
}

void register_status_routes(Context& ctx) {
  auto* c = &ctx;
  ctx.router.add("GET", "/v1/workspaces/{id}/status", Scope::kAdminOrTenant,
                 [c](Request& r) { return workspace_status(*c, r); });
  if (ctx.domains == nullptr) return;
  ctx.router.add("GET", "/v1/domains/{hostname}/status", Scope::kAdminOrTenant,
                 [c](Request& r) { return domain_status(*c, r); });
}

}  // namespace fc::api::detail

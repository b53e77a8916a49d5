// The workspace chain: Placed → AssignmentDelivered → Applied → Running →
// DNSPublished → Ready (docs/status.md "Workspace").
#include <algorithm>

#include "status/detail/chain.hpp"

namespace fc::status {

using detail::make;
using detail::opt_ms;

namespace {

bool reported_current(const WorkspaceFacts& f) { return f.observed_generation >= f.generation; }

const std::string& serving_region(const WorkspaceFacts& f) { return f.serving.id; }

Condition placed(const WorkspaceFacts& f, Audience who) {
  const auto g = f.generation;
  if (f.state == "deleting") {
    auto c = make("Placed", Truth::kFalse, "Deleting", "the workspace is being deleted",
                  opt_ms(f.created_at_ms), g);
    c.fix = who == Audience::kAdmin
                ? "none: it is removed once region " + f.region +
                      "'s agent reports it deleted (DELETE ?force=true removes it at once when "
                      "the region is gone for good)"
                : "none: it is removed once its region's agent reports it deleted";
    return c;
  }
  if (f.state == "migrating" && f.target_region)
    return make("Placed", Truth::kTrue, "Migrating",
                "migrating from region " + f.region + " to region " + *f.target_region,
                opt_ms(f.created_at_ms), g);
  return make("Placed", Truth::kTrue, "Placed", "placed in region " + f.region,
              opt_ms(f.created_at_ms), g);
}

Condition region_down(std::string type, const WorkspaceFacts& f, const std::string& fix,
                      std::optional<std::int64_t> since) {
  auto c = make(std::move(type), Truth::kFalse, "RegionDown",
                "region " + serving_region(f) + " has no healthy agent", since, f.generation);
  c.fix = fix;
  return c;
}

Condition applied(const WorkspaceFacts& f) {
  const auto g = f.generation;
  const auto& p = f.observed_phase;
  if (reported_current(f) && p != "provisioning" && p != "pending" && p != "deleted")
    return make("Applied", Truth::kTrue, "Applied",
                "the agent reported " + p + " for generation " + std::to_string(g),
                opt_ms(f.observed_since_ms), g);
  if (auto down = region_down_fix(f.serving, f.now_ms))
    return region_down("Applied", f, *down, opt_ms(f.delivery.written_at_ms));
  if (reported_current(f) && p == "provisioning") {
    auto c = make("Applied", Truth::kFalse, "Provisioning",
                  "the agent is applying generation " + std::to_string(g),
                  opt_ms(f.observed_since_ms), g);
    c.fix = "wait: the agent reports progressing once the objects are applied";
    return c;
  }
  auto c = make("Applied", Truth::kFalse, "NotReported",
                "the agent has not reported generation " + std::to_string(g) +
                    " yet (last report: generation " + std::to_string(f.observed_generation) +
                    ", " + p + ")",
                opt_ms(f.delivery.written_at_ms), g);
  c.fix =
      "wait: the agent reports within seconds of applying; if this lasts, look at the "
      "region's agent log";
  return c;
}

Condition not_running(const WorkspaceFacts& f) {
  const auto g = f.generation;
  const auto& p = f.observed_phase;
  const std::string said = f.observed_message.empty() ? "" : ": " + f.observed_message;
  auto since = opt_ms(f.observed_since_ms);
  if (p == "failed") {
    auto c = make("Running", Truth::kFalse, "Failed", "the rollout failed" + said, since, g);
    c.fix = "fix what the agent reports" + said +
            " (the image or resources: PATCH the workspace's spec), then the next generation "
            "rolls out";
    return c;
  }
  if (p == "degraded") {
    auto c = make("Running", Truth::kFalse, "Degraded", "the workspace lost availability" + said,
                  since, g);
    c.fix = "look at what the agent reports" + said;
    return c;
  }
  if (p == "suspended") {
    auto c = make("Running", Truth::kFalse, "Suspended", "scaled to zero" + said, since, g);
    c.fix = "none while it is meant to be suspended; scale it up to run it";
    return c;
  }
  auto c =
      make("Running", Truth::kFalse, "RollingOut",
           "the rollout of generation " + std::to_string(g) + " is in progress" + said, since, g);
  c.fix = "wait: the agent reports running once every replica of this generation is available";
  return c;
}

Condition running(const WorkspaceFacts& f) {
  if (reported_current(f) && f.observed_phase == "running")
    return make("Running", Truth::kTrue, "Running",
                "every replica of generation " + std::to_string(f.generation) + " is available",
                opt_ms(f.observed_since_ms), f.generation);
  if (auto down = region_down_fix(f.serving, f.now_ms))
    return region_down("Running", f, *down, opt_ms(f.observed_since_ms));
  return not_running(f);
}

Condition provider_condition(const WorkspaceFacts& f, Audience who) {
  const ProviderFact* bad = nullptr;
  for (const auto& p : f.dns.providers) {
    if (p.state == "failed" || (p.state != "synced" && bad == nullptr)) bad = &p;
  }
  const auto g = f.generation;
  if (bad == nullptr) return make("DNSPublished", Truth::kTrue, "", "", std::nullopt, g);
  const bool failed = bad->state == "failed";
  std::string where =
      who == Audience::kAdmin ? "DNS provider " + bad->server : "an external DNS server";
  std::string msg = where + (failed ? " rejected the records" : " has not synced the records yet");
  if (failed && who == Audience::kAdmin && bad->last_error) msg += ": " + *bad->last_error;
  auto c = make("DNSPublished", Truth::kFalse, failed ? "ProviderFailed" : "ProviderPending", msg,
                std::nullopt, g);
  c.fix = failed ? (who == Audience::kAdmin
                        ? "fix the provider (reachable? TSIG key accepted?); the sync is retried"
                        : "none on your side: the platform retries the external DNS update")
                 : "wait: external providers are updated by a job within seconds";
  return c;
}

Condition dns_published(const WorkspaceFacts& f, Audience who) {
  const auto g = f.generation;
  if (f.dns.answers.empty() || !f.dns_region) {
    auto c =
        make("DNSPublished", Truth::kFalse, "NotAnswered",
             "the platform's DNS server does not answer " + f.hostname + " yet", std::nullopt, g);
    c.fix = "wait: it is published within a second of the running report";
    return c;
  }
  auto prov = provider_condition(f, who);
  if (prov.status != Truth::kTrue) return prov;
  std::optional<std::int64_t> since = opt_ms(f.observed_since_ms);
  for (const auto& p : f.dns.providers) {
    if (p.synced_at_ms) since = std::max(since.value_or(0), *p.synced_at_ms);
  }
  std::string msg = f.hostname + " answers " + f.dns.answers.front();
  for (std::size_t i = 1; i < f.dns.answers.size(); ++i) msg += ", " + f.dns.answers[i];
  if (*f.dns_region != serving_region(f))
    msg += " (region " + *f.dns_region + " until the migration flips it)";
  if (!f.dns.providers.empty()) msg += "; external providers synced";
  return make("DNSPublished", Truth::kTrue, "Published", msg, since, g);
}

Condition ready(const std::vector<Condition>& before, const WorkspaceFacts& f) {
  std::optional<std::int64_t> since;
  for (const auto& c : before) {
    if ((c.type == "Running" || c.type == "DNSPublished") && c.since_ms)
      since = std::max(since.value_or(0), *c.since_ms);
  }
  return make("Ready", Truth::kTrue, "Ready",
              "generation " + std::to_string(f.generation) + " runs in region " +
                  serving_region(f) + " and " + f.hostname + " is published",
              since, f.generation);
}

}  // namespace

namespace detail {

Condition delivered_condition(const WorkspaceFacts& f, Audience who) {
  const auto g = f.generation;
  const auto& d = f.delivery;
  const auto since = opt_ms(d.written_at_ms);
  if (d.assigned && d.delivered_revision >= d.revision)
    return make(
        "AssignmentDelivered", Truth::kTrue, "Fetched",
        "an agent of region " + serving_region(f) + " fetched generation " + std::to_string(g),
        since, g);
  if (reported_current(f))
    return make(
        "AssignmentDelivered", Truth::kTrue, "Reported",
        "the agent of region " + serving_region(f) + " reported generation " + std::to_string(g),
        opt_ms(f.observed_since_ms), g);
  if (auto down = region_down_fix(f.serving, f.now_ms))
    return region_down("AssignmentDelivered", f, *down, since);
  std::string msg = "the region's agent has not fetched generation " + std::to_string(g) + " yet";
  if (who == Audience::kAdmin)
    msg += " (assignment revision " + std::to_string(d.revision) + ", fetched up to " +
           std::to_string(d.delivered_revision) + ")";
  auto c = make("AssignmentDelivered", Truth::kFalse, "NotFetched", msg, since, g);
  c.fix = who == Audience::kAdmin
              ? "the region heartbeats but its agents do not fetch: check that they long-poll "
                "GET /v1/agent/assignments"
              : "wait: it is usually fetched within seconds; contact support if this lasts";
  return c;
}

}  // namespace detail

std::vector<Condition> workspace_conditions(const WorkspaceFacts& f, Audience who) {
  std::vector<Condition> chain;
  chain.push_back(placed(f, who));
  chain.push_back(detail::delivered_condition(f, who));
  chain.push_back(applied(f));
  chain.push_back(running(f));
  chain.push_back(dns_published(f, who));
  chain.push_back(ready(chain, f));
  detail::settle(chain);
  return chain;
}

}  // namespace fc::status

// The verifier's resolver client (docs/domains.md "Verification and limits"):
// each configured resolver has its own query-rate cap (domains.queries_per_second,
// burst one) and lookups go to the one whose next slot is earliest, so several
// resolvers are used in parallel; an answer is kept for its TTL (a negative
// one for the SOA's negative TTL, RFC 2308 §5), so a name asked by many
// checks — the parent zone's CAA set — costs one query per TTL; and
// concurrent lookups of the same name and type share one query.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "dns/server.hpp"
#include "domains/detail/impl.hpp"
#include "domains/detail/store.hpp"

namespace fc::domains {

namespace {

constexpr std::int64_t kMaxAnswerTtlMs = 3600 * 1000;  // however long an answer says
constexpr std::size_t kMaxCachedAnswers = 100000;

// The negative TTL of an answer without records: min(SOA TTL, SOA minimum).
std::int64_t negative_ttl_ms(const dns::Resolution& r) {
  for (const auto& rec : r.authority) {
    if (const auto* soa = std::get_if<dns::SoaRdata>(&rec.rdata))
      return std::int64_t{std::min(rec.ttl, soa->minimum)} * 1000;
  }
  return 0;  // no SOA: not cached
}

std::int64_t positive_ttl_ms(const std::vector<dns::Record>& records) {
  std::uint32_t ttl = records.front().ttl;
  for (const auto& r : records) ttl = std::min(ttl, r.ttl);
  return std::int64_t{ttl} * 1000;
}

}  // namespace

std::size_t Service::Impl::pick_resolver() {
  const auto t = now();
  std::size_t best = next_resolver % buckets.size();
  double most = buckets[best].tokens(t);
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    const std::size_t k = (next_resolver + i) % buckets.size();
    if (const double v = buckets[k].tokens(t); v > most) {
      best = k;
      most = v;
    }
  }
  next_resolver = best + 1;
  return best;
}

// One query under the chosen resolver's cap; the others follow it in the
// server list only as failover after a timeout. `ttl_ms`: how long the answer
// may be reused (0: not at all).
awaitable<Answer> Service::Impl::ask_resolver(dns::Name name, dns::RrType type,
                                              std::int64_t& ttl_ms) {
  ttl_ms = 0;
  const std::size_t k = pick_resolver();
  if (auto wait = buckets[k].reserve(now()); wait > 0) {
    asio::steady_timer t(io);
    t.expires_after(std::chrono::milliseconds(wait));
    co_await t.async_wait(use_awaitable);
  }
  dns::ResolverOptions ro;
  for (std::size_t i = 0; i < o.resolvers.size(); ++i)
    ro.servers.push_back(o.resolvers[(k + i) % o.resolvers.size()]);
  ro.timeout = o.resolver_timeout;
  ++lookup_stats.queries[o.resolvers.empty() ? "none" : o.resolvers[k]];
  auto r = co_await dns::resolve(ro, name, type);
  if (!r) {
    const bool timeout = r.error().code == Code::kTimeout;
    ++lookup_stats.answers[timeout ? "timeout" : "error"];
    co_return Answer{timeout ? "timeout" : r.error().detail, {}};
  }
  ++lookup_stats.answers[dns::rcode_name(r.value().rcode)];
  if (r.value().rcode == dns::Rcode::kNxDomain) {
    ttl_ms = negative_ttl_ms(r.value());
    co_return Answer{};
  }
  if (r.value().rcode != dns::Rcode::kNoError)
    co_return Answer{dns::rcode_name(r.value().rcode), {}};
  Answer a;
  for (auto& rec : r.value().records) {
    if (rec.type == type) a.records.push_back(std::move(rec));
  }
  ttl_ms = a.records.empty() ? negative_ttl_ms(r.value()) : positive_ttl_ms(a.records);
  co_return a;
}

void Service::Impl::forget_expired_answers() {
  if (answers.size() < kMaxCachedAnswers) return;
  const auto t = now();
  std::erase_if(answers,
                [t](const auto& kv) { return !kv.second->pending && kv.second->until_ms <= t; });
}

// A cached answer, the query in flight for the same name and type, or a new
// query that later lookups may share.
awaitable<Answer> Service::Impl::lookup(std::string name, dns::RrType type) {
  auto n = dns::Name::from_text(name);
  if (!n) co_return Answer{"bad name", {}};
  std::string key = std::to_string(static_cast<int>(type)) + " " + n.value().to_text();
  for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (auto it = answers.find(key); it != answers.end()) {
    auto entry = it->second;  // keeps it alive while we wait
    if (entry->pending) {
      ++lookup_stats.coalesced;
      boost::system::error_code ec;
      co_await entry->ready->async_wait(asio::redirect_error(use_awaitable, ec));
      co_return entry->answer;
    }
    if (entry->until_ms > now()) {
      ++lookup_stats.cached;
      co_return entry->answer;
    }
    answers.erase(it);
  }
  forget_expired_answers();
  auto entry = std::make_shared<CachedLookup>();
  entry->ready = std::make_unique<asio::steady_timer>(io, asio::steady_timer::time_point::max());
  answers[key] = entry;
  std::int64_t ttl_ms = 0;
  entry->answer = co_await ask_resolver(std::move(n).value(), type, ttl_ms);
  entry->pending = false;
  entry->until_ms = now() + std::min(ttl_ms, kMaxAnswerTtlMs);
  entry->ready->cancel();
  if (ttl_ms <= 0) {
    auto it = answers.find(key);
    if (it != answers.end() && it->second == entry) answers.erase(it);
  }
  co_return entry->answer;
}

namespace {

void metric_head(std::string& o, const char* name, const char* help, const char* type) {
  o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void metric_map(std::string& o, const char* name, const char* label,
                const std::map<std::string, std::uint64_t>& m) {
  for (const auto& [k, v] : m)
    o += std::string(name) + "{" + label + "=\"" + k + "\"} " + std::to_string(v) + "\n";
}

}  // namespace

std::string Service::metrics_text() {
  auto& i = *impl_;
  std::string o;
  metric_head(o, "fleetcommand_domain_queries_total", "DNS queries sent by the domain verifier.",
              "counter");
  metric_map(o, "fleetcommand_domain_queries_total", "resolver", i.lookup_stats.queries);
  metric_head(o, "fleetcommand_domain_answers_total",
              "Answers the domain verifier got, by rcode (or timeout/error).", "counter");
  metric_map(o, "fleetcommand_domain_answers_total", "rcode", i.lookup_stats.answers);
  metric_head(o, "fleetcommand_domain_lookups_cached_total",
              "Lookups answered from an answer whose TTL had not run out.", "counter");
  o += "fleetcommand_domain_lookups_cached_total " + std::to_string(i.lookup_stats.cached) + "\n";
  metric_head(o, "fleetcommand_domain_lookups_coalesced_total",
              "Lookups that shared a query already in flight for the same name and type.",
              "counter");
  o += "fleetcommand_domain_lookups_coalesced_total " + std::to_string(i.lookup_stats.coalesced) +
       "\n";
  metric_head(o, "fleetcommand_domain_early_checks_total",
              "Pending checks started before their time, into spare query capacity.", "counter");
  o += "fleetcommand_domain_early_checks_total " + std::to_string(i.lookup_stats.early_checks) +
       "\n";
  auto due = store::due_count(i.db.read(), i.now());
  metric_head(o, "fleetcommand_domain_checks_due",
              "Domains whose check is due (the verifier's queue depth).", "gauge");
  o += "fleetcommand_domain_checks_due " + std::to_string(due ? due.value() : -1) + "\n";
  metric_head(o, "fleetcommand_domain_checks_in_flight", "Domain checks running now.", "gauge");
  o += "fleetcommand_domain_checks_in_flight " + std::to_string(i.in_flight.size()) + "\n";
  // The pacing in force (domains.*; SIGHUP reloads it).
  metric_head(o, "fleetcommand_domain_verifier_queries_per_second_limit",
              "Query-rate cap per resolver (domains.queries_per_second).", "gauge");
  o += "fleetcommand_domain_verifier_queries_per_second_limit " +
       std::to_string(std::llround(i.o.queries_per_second)) + "\n";
  metric_head(o, "fleetcommand_domain_verifier_concurrent_checks_limit",
              "Domains checked at once at most (domains.max_concurrent_checks).", "gauge");
  o += "fleetcommand_domain_verifier_concurrent_checks_limit " +
       std::to_string(i.o.max_concurrent_checks) + "\n";
  return o;
}

}  // namespace fc::domains

// GET /v1/dns/records?name= (admin): the records the embedded server serves
// at a name (from its in-memory zone, as a query would see them), each with
// every external provider's sync state (dns::provider_record_state); and
// GET /v1/dns/zone?limit=&cursor= (admin): every RRset of the zone, paged.
#include <algorithm>
#include <map>

#include "api/detail/context.hpp"
#include "api/detail/status_routes.hpp"
#include "api/server.hpp"
#include "dns/publisher.hpp"
#include "dns/server.hpp"

namespace fc::api {

void Service::set_dns(dns::Server* server) { ctx_->dns_server = server; }

namespace detail {

namespace {

using nlohmann::json;

struct ProviderId {
  std::string id, server, zone;
};

std::vector<ProviderId> providers(const config::Config& cfg) {
  std::vector<ProviderId> out;
  if (!cfg.dns_providers.is_array()) return out;
  for (const auto& p : cfg.dns_providers) {
    std::string zone = p.value("zone", "");
    std::transform(zone.begin(), zone.end(), zone.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (!zone.empty() && zone.back() == '.') zone.pop_back();
    std::string server = p.value("server", "");
    out.push_back({server + "/" + zone, server, zone});
  }
  return out;
}

bool in_zone(const std::string& name, const std::string& zone) {
  return name == zone || (name.size() > zone.size() && name.ends_with("." + zone));
}

Result<json> provider_state(storage::Conn& c, const ProviderId& p, const std::string& name,
                            const std::string& type) {
  BOOST_OUTCOME_TRY(found, dns::provider_record_state(c, p.id, name, type));
  json out = {{"server", p.server},
              {"zone", p.zone},
              {"state", "pending"},
              {"last_error", nullptr},
              {"synced_at", nullptr}};
  if (!found) return out;
  out["state"] = found->state;
  if (found->last_error) out["last_error"] = *found->last_error;
  if (found->synced_at) out["synced_at"] = format_rfc3339(*found->synced_at);
  return out;
}

Result<json> records_at(Context& ctx, const dns::Name& name) {
  json items = json::array();
  auto zone = ctx.dns_server->zone();
  const auto rrsets = zone ? zone->find(name) : std::nullopt;
  if (!rrsets) return items;
  std::string key = name.key();
  if (!key.empty() && key.back() == '.') key.pop_back();
  for (const auto& set : *rrsets) {
    json data = json::array();
    for (const auto& rd : set.rdatas) data.push_back(dns::rdata_to_text(rd));
    std::string type = dns::type_name(set.type);
    json provs = json::array();
    const bool owned = set.type != dns::RrType::kSoa && set.type != dns::RrType::kNs;
    for (const auto& p : providers(ctx.cfg)) {
      if (!owned || !in_zone(key, p.zone)) continue;
      BOOST_OUTCOME_TRY(st, provider_state(ctx.db.read(), p, key, type));
      provs.push_back(std::move(st));
    }
    items.push_back(
        {{"name", key}, {"type", type}, {"ttl", set.ttl}, {"data", data}, {"providers", provs}});
  }
  return items;
}

constexpr std::size_t kZonePageDefault = 1000;
constexpr std::size_t kZonePageMax = 5000;

std::string zone_owner_text(const dns::Name& n) {
  std::string key = n.key();
  if (!key.empty() && key.back() == '.') key.pop_back();
  return key;
}

// Every RRset in (owner, type) order; the cursor is the last item's
// "owner type", so a page boundary survives changes to the zone in between.
json zone_page(const dns::ZoneSnapshot& zone, const std::string& after, std::size_t limit) {
  std::map<std::pair<std::string, std::string>, json> sets;
  for (const auto& rec : zone.all_records()) {
    auto key = std::make_pair(zone_owner_text(rec.name), dns::type_name(rec.type));
    auto [it, fresh] = sets.try_emplace(key, json::object());
    if (fresh)
      it->second = {
          {"name", key.first}, {"type", key.second}, {"ttl", rec.ttl}, {"data", json::array()}};
    it->second["data"].push_back(dns::rdata_to_text(rec.rdata));
  }
  json items = json::array();
  json next = nullptr;
  auto sp = after.find(' ');
  auto it = after.empty() ? sets.begin()
                          : sets.upper_bound({after.substr(0, sp),
                                              sp == std::string::npos ? "" : after.substr(sp + 1)});
  for (; it != sets.end(); ++it) {
    if (items.size() == limit) {
      next =
          items.back()["name"].get<std::string>() + " " + items.back()["type"].get<std::string>();
      break;
    }
    items.push_back(it->second);
  }
  return {{"serial", zone.serial()}, {"items", items}, {"next_cursor", next}};
}

// A next_cursor of zone_page: "<owner> <TYPE>" with a DNS name and a type.
bool valid_zone_cursor(const std::string& c) {
  auto sp = c.find(' ');
  if (sp == std::string::npos || sp == 0) return false;
  return dns::Name::from_text(c.substr(0, sp)).has_value() &&
         dns::type_from_name(c.substr(sp + 1)).has_value();
}

awaitable<Response> zone_dump(Context& ctx, Request& r) {
  std::size_t limit = kZonePageDefault;
  std::vector<FieldError> bad;  // every bad field in one 422
  if (auto it = r.query.find("limit"); it != r.query.end()) {
    char* end = nullptr;
    long v = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || v < 1 || v > static_cast<long>(kZonePageMax))
      bad.push_back({"limit", "must be an integer from 1 to 5000"});
    else
      limit = static_cast<std::size_t>(v);
  }
  auto cursor = r.query.count("cursor") ? r.query.at("cursor") : std::string();
  if (!cursor.empty() && !valid_zone_cursor(cursor))
    bad.push_back({"cursor", "is not a next_cursor this API returned"});
  if (!bad.empty()) co_return validation_failed(bad);
  if (ctx.dns_server == nullptr)
    co_return problem_from(make_error(Code::kUnavailable, "the DNS server is not running"),
                           r.request_id);
  auto zone = ctx.dns_server->zone();
  if (!zone) co_return problem_from(make_error(Code::kUnavailable, "no zone loaded"), r.request_id);
  co_return json_response(200, zone_page(*zone, cursor, limit));
}

}  // namespace

Result<json> dns_records_at(Context& ctx, const dns::Name& name) { return records_at(ctx, name); }

void register_dns_routes(Context& ctx) {
  ctx.router.add("GET", "/v1/dns/zone", Scope::kAdmin,
                 [&ctx](Request& r) -> awaitable<Response> { return zone_dump(ctx, r); });
  ctx.router.add(
      "GET", "/v1/dns/records", Scope::kAdmin, [&ctx](Request& r) -> awaitable<Response> {
        auto it = r.query.find("name");
        if (it == r.query.end() || it->second.empty())
          co_return validation_failed({{"name", "is required (a name inside the zone)"}});
        auto name = dns::Name::from_text(it->second);
        if (!name) co_return validation_failed({{"name", "must be a DNS name"}});
        if (ctx.dns_server == nullptr)
          co_return problem_from(make_error(Code::kUnavailable, "the DNS server is not running"),
                                 r.request_id);
        auto items = records_at(ctx, name.value());
        if (!items) co_return problem_from(items.error(), r.request_id);
        co_return json_response(200, {{"items", items.value()}});
      });
}

}  // namespace detail
}  // namespace fc::api

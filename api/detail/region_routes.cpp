// /v1/regions (API.md "Regions").
#include <spdlog/spdlog.h>

#include "api/detail/context.hpp"
#include "api/detail/json_in.hpp"
#include "scheduler/service.hpp"

namespace fc::api::detail {

using nlohmann::json;
namespace sch = fc::scheduler;

namespace {

json quantities_json(const sch::Quantities& q) {
  return {{"memory_mib", q.memory_mib}, {"cpu_millis", q.cpu_millis}, {"workspaces", q.workspaces}};
}

json region_json(Context& ctx, const sch::Region& r) {
  auto h = ctx.scheduler->health(r);
  json labels = json::object();
  for (const auto& [k, v] : r.labels) labels[k] = v;
  json agents = json::array();
  // Agents heard since this daemon started (kept in memory): an agent is
  // `up` while its last heartbeat is within the heartbeat timeout, else `stale`.
  const std::int64_t stale_before =
      ctx.clock.now_ms() - ctx.scheduler->heartbeat_timeout_s() * 1000;
  for (const auto& a : ctx.scheduler->agents(r.id)) {
    agents.push_back({{"agent_id", a.agent_id},
                      {"version", a.version},
                      {"state", a.last_heartbeat_ms >= stale_before ? "up" : "stale"},
                      {"last_heartbeat_at", format_rfc3339(a.last_heartbeat_ms)}});
  }
  json j = {{"id", r.id},
            {"name", r.name},
            {"labels", labels},
            {"ingress",
             {{"ipv4", r.ingress.ipv4},
              {"ipv6", r.ingress.ipv6},
              {"hostname", r.ingress.hostname ? json(*r.ingress.hostname) : json(nullptr)}}},
            {"capacity", quantities_json(r.capacity)},
            {"allocated", quantities_json(r.allocated)},
            {"state", std::string(sch::region_state_name(r.state))},
            {"health", std::string(sch::health_name(h.health))},
            {"last_heartbeat_at",
             r.last_heartbeat_ms ? json(format_rfc3339(*r.last_heartbeat_ms)) : json(nullptr)},
            {"revision", r.revision},
            {"agents", agents},
            {"created_at", format_rfc3339(r.created_at)},
            {"updated_at", format_rfc3339(r.updated_at)}};
  if (r.state == sch::RegionState::kDraining) {
    auto d = ctx.scheduler->drain_progress(r.id);
    json blocked = json::array();
    for (const auto& [ws, why] : d.blocked)
      blocked.push_back({{"workspace_id", ws}, {"reason", why}});
    j["drain"] = {{"remaining", d.remaining},
                  {"moving", d.moving ? json(*d.moving) : json(nullptr)},
                  {"blocked", blocked}};
  }
  return j;
}

void read_ingress(JsonIn& in, const json& o, sch::Ingress& out) {
  in.only(o, {"ipv4", "ipv6", "hostname"}, "ingress.");
  out.ipv4 = in.str_list(o, "ipv4", "ingress.ipv4").value_or(std::vector<std::string>{});
  out.ipv6 = in.str_list(o, "ipv6", "ingress.ipv6").value_or(std::vector<std::string>{});
  out.hostname = in.str(o, "hostname", "ingress.hostname", false);
}

void read_capacity(JsonIn& in, const json& o, sch::Quantities& q) {
  in.only(o, {"memory_mib", "cpu_millis", "workspaces"}, "capacity.");
  q.memory_mib = in.integer(o, "memory_mib", "capacity.memory_mib", true).value_or(0);
  q.cpu_millis = in.integer(o, "cpu_millis", "capacity.cpu_millis", true).value_or(0);
  q.workspaces = in.integer(o, "workspaces", "capacity.workspaces", true).value_or(0);
}

awaitable<Response> create_region(Context& ctx, Request& r) {
  Response err;
  auto body = parse_json_body(r, err);
  if (!body) co_return err;
  const json& j = body.value();
  std::vector<FieldError> errors;
  JsonIn in(errors);
  in.only(j, {"id", "name", "labels", "ingress", "capacity"}, "");
  sch::RegionInput ri;
  ri.id = in.str(j, "id", "id", true).value_or("");
  ri.name = in.str(j, "name", "name", false).value_or("");
  ri.labels = in.str_map(j, "labels", "labels").value_or(sch::Labels{});
  if (const json* ing = in.object(j, "ingress", "ingress", true))
    read_ingress(in, *ing, ri.ingress);
  if (const json* cap = in.object(j, "capacity", "capacity", true))
    read_capacity(in, *cap, ri.capacity);
  if (errors.empty())
    errors = to_api(sch::validate_region({ri.id, ri.labels, ri.ingress, ri.capacity}));
  if (!errors.empty()) co_return validation_failed(errors);
  auto region = co_await ctx.scheduler->create_region(ri);
  if (!region) co_return problem_from(region.error(), r.request_id);
  spdlog::info("region created id={}", ri.id);
  co_return json_response(201, region_json(ctx, region.value()));
}

awaitable<Response> patch_region(Context& ctx, Request& r) {
  Response err;
  auto body = parse_json_body(r, err);
  if (!body) co_return err;
  const json& j = body.value();
  std::vector<FieldError> errors;
  JsonIn in(errors);
  in.only(j, {"name", "labels", "ingress", "capacity", "state"}, "");
  sch::RegionPatch p;
  p.name = in.str(j, "name", "name", false);
  p.labels = in.str_map(j, "labels", "labels");
  if (const json* ing = in.object(j, "ingress", "ingress", false)) {
    sch::Ingress i;
    read_ingress(in, *ing, i);
    p.ingress = i;
  }
  if (const json* cap = in.object(j, "capacity", "capacity", false)) {
    sch::Quantities q;
    read_capacity(in, *cap, q);
    p.capacity = q;
  }
  if (auto s = in.str(j, "state", "state", false)) {
    p.state = sch::parse_region_state(*s);
    if (!p.state) in.error("state", "must be one of active, cordoned, draining");
  }
  sch::FieldErrors v;
  if (p.labels) sch::validate_labels(*p.labels, "labels", v);
  if (p.ingress) sch::validate_ingress(*p.ingress, "ingress", v);
  if (p.capacity) sch::validate_capacity(*p.capacity, "capacity", v);
  for (const auto& e : to_api(v)) errors.push_back(e);
  if (!errors.empty()) co_return validation_failed(errors);
  auto region = co_await ctx.scheduler->patch_region(r.params["id"], p);
  if (!region) co_return problem_from(region.error(), r.request_id);
  co_return json_response(200, region_json(ctx, region.value()));
}

}  // namespace

void register_region_routes(Context& ctx) {
  auto& rt = ctx.router;
  rt.add("POST", "/v1/regions", Scope::kAdmin,
         [&ctx](Request& r) { return create_region(ctx, r); });
  rt.add("GET", "/v1/regions", Scope::kAdmin, [&ctx](Request& r) -> awaitable<Response> {
    auto all = ctx.scheduler->list_regions();
    if (!all) co_return problem_from(all.error(), r.request_id);
    json items = json::array();
    for (const auto& reg : all.value()) items.push_back(region_json(ctx, reg));
    co_return json_response(200, {{"items", items}});
  });
  rt.add("GET", "/v1/regions/{id}", Scope::kAdmin, [&ctx](Request& r) -> awaitable<Response> {
    auto reg = ctx.scheduler->get_region(r.params["id"]);
    if (!reg) co_return problem_from(reg.error(), r.request_id);
    co_return json_response(200, region_json(ctx, reg.value()));
  });
  rt.add("PATCH", "/v1/regions/{id}", Scope::kAdmin,
         [&ctx](Request& r) { return patch_region(ctx, r); });
  rt.add("DELETE", "/v1/regions/{id}", Scope::kAdmin, [&ctx](Request& r) -> awaitable<Response> {
    auto st = co_await ctx.scheduler->delete_region(r.params["id"]);
    if (!st) co_return problem_from(st.error(), r.request_id);
    co_return no_content();
  });
  rt.add("POST", "/v1/regions/{id}/agent-tokens", Scope::kAdmin,
         [&ctx](Request& r) -> awaitable<Response> {
           auto reg = ctx.scheduler->get_region(r.params["id"]);
           if (!reg) co_return problem_from(reg.error(), r.request_id);
           auto m = mint(TokenKind::kAgent, reg.value().id, "", ctx.clock.now_ms(), ctx.ids);
           auto st =
               co_await ctx.db.write([&](storage::Conn& c) { return insert_token(c, m.record); });
           if (!st) co_return problem_from(st.error(), r.request_id);
           ctx.tokens.add(m.record);
           spdlog::info("agent token minted id={} region={}", m.record.id, m.record.region);
           co_return json_response(
               201, {{"token", m.token}, {"id", m.record.id}, {"region", m.record.region}});
         });
}

}  // namespace fc::api::detail

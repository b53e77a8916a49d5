// /v1/tenants, /v1/plans, suspend/resume and /v1/usage (API.md "Tenants,
// plans and usage"; docs/tenants.md).
#include <spdlog/spdlog.h>

#include "api/detail/context.hpp"
#include "api/detail/json_in.hpp"
#include "api/detail/paging.hpp"
#include "domains/service.hpp"
#include "scheduler/service.hpp"
#include "tenants/service.hpp"

namespace fc::api::detail {

using nlohmann::json;
namespace tn = fc::tenants;

// A tenants error as the API answers it: quotas and unknown names are a 422
// naming the field (API.md), the rest by the error model.
Response tenants_failed(const Error& e, const std::string& request_id) {
  if (e.is(tn::Errc::kUnknownTenant) || e.is(tn::Errc::kWorkspaceQuota))
    return validation_failed({{"tenant", e.detail}});
  if (e.is(tn::Errc::kUnknownPlan) || e.is(tn::Errc::kPlanQuota))
    return validation_failed({{"plan", e.detail}});
  if (e.is(tn::Errc::kRegionNotAllowed))
    return validation_failed({{"placement.regions", e.detail}});
  return problem_from(e, request_id);
}

namespace {
constexpr const char* kNobody = "-";  // matches no workspace id
}  // namespace

std::string viewer_for(Context& ctx, const Request& r, const std::string& key) {
  if (r.principal->kind != TokenKind::kTenant) return "";
  if (r.principal->tenant_id.empty()) return r.principal->workspace_id;
  if (ctx.tenants == nullptr) return kNobody;
  auto w = ctx.scheduler->get_workspace(key);
  if (!w) return kNobody;
  auto t = ctx.tenants->tenancy(w.value().id);
  if (!t || !t.value() || t.value()->tenant_id != r.principal->tenant_id) return kNobody;
  return w.value().id;
}

std::string viewer_for_host(Context& ctx, const Request& r, const std::string& hostname) {
  if (r.principal->kind != TokenKind::kTenant || r.principal->tenant_id.empty())
    return viewer_for(ctx, r, "");
  if (ctx.domains == nullptr) return kNobody;
  auto d = ctx.domains->get(hostname, "");
  if (!d) return kNobody;
  return viewer_for(ctx, r, d.value().workspace_id);
}

namespace {

json tenant_json(const tn::Tenant& t) {
  return {{"id", t.id}, {"name", t.name}, {"created_at", format_rfc3339(t.created_at)}};
}

awaitable<Response> create_tenant(Context& ctx, Request& r) {
  Response err;
  auto body = parse_json_body(r, err);
  if (!body) co_return err;
  std::vector<FieldError> errors;
  JsonIn in(errors);
  in.only(body.value(), {"name"}, "");
  auto name = in.str(body.value(), "name", "name", true);
  if (!errors.empty()) co_return validation_failed(errors);
  auto t = co_await ctx.tenants->create_tenant(*name);
  if (!t) {
    if (t.error().code == Code::kInvalidArgument)
      co_return validation_failed({{"name", t.error().detail}});
    co_return problem_from(t.error(), r.request_id);
  }
  co_return json_response(201, tenant_json(t.value()));
}

awaitable<Response> list_tenants(Context& ctx, Request& r) {
  std::vector<FieldError> errors;
  const PageQuery page = read_page_query(r, "ten_", errors);
  if (!errors.empty()) co_return validation_failed(errors);
  auto items = ctx.tenants->list_tenants(page.limit + 1, page.after);
  if (!items) co_return problem_from(items.error(), r.request_id);
  const auto& v = items.value();
  json out = json::array();
  for (std::size_t i = 0; i < v.size() && static_cast<int>(i) < page.limit; ++i)
    out.push_back(tenant_json(v[i]));
  json next = nullptr;
  if (static_cast<int>(v.size()) > page.limit)
    next = v[static_cast<std::size_t>(page.limit) - 1].id;
  co_return json_response(200, {{"items", out}, {"next_cursor", next}});
}

awaitable<Response> get_tenant(Context& ctx, Request& r) {
  auto t = ctx.tenants->get_tenant(r.params.at("id"));
  if (!t) co_return problem_from(t.error(), r.request_id);
  json j = tenant_json(t.value());
  auto ws = ctx.tenants->workspaces_of(t.value().id);
  if (!ws) co_return problem_from(ws.error(), r.request_id);
  j["workspaces"] = ws.value();
  co_return json_response(200, j);
}

// A tenant-wide tenant token (shown once): sees every workspace of the
// tenant, their domains, status and live checks, nothing else.
awaitable<Response> create_tenant_token(Context& ctx, Request& r) {
  auto t = ctx.tenants->get_tenant(r.params.at("id"));
  if (!t) co_return problem_from(t.error(), r.request_id);
  auto m = mint(TokenKind::kTenant, "", "", ctx.clock.now_ms(), ctx.ids);
  m.record.tenant_id = t.value().id;
  auto st = co_await ctx.db.write([&](storage::Conn& c) { return insert_token(c, m.record); });
  if (!st) co_return problem_from(st.error(), r.request_id);
  ctx.tokens.add(m.record);
  spdlog::info("tenant token created id={} tenant={}", m.record.id, t.value().id);
  co_return json_response(201,
                          {{"token", m.token}, {"id", m.record.id}, {"tenant_id", t.value().id}});
}

awaitable<Response> list_plans(Context& ctx) {
  json items = json::array();
  if (ctx.tenants)
    for (const auto& [name, p] : ctx.tenants->plans()) items.push_back(tn::plan_json(p));
  co_return json_response(200, {{"items", items}});
}

awaitable<Response> suspend(Context& ctx, Request& r, bool suspended) {
  auto w = co_await ctx.tenants->set_suspended(r.params.at("id"), suspended);
  if (!w) co_return problem_from(w.error(), r.request_id);
  json j = workspace_json(ctx, w.value());
  co_return json_response(202, j);
}

// from/to (RFC 3339 UTC or epoch seconds) and granularity; each bad one is
// named. Default: the last 24 hours by hour.
struct UsageQuery {
  std::string tenant;
  std::int64_t from_s = 0;
  std::int64_t to_s = 0;
  std::int64_t granularity_s = tn::kHour;
};

std::optional<UsageQuery> read_usage_query(Context& ctx, Request& r,
                                           std::vector<FieldError>& errors) {
  UsageQuery q;
  const std::int64_t now = ctx.clock.now_ms() / 1000;
  q.to_s = tn::hour_floor(now) + tn::kHour;
  q.from_s = q.to_s - tn::kDay;
  if (r.query.count("tenant")) q.tenant = r.query["tenant"];
  for (auto [key, dst] : {std::pair{"from", &q.from_s}, std::pair{"to", &q.to_s}}) {
    if (!r.query.count(key)) continue;
    auto v = tn::parse_utc_seconds(r.query[key]);
    if (!v) errors.push_back({key, "must be RFC 3339 UTC (2026-12-01T00:00:00Z) or epoch seconds"});
    if (v) *dst = *v;
  }
  if (r.query.count("granularity")) {
    const std::string& g = r.query["granularity"];
    if (g == "day")
      q.granularity_s = tn::kDay;
    else if (g != "hour")
      errors.push_back({"granularity", "must be hour or day"});
  }
  if (errors.empty() && q.to_s <= q.from_s) errors.push_back({"to", "must be after from"});
  if (errors.empty() && q.to_s - q.from_s > 366 * tn::kDay)
    errors.push_back({"to", "a period is at most 366 days"});
  if (!errors.empty()) return std::nullopt;
  return q;
}

json usage_json(const UsageQuery& q, const std::vector<tn::UsageRow>& rows) {
  json items = json::array();
  std::map<std::string, std::int64_t> totals{{"running", 0}, {"suspended", 0}};
  for (const auto& u : rows) {
    const auto& k = u.key;
    items.push_back({{"start", format_rfc3339(u.bucket_start_s * 1000)},
                     {"workspace_id", k.workspace_id},
                     {"tenant", k.tenant_id.empty() ? json(nullptr) : json(k.tenant_id)},
                     {"plan", k.plan.empty() ? json(nullptr) : json(k.plan)},
                     {"state", k.state},
                     {"resources", {{"memory_mib", k.memory_mib}, {"cpu_millis", k.cpu_millis}}},
                     {"seconds", u.seconds},
                     {"memory_mib_seconds", u.seconds * k.memory_mib},
                     {"cpu_millis_seconds", u.seconds * k.cpu_millis}});
    totals[k.state] += u.seconds;
  }
  return {{"tenant", q.tenant.empty() ? json(nullptr) : json(q.tenant)},
          {"from", format_rfc3339(q.from_s * 1000)},
          {"to", format_rfc3339(q.to_s * 1000)},
          {"granularity", q.granularity_s == tn::kDay ? "day" : "hour"},
          {"items", items},
          {"totals",
           {{"running_seconds", totals["running"]}, {"suspended_seconds", totals["suspended"]}}}};
}

awaitable<Response> get_usage(Context& ctx, Request& r) {
  std::vector<FieldError> errors;
  auto q = read_usage_query(ctx, r, errors);
  if (!q) co_return validation_failed(errors);
  if (!q->tenant.empty()) {
    auto t = ctx.tenants->get_tenant(q->tenant);
    if (!t) co_return problem_from(t.error(), r.request_id);
    q->tenant = t.value().id;
  }
  // A tenant token sees its own usage only (docs/tenants.md): a tenant-wide
  // token its tenant's, a workspace's token that workspace's rows; `tenant`
  // naming any other tenant is 404, as for other tenants' objects.
  std::string only_workspace;
  if (r.principal->kind == TokenKind::kTenant) {
    std::string mine = r.principal->tenant_id;
    if (mine.empty()) {
      only_workspace = r.principal->workspace_id;
      auto t = ctx.tenants->tenancy(only_workspace);
      if (t && t.value()) mine = t.value()->tenant_id;
    }
    if (!q->tenant.empty() && q->tenant != mine)
      co_return problem_from(make_error(Code::kNotFound, "no tenant " + r.query["tenant"]),
                             r.request_id);
    q->tenant = mine;
  }
  auto rows = ctx.tenants->usage_report(q->tenant, q->from_s, q->to_s, q->granularity_s);
  if (!rows) co_return problem_from(rows.error(), r.request_id);
  if (!only_workspace.empty())
    std::erase_if(rows.value(),
                  [&](const tn::UsageRow& u) { return u.key.workspace_id != only_workspace; });
  if (r.header("accept").find("text/csv") != std::string::npos) {
    Response resp;
    resp.content_type = "text/csv; charset=utf-8";
    resp.body = tn::usage_csv(rows.value());
    co_return resp;
  }
  co_return json_response(200, usage_json(*q, rows.value()));
}

}  // namespace

void register_tenant_routes(Context& ctx) {
  auto& rt = ctx.router;
  rt.add("GET", "/v1/plans", Scope::kAdmin, [&ctx](Request&) { return list_plans(ctx); });
  if (ctx.tenants == nullptr) return;
  rt.add("POST", "/v1/tenants", Scope::kAdmin,
         [&ctx](Request& r) { return create_tenant(ctx, r); });
  rt.add("GET", "/v1/tenants", Scope::kAdmin, [&ctx](Request& r) { return list_tenants(ctx, r); });
  rt.add("GET", "/v1/tenants/{id}", Scope::kAdmin,
         [&ctx](Request& r) { return get_tenant(ctx, r); });
  rt.add("POST", "/v1/tenants/{id}/tokens", Scope::kAdmin,
         [&ctx](Request& r) { return create_tenant_token(ctx, r); });
  rt.add("POST", "/v1/workspaces/{id}/suspend", Scope::kAdmin,
         [&ctx](Request& r) { return suspend(ctx, r, true); });
  rt.add("POST", "/v1/workspaces/{id}/resume", Scope::kAdmin,
         [&ctx](Request& r) { return suspend(ctx, r, false); });
  rt.add("GET", "/v1/usage", Scope::kAdminOrTenant,
         [&ctx](Request& r) { return get_usage(ctx, r); });
}

}  // namespace fc::api::detail

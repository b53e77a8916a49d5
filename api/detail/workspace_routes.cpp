// /v1/workspaces (API.md "Workspaces").
#include <spdlog/spdlog.h>

#include "api/detail/context.hpp"
#include "api/detail/json_in.hpp"
#include "api/detail/paging.hpp"
#include "common/utf8.hpp"
#include "probes/service.hpp"
#include "releases/service.hpp"
#include "scheduler/service.hpp"
#include "tenants/service.hpp"

namespace fc::api::detail {

using nlohmann::json;
namespace sch = fc::scheduler;

// The view's one owner is the scheduler (Service::workspace_view: tenancy and
// release come from the decorators tenants/ and releases/ register), so GET
// and the workspace.* events show the same thing.
json workspace_json(Context& ctx, const sch::Workspace& w) {
  auto v = ctx.scheduler->workspace_view(ctx.db.read(), w);
  if (v) return std::move(v).value();
  spdlog::warn("workspace view incomplete id={} reason={}", w.id, v.error().detail);
  return ctx.scheduler->base_view(w);
}

// The hostname's latest live check (API.md "Live checks"); {status: unknown}
// before the first probe or without the live checks.
json live_json(Context& ctx, const std::string& hostname) {
  if (ctx.probes == nullptr) return probes::Service::view(std::nullopt);
  return ctx.probes->view_of(hostname);
}

namespace {

std::optional<sch::Resources> read_resources(JsonIn& in, const json& o) {
  in.only(o, {"memory_mib", "cpu_millis"}, "resources.");
  auto m = in.integer(o, "memory_mib", "resources.memory_mib", true);
  auto c = in.integer(o, "cpu_millis", "resources.cpu_millis", true);
  if (!m || !c) return std::nullopt;
  return sch::Resources{*m, *c};
}

// spec: {"image": string, "env": {string: string}}; other fields kept as given.
void check_spec(JsonIn& in, const json& s) {
  if (s.contains("image") && !s["image"].is_string()) in.error("spec.image", "must be a string");
  (void)in.str_map(s, "env", "spec.env");
}

// The Idempotency-Key of a create request (docs/api-server.md); key "" = none.
struct IdemKey {
  std::string key;
  std::string scope;
  std::string body_hash;  // only requests with a key are fingerprinted
};

// Reads the request's key into `k`; a response to send at once when the key
// is too long or was seen before (its stored response, or 409).
std::optional<Response> begin_idempotent(Context& ctx, const Request& r, const json& j,
                                         IdemKey& k) {
  k.key = r.header("idempotency-key");
  k.scope = r.principal->token_id + " POST /v1/workspaces";
  if (k.key.empty()) return std::nullopt;
  if (k.key.size() > 255)
    return validation_failed({{"Idempotency-Key", "must be at most 255 characters"}});
  if (!valid_utf8(k.key))  // stored as text: PostgreSQL refused it (a 500 there, 201 on SQLite)
    return validation_failed({{"Idempotency-Key", "must be valid UTF-8"}});
  k.body_hash = sha256_hex(j.dump());
  return lookup_idempotent(ctx, k.scope, k.key, k.body_hash);
}

// What a create names besides the scheduler's input (docs/tenants.md).
struct Ownership {
  std::string tenant;
  std::string plan;
};

sch::WorkspaceInput read_workspace(const json& j, std::vector<FieldError>& errors, Ownership& own) {
  JsonIn in(errors);
  in.only(j, {"name", "resources", "placement", "spec", "tenant", "plan", "channel", "release"},
          "");
  sch::WorkspaceInput wi;
  wi.name = in.str(j, "name", "name", true).value_or("");
  own.tenant = in.str(j, "tenant", "tenant", false).value_or("");
  own.plan = in.str(j, "plan", "plan", false).value_or("");
  // With a plan the plan sets the resources; giving both is ambiguous.
  if (!own.plan.empty() && j.contains("resources"))
    in.error("resources", "set by the plan; give either plan or resources");
  if (const json* res = in.object(j, "resources", "resources", own.plan.empty())) {
    if (auto rr = read_resources(in, *res)) wi.request.resources = *rr;
  }
  if (const json* p = in.object(j, "placement", "placement", false)) {
    auto& pl = wi.request.placement;
    in.only(*p, {"regions", "labels", "prefer"}, "placement.");
    const std::vector<std::string> none;
    pl.regions = in.str_list(*p, "regions", "placement.regions").value_or(none);
    pl.labels = in.str_map(*p, "labels", "placement.labels").value_or(sch::Labels{});
    pl.prefer = in.str_list(*p, "prefer", "placement.prefer").value_or(none);
  }
  if (const json* s = in.object(j, "spec", "spec", false)) {
    check_spec(in, *s);
    wi.spec = *s;
  }
  return wi;
}

// `channel` or `release` of a create or PATCH body (docs/releases.md): the
// binding to store, with `spec` set to carry the release's image and env;
// nullopt when the body names neither. 422 entries go to `errors`.
Result<std::optional<releases::Binding>> read_binding(Context& ctx, const json& j, json& spec,
                                                      std::optional<std::string> current,
                                                      std::vector<FieldError>& errors) {
  JsonIn in(errors);
  auto channel = in.str(j, "channel", "channel", false);
  auto release = in.str(j, "release", "release", false);
  if (!channel && !release) return std::optional<releases::Binding>();
  if (!errors.empty()) return std::optional<releases::Binding>();
  if (!ctx.releases) return make_error(Code::kUnavailable, "releases are not enabled");
  releases::FieldErrors fields;
  auto res = ctx.releases->resolve(channel, release, fields);
  for (const auto& f : fields) errors.push_back({f.field, f.message});
  if (!res)
    return fields.empty() ? Result<std::optional<releases::Binding>>(res.error())
                          : std::optional<releases::Binding>();
  BOOST_OUTCOME_TRY(next, ctx.releases->spec_for(spec, current, res.value().release));
  spec = std::move(next);
  return std::optional<releases::Binding>(res.value().binding);
}

Response create_failed(Context& ctx, const Request& r, const IdemKey& idem, const Error& e,
                       const std::vector<sch::RegionReason>& reasons) {
  if (e.is(sch::Errc::kNoCapacity))
    return no_capacity("no region can take this workspace", reasons);
  if (e.domain == &tenants::error_domain(tenants::Errc{})) return tenants_failed(e, r.request_id);
  if (!idem.key.empty() && e.code == Code::kConflict) {
    // A concurrent request with the same key may have won.
    auto prior = lookup_idempotent(ctx, idem.scope, idem.key, idem.body_hash);
    if (prior) return *prior;
  }
  return problem_from(e, r.request_id);
}

awaitable<Response> create_workspace(Context& ctx, Request& r) {
  // The common body without a DOM (read_plain_create); every other body, and
  // every request with an Idempotency-Key (fingerprinted from the DOM's
  // dump), the DOM way. The plain body names no tenant, plan, channel or
  // release: `j` is then an empty object for read_binding.
  static const json kPlainRest = json::object();
  std::optional<PlainCreate> plain;
  if (r.header("content-type") == "application/json" && r.header("idempotency-key").empty())
    plain = read_plain_create(r.body);
  std::optional<json> body;
  IdemKey idem;
  std::vector<FieldError> errors;
  Ownership own;
  sch::WorkspaceInput wi;
  if (plain) {
    wi.name = std::move(plain->name);
    wi.request.resources = sch::Resources{plain->memory_mib, plain->cpu_millis};
  } else {
    Response err;
    auto parsed = parse_json_body(r, err);
    if (!parsed) co_return err;
    body = std::move(parsed).value();
    if (auto early = begin_idempotent(ctx, r, *body, idem)) co_return *early;
    wi = read_workspace(*body, errors, own);
  }
  const json& j = body ? *body : kPlainRest;
  if (errors.empty() && (!own.tenant.empty() || !own.plan.empty()) && ctx.tenants == nullptr)
    errors.push_back({own.plan.empty() ? "tenant" : "plan", "tenants are not enabled"});
  if (errors.empty() && !own.plan.empty()) {
    auto st = ctx.tenants->apply_plan(own.plan, wi.request);
    if (!st) co_return tenants_failed(st.error(), r.request_id);
  }
  if (errors.empty()) errors = to_api(sch::validate_workspace(wi.name, wi.request));
  if (!errors.empty()) co_return validation_failed(errors);
  auto binding = read_binding(ctx, j, wi.spec, std::nullopt, errors);
  if (!errors.empty()) co_return validation_failed(errors);
  if (!binding) co_return problem_from(binding.error(), r.request_id);
  std::vector<sch::RegionReason> reasons;
  // Runs on the writer thread: the stored response is built from the write
  // transaction (it sees the tenancy and binding written just before).
  // Hands the view what it wrote (sch::CreatedView): no read back.
  auto hook = [&](storage::Conn& c, const sch::Workspace& w, sch::CreatedView& view) -> Status {
    if (ctx.tenants) {
      tenants::Tenancy t;
      BOOST_OUTCOME_TRY(ctx.tenants->on_created(c, w, own.tenant, own.plan, &t));
      tenants::Service::created_view(t, view);
    }
    if (binding.value()) {
      BOOST_OUTCOME_TRY(releases::Service::bind(c, w.id, *binding.value(), ctx.clock.now_ms()));
    }
    if (ctx.releases)
      releases::Service::created_view(binding.value() ? &*binding.value() : nullptr, view);
    return ok();
  };
  // The view the transaction stored in workspace.created is the answer (and
  // the Idempotency-Key's stored answer): no second view after the commit.
  std::string view_body;
  auto on_view = [&](storage::Conn& c, const sch::Workspace&, const std::string& view) -> Status {
    view_body = view;
    if (idem.key.empty()) return ok();
    return store_idempotent(c, idem.scope, idem.key, idem.body_hash, 201, view, ctx.clock.now_ms());
  };
  auto w = co_await ctx.scheduler->create_workspace(wi, hook, &reasons, on_view);
  if (!w) co_return create_failed(ctx, r, idem, w.error(), reasons);
  spdlog::info("workspace created id={} name={} region={}", w.value().id, w.value().name,
               w.value().region);
  co_return Response{201, "application/json", std::move(view_body), {}};
}

// Tenants see only their own workspace; others get 404 (not 403).
Result<sch::Workspace> visible_workspace(Context& ctx, const Request& r) {
  auto w = ctx.scheduler->get_workspace(r.params.at("id"));
  if (!w) return w;
  const std::string viewer = viewer_for(ctx, r, w.value().id);
  if (!viewer.empty() && viewer != w.value().id)
    return make_error(Code::kNotFound, "no workspace " + r.params.at("id"));
  return w;
}

// GET /v1/workspaces with a tenant-wide token: that tenant's workspaces only,
// with the same filters and paging (by id).
Result<std::vector<sch::Workspace>> tenant_workspaces(Context& ctx, const std::string& tenant,
                                                      Request& r, const std::string& state,
                                                      int limit, const std::string& after,
                                                      const std::string& q) {
  if (ctx.tenants == nullptr) return std::vector<sch::Workspace>{};
  BOOST_OUTCOME_TRY(ids, ctx.tenants->workspaces_of(tenant));  // sorted by id
  const std::string region = r.query.count("region") ? r.query["region"] : "";
  std::vector<sch::Workspace> out;
  for (const auto& id : ids) {
    if (id <= after) continue;
    auto w = ctx.scheduler->get_workspace(id);
    if (!w) continue;  // deleted meanwhile
    if ((!region.empty() && w.value().region != region) ||
        (!state.empty() && w.value().state != state))
      continue;
    if (!q.empty() && w.value().name.rfind(q, 0) != 0 &&
        ctx.scheduler->hostname_of(w.value()).rfind(q, 0) != 0)
      continue;
    out.push_back(std::move(w).value());
    if (static_cast<int>(out.size()) >= limit) break;
  }
  return out;
}

// One workspace against the list filters (a hostname search names at most one).
bool list_filters_match(Context& ctx, const sch::Workspace& w, const Request& r,
                        const std::string& state, const std::string& q, const std::string& after) {
  auto region = r.query.find("region");
  if (region != r.query.end() && !region->second.empty() && region->second != w.region)
    return false;
  if (!state.empty() && state != w.state) return false;
  if (!after.empty() && w.id <= after) return false;
  return ctx.scheduler->hostname_of(w).rfind(q, 0) == 0 || w.name.rfind(q, 0) == 0;
}

// A list of at most one workspace: the one whose hostname `q` (with a dot)
// starts.
Response single_workspace_page(Context& ctx, const Request& r, const std::string& key,
                               const std::string& state, const std::string& q,
                               const std::string& after) {
  json out = json::array();
  auto w = ctx.scheduler->get_workspace(key);
  if (w && list_filters_match(ctx, w.value(), r, state, q, after))
    out.push_back(workspace_json(ctx, w.value()));
  return json_response(200, {{"items", out}, {"next_cursor", nullptr}});
}

awaitable<Response> list_workspaces(Context& ctx, Request& r) {
  std::vector<FieldError> errors;
  const PageQuery page = read_page_query(r, "ws_", errors);
  std::string state = r.query.count("state") ? r.query["state"] : "";
  if (!state.empty() && state != "scheduled" && state != "migrating" && state != "deleting")
    errors.push_back({"state", "must be one of scheduled, migrating, deleting"});
  const auto q = read_prefix_query(r, errors, "a workspace name or hostname prefix");
  if (!errors.empty()) co_return validation_failed(errors);
  const int limit = page.limit;
  if (r.principal->kind == TokenKind::kTenant && r.principal->tenant_id.empty())
    co_return problem(403, "forbidden", "Forbidden", "a workspace's tenant token cannot list");
  // A hostname prefix names at most one workspace: the label before the dot
  // (a tenant's list is filtered by its own workspaces below).
  const auto dot = q->find('.');
  if (dot != std::string::npos && r.principal->kind != TokenKind::kTenant)
    co_return single_workspace_page(ctx, r, q->substr(0, dot), state, *q, page.after);
  auto items =
      r.principal->kind == TokenKind::kTenant
          ? tenant_workspaces(ctx, r.principal->tenant_id, r, state, limit + 1, page.after, *q)
          : ctx.scheduler->list_workspaces(r.query.count("region") ? r.query["region"] : "", state,
                                           limit + 1, page.after, *q);
  if (!items) co_return problem_from(items.error(), r.request_id);
  auto& v = items.value();
  json next = nullptr;
  if (static_cast<int>(v.size()) > limit) {
    next = v[static_cast<std::size_t>(limit) - 1].id;
    v.resize(static_cast<std::size_t>(limit));
  }
  // The page's text straight from the rows (Service::workspace_views_json: the
  // same bytes as json_response of the views, a fraction of the cost at 1,000
  // items; BENCHMARKS.md "Scale").
  Response out;
  out.status = 200;
  out.body = "{\"items\":" + ctx.scheduler->workspace_views_json(ctx.db.read(), v) +
             ",\"next_cursor\":" + next.dump() + "}";
  co_return out;
}

awaitable<Response> patch_workspace(Context& ctx, Request& r) {
  Response err;
  auto body = parse_json_body(r, err);
  if (!body) co_return err;
  const json& j = body.value();
  std::vector<FieldError> errors;
  JsonIn in(errors);
  in.only(j, {"resources", "spec", "plan", "channel", "release"}, "");
  std::optional<sch::Resources> res;
  std::optional<json> spec;
  std::optional<std::string> plan = in.str(j, "plan", "plan", false);
  if (plan && j.contains("resources"))
    in.error("resources", "set by the plan; give either plan or resources");
  if (plan && ctx.tenants == nullptr) in.error("plan", "tenants are not enabled");
  if (const json* o = in.object(j, "resources", "resources", false)) res = read_resources(in, *o);
  if (const json* s = in.object(j, "spec", "spec", false)) {
    check_spec(in, *s);
    spec = *s;
  }
  sch::FieldErrors v;
  if (res) sch::validate_resources(*res, "resources", v);
  for (const auto& e : to_api(v)) errors.push_back(e);
  if (!errors.empty()) co_return validation_failed(errors);
  Result<std::optional<releases::Binding>> binding = std::optional<releases::Binding>();
  sch::PatchHook hook;
  if (j.contains("channel") || j.contains("release")) {
    auto current = ctx.scheduler->get_workspace(r.params["id"]);
    if (!current) co_return problem_from(current.error(), r.request_id);
    json base = spec ? *spec : current.value().spec;
    std::optional<std::string> cur_release;
    if (ctx.releases) {
      const json b = ctx.releases->binding_json(current.value().id);
      if (b["current"].is_string()) cur_release = b["current"].get<std::string>();
    }
    binding = read_binding(ctx, j, base, cur_release, errors);
    if (!errors.empty()) co_return validation_failed(errors);
    if (!binding) co_return problem_from(binding.error(), r.request_id);
    spec = base;
    hook = [&ctx, b = *binding.value()](storage::Conn& c, const sch::Workspace& w) {
      return releases::Service::bind(c, w.id, b, ctx.clock.now_ms());
    };
  }
  if (ctx.tenants == nullptr) {
    auto w = co_await ctx.scheduler->patch_workspace(r.params["id"], res, spec, hook);
    if (!w) co_return problem_from(w.error(), r.request_id);
    co_return json_response(200, workspace_json(ctx, w.value()));
  }
  auto w = co_await ctx.tenants->patch(r.params["id"], res, spec, plan, hook);
  if (!w) co_return tenants_failed(w.error(), r.request_id);
  co_return json_response(200, workspace_json(ctx, w.value()));
}

awaitable<Response> migrate_workspace(Context& ctx, Request& r) {
  Response err;
  auto body = parse_json_body(r, err);
  if (!body) co_return err;
  std::vector<FieldError> errors;
  JsonIn in(errors);
  in.only(body.value(), {"region"}, "");
  auto region = in.str(body.value(), "region", "region", true);
  if (!errors.empty()) co_return validation_failed(errors);
  std::vector<sch::RegionReason> reasons;
  auto w = co_await ctx.scheduler->migrate_workspace(r.params["id"], *region, &reasons);
  if (!w) {
    if (w.error().is(sch::Errc::kNoCapacity)) co_return no_capacity(w.error().detail, reasons);
    co_return problem_from(w.error(), r.request_id);
  }
  co_return json_response(202, workspace_json(ctx, w.value()));
}

}  // namespace

void register_workspace_routes(Context& ctx) {
  auto& rt = ctx.router;
  rt.add("POST", "/v1/workspaces", Scope::kAdmin,
         [&ctx](Request& r) { return create_workspace(ctx, r); });
  rt.add("GET", "/v1/workspaces", Scope::kAdminOrTenant,
         [&ctx](Request& r) { return list_workspaces(ctx, r); });
  rt.add("GET", "/v1/workspaces/{id}", Scope::kAdminOrTenant,
         [&ctx](Request& r) -> awaitable<Response> {
           auto w = visible_workspace(ctx, r);
           if (!w) co_return problem_from(w.error(), r.request_id);
           json j = workspace_json(ctx, w.value());
           j["live"] = live_json(ctx, j["hostname"].get<std::string>());
           co_return json_response(200, j);
         });
  rt.add("PATCH", "/v1/workspaces/{id}", Scope::kAdmin,
         [&ctx](Request& r) { return patch_workspace(ctx, r); });
  rt.add("POST", "/v1/workspaces/{id}/migrate", Scope::kAdmin,
         [&ctx](Request& r) { return migrate_workspace(ctx, r); });
  rt.add("DELETE", "/v1/workspaces/{id}", Scope::kAdmin, [&ctx](Request& r) -> awaitable<Response> {
    bool force = r.query.count("force") && (r.query["force"] == "true" || r.query["force"] == "1");
    auto w = co_await ctx.scheduler->delete_workspace(r.params["id"], force);
    if (!w) co_return problem_from(w.error(), r.request_id);
    if (force) ctx.tokens.remove_scope("", w.value().id);
    co_return json_response(202, workspace_json(ctx, w.value()));
  });
  rt.add("POST", "/v1/workspaces/{id}/tenant-tokens", Scope::kAdmin,
         [&ctx](Request& r) -> awaitable<Response> {
           auto w = ctx.scheduler->get_workspace(r.params["id"]);
           if (!w) co_return problem_from(w.error(), r.request_id);
           auto m = mint(TokenKind::kTenant, "", w.value().id, ctx.clock.now_ms(), ctx.ids);
           auto st =
               co_await ctx.db.write([&](storage::Conn& c) { return insert_token(c, m.record); });
           if (!st) co_return problem_from(st.error(), r.request_id);
           ctx.tokens.add(m.record);
           co_return json_response(
               201, {{"token", m.token}, {"id", m.record.id}, {"workspace_id", w.value().id}});
         });
}

}  // namespace fc::api::detail

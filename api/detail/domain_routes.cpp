// /v1/workspaces/{id}/domains and /v1/domains/{hostname} (API.md "Custom
// domains"): admins, or the workspace's tenant token. A tenant never learns
// whether another workspace's domain exists (404).
#include <spdlog/spdlog.h>
#include "tenants/service.hpp"

#include "api/detail/context.hpp"
#include "api/detail/json_in.hpp"
#include "api/detail/paging.hpp"
#include "api/detail/status_routes.hpp"
#include "api/server.hpp"
#include "domains/service.hpp"
#include "probes/service.hpp"

namespace fc::api {

void Service::set_domains(domains::Service* d) { ctx_->domains = d; }
void Service::set_probes(probes::Service* p) { ctx_->probes = p; }
void Service::set_tenants(tenants::Service* t) { ctx_->tenants = t; }

}  // namespace fc::api

namespace fc::api::detail {

using nlohmann::json;

namespace {

awaitable<Response> claim(Context& ctx, Request& r) {
  Response err;
  auto body = parse_json_body(r, err);
  if (!body) co_return err;
  std::vector<FieldError> errors;
  JsonIn in(errors);
  in.only(body.value(), {"hostname"}, "");
  auto host = in.str(body.value(), "hostname", "hostname", true);
  if (!errors.empty()) co_return validation_failed(errors);
  auto norm = domains::normalize_hostname(*host, ctx.cfg.dns_zone);
  if (!norm) co_return validation_failed({{"hostname", norm.error().detail}});
  auto d = co_await ctx.domains->claim(r.params.at("id"), norm.value(),
                                       viewer_for(ctx, r, r.params.at("id")));
  if (!d && d.error().code == Code::kInvalidArgument)
    co_return validation_failed({{"hostname", d.error().detail}});
  if (!d) co_return problem_from(d.error(), r.request_id);
  co_return json_response(201, ctx.domains->view(d.value()));
}

awaitable<Response> list(Context& ctx, Request& r) {
  auto v = ctx.domains->list(r.params.at("id"), viewer_for(ctx, r, r.params.at("id")));
  if (!v) co_return problem_from(v.error(), r.request_id);
  json items = json::array();
  for (const auto& d : v.value()) items.push_back(ctx.domains->view(d));
  co_return json_response(200, {{"items", items}});
}

// The domain view with the hostname's latest live check.
json domain_with_live(Context& ctx, const domains::Domain& d) {
  json j = ctx.domains->view(d);
  j["live"] = live_json(ctx, d.hostname);
  return j;
}

awaitable<Response> get(Context& ctx, Request& r) {
  auto d =
      ctx.domains->get(r.params.at("hostname"), viewer_for_host(ctx, r, r.params.at("hostname")));
  if (!d) co_return problem_from(d.error(), r.request_id);
  co_return json_response(200, domain_with_live(ctx, d.value()));
}

// Probes the hostname now (whatever the domain's status) and answers with
// the view carrying the new result.
awaitable<Response> probe(Context& ctx, Request& r) {
  auto d =
      ctx.domains->get(r.params.at("hostname"), viewer_for_host(ctx, r, r.params.at("hostname")));
  if (!d) co_return problem_from(d.error(), r.request_id);
  if (ctx.probes == nullptr)
    co_return problem_from(make_error(Code::kUnavailable, "live checks are not running"),
                           r.request_id);
  auto res = co_await ctx.probes->probe_now(d.value().hostname, d.value().workspace_id);
  if (!res) co_return problem_from(res.error(), r.request_id);
  json j = ctx.domains->view(d.value());
  j["live"] = probes::Service::view(res.value());
  co_return json_response(200, j);
}

awaitable<Response> check(Context& ctx, Request& r) {
  auto st = co_await ctx.domains->check_now(r.params.at("hostname"),
                                            viewer_for_host(ctx, r, r.params.at("hostname")));
  if (!st) co_return problem_from(st.error(), r.request_id);
  auto d =
      ctx.domains->get(r.params.at("hostname"), viewer_for_host(ctx, r, r.params.at("hostname")));
  if (!d) co_return problem_from(d.error(), r.request_id);
  co_return json_response(202, ctx.domains->view(d.value()));
}

// GET /v1/domains (admins): every workspace's claims by id, filtered by
// `status` and a hostname prefix `q`, each with the first step of its status
// chain that is not True (the operator's "domains by status" view).
awaitable<Response> list_all(Context& ctx, Request& r) {
  std::vector<FieldError> errors;
  const PageQuery page = read_page_query(r, "dom_", errors, 100, 500);
  std::string status = r.query.count("status") ? r.query["status"] : "";
  if (!status.empty() && (!domains::parse_state(status) || status == "deleted"))
    errors.push_back(
        {"status", "must be one of pending_verification, issuing, active, failed, moved"});
  const auto q = read_prefix_query(r, errors, "a hostname prefix");
  if (!errors.empty()) co_return validation_failed(errors);
  auto v = ctx.domains->list_all(status, *q, page.limit + 1, page.after);
  if (!v) co_return problem_from(v.error(), r.request_id);
  json items = json::array();
  json next = nullptr;
  for (std::size_t i = 0; i < v.value().size() && static_cast<int>(i) < page.limit; ++i) {
    const auto& d = v.value()[i];
    json j = ctx.domains->view(d);
    json chain = domain_failing_step(ctx, d);
    j["ok"] = chain["ok"];
    j["failing"] = chain["failing"];
    items.push_back(std::move(j));
  }
  if (static_cast<int>(v.value().size()) > page.limit)
    next = v.value()[static_cast<std::size_t>(page.limit) - 1].id;
  co_return json_response(200, {{"items", items}, {"next_cursor", next}});
}

awaitable<Response> remove(Context& ctx, Request& r) {
  auto st = co_await ctx.domains->remove(r.params.at("hostname"),
                                         viewer_for_host(ctx, r, r.params.at("hostname")));
  if (!st) co_return problem_from(st.error(), r.request_id);
  co_return no_content();
}

}  // namespace

void register_domain_routes(Context& ctx) {
  auto& rt = ctx.router;
  auto* c = &ctx;
  rt.add("POST", "/v1/workspaces/{id}/domains", Scope::kAdminOrTenant,
         [c](Request& r) { return claim(*c, r); });
  rt.add("GET", "/v1/workspaces/{id}/domains", Scope::kAdminOrTenant,
         [c](Request& r) { return list(*c, r); });
  rt.add("GET", "/v1/domains", Scope::kAdmin, [c](Request& r) { return list_all(*c, r); });
  rt.add("GET", "/v1/domains/{hostname}", Scope::kAdminOrTenant,
         [c](Request& r) { return get(*c, r); });
  rt.add("POST", "/v1/domains/{hostname}/check", Scope::kAdminOrTenant,
         [c](Request& r) { return check(*c, r); });
  rt.add("POST", "/v1/domains/{hostname}/probe", Scope::kAdminOrTenant,
         [c](Request& r) { return probe(*c, r); });
  rt.add("DELETE", "/v1/domains/{hostname}", Scope::kAdminOrTenant,
         [c](Request& r) { return remove(*c, r); });
}

}  // namespace fc::api::detail

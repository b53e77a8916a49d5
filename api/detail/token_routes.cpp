// GET /v1/tokens and DELETE /v1/tokens/{id} (admin); GET /v1/whoami (admin or
// tenant: what the caller's own token is, so that a client such as the web
// console knows which view to show and which workspace a tenant owns).
#include <spdlog/spdlog.h>

#include "api/detail/context.hpp"
#include "common/clock.hpp"

namespace fc::api::detail {

using nlohmann::json;

namespace {

json token_json(const TokenRecord& r) {
  return {{"id", r.id},
          {"kind", kind_name(r.kind)},
          {"region", r.region.empty() ? json(nullptr) : json(r.region)},
          {"workspace_id", r.workspace_id.empty() ? json(nullptr) : json(r.workspace_id)},
          {"tenant_id", r.tenant_id.empty() ? json(nullptr) : json(r.tenant_id)},
          {"created_at", format_rfc3339(r.created_at)},
          {"last_used_at", r.last_used_at ? json(format_rfc3339(*r.last_used_at)) : json(nullptr)}};
}

awaitable<Response> list_tokens(Context& ctx) {
  json items = json::array();
  for (const auto& t : ctx.tokens.list()) items.push_back(token_json(t));
  co_return json_response(200, {{"items", items}});
}

awaitable<Response> revoke_token(Context& ctx, Request& r) {
  std::string id = r.params["id"];
  bool found = false;
  auto st = co_await ctx.db.write([&](storage::Conn& c) -> Status {
    BOOST_OUTCOME_TRY(deleted, delete_token(c, id));
    found = deleted;
    return ok();
  });
  if (!st) co_return problem_from(st.error(), r.request_id);
  if (!found) co_return problem(404, "not-found", "Not Found", "no token " + id);
  ctx.tokens.remove(id);
  spdlog::info("token revoked id={} by={}", id, r.principal->token_id);
  co_return no_content();
}

}  // namespace

void register_token_routes(Context& ctx) {
  ctx.router.add("GET", "/v1/whoami", Scope::kAdminOrTenant, [](Request& r) -> awaitable<Response> {
    const Principal& p = *r.principal;
    co_return json_response(
        200, {{"kind", kind_name(p.kind)},
              {"token_id", p.token_id},
              {"region", p.region.empty() ? json(nullptr) : json(p.region)},
              {"workspace_id", p.workspace_id.empty() ? json(nullptr) : json(p.workspace_id)}});
  });
  ctx.router.add("GET", "/v1/tokens", Scope::kAdmin,
                 [&ctx](Request&) -> awaitable<Response> { return list_tokens(ctx); });
  ctx.router.add("DELETE", "/v1/tokens/{id}", Scope::kAdmin,
                 [&ctx](Request& r) -> awaitable<Response> { return revoke_token(ctx, r); });
}

}  // namespace fc::api::detail

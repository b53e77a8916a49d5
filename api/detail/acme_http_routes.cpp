// The HTTP-01 responder (acme_http.listen): answers from the database, so
// any instance and any restart serves the key authorization (docs/certs.md).
#include "api/detail/context.hpp"
#include "certs/service.hpp"

namespace fc::api::detail {

namespace {

awaitable<Response> http01_answer(Context& ctx, Request& r) {
  auto answer = certs::Service::http01_answer(ctx.db.read(), r.params["token"]);
  if (!answer) co_return problem(404, "not-found", "Not Found", "no such challenge token");
  Response resp;
  resp.content_type = "text/plain";
  resp.body = answer.value();
  co_return resp;
}

}  // namespace

void register_acme_http_routes(Context& ctx) {
  ctx.acme_router.add("GET", "/.well-known/acme-challenge/{token}", Scope::kPublic,
                      [&ctx](Request& r) { return http01_answer(ctx, r); });
}

}  // namespace fc::api::detail

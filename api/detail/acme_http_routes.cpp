// The HTTP-01 responder (acme_http.listen): answers from the database, so
// any instance and any restart serves the key authorization (docs/certs.md).
#include "api/detail/context.hpp"
#include "certs/service.hpp"

namespace fc::api::detail {

void register_acme_http_routes(Context& ctx) {
  ctx.acme_router.add("GET", "/.well-known/acme-challenge/{token}", Scope::kPublic,
                      [&ctx](Request& r) -> awaitable<Response> {
                        auto answer = certs::Service::http01_answer(ctx.db.read(), r.params["token"]);
                        if (!answer) {
                          Response nf;
                          nf.status = 404;
                          nf.content_type = "text/plain";
                          nf.body = "not found\n";
                          co_return nf;
                        }
                        Response resp;
                        resp.content_type = "text/plain";
                        resp.body = answer.value();
                        co_return resp;
                      });
}

}  // namespace fc::api::detail

// /v1/certificates (API.md "Certificates", docs/certs.md) and the agent's
// GET /v1/agent/certificates/{id} (the only route that returns a key).
#include <cctype>

#include <spdlog/spdlog.h>

#include "agent/protocol.hpp"
#include "api/detail/context.hpp"
#include "api/detail/json_in.hpp"
#include "api/server.hpp"
#include "certs/service.hpp"
#include "scheduler/service.hpp"

namespace fc::api::detail {

using nlohmann::json;

namespace {

json opt_time(const std::optional<std::int64_t>& ms) {
  return ms ? json(format_rfc3339(*ms)) : json(nullptr);
}

json cert_json(const certs::CertificateView& v) {
  return {{"id", v.id},
          {"hostnames", v.hostnames},
          {"issuer", v.issuer.empty() ? json(nullptr) : json(v.issuer)},
          {"status", v.status},
          {"not_before", opt_time(v.not_before_ms)},
          {"not_after", opt_time(v.not_after_ms)},
          {"renew_after", opt_time(v.renew_after_ms)},
          {"version", v.version},
          {"last_error", v.last_error ? json(*v.last_error) : json(nullptr)},
          {"workspace_id", v.workspace_id.empty() ? json(nullptr) : json(v.workspace_id)}};
}

bool valid_hostname(const std::string& h) {
  if (h.empty() || h.size() > 253 || h.back() == '.') return false;
  std::size_t start = h.rfind("*.", 0) == 0 ? 2 : 0, labels = 0;
  while (start <= h.size()) {
    auto end = h.find('.', start);
    if (end == std::string::npos) end = h.size();
    const auto label = h.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (unsigned char ch : label)
      if (!(std::islower(ch) || std::isdigit(ch) || ch == '-')) return false;
    ++labels;
    start = end + 1;
  }
  return labels >= 2;
}

awaitable<Response> create_cert(Context& ctx, Request& r) {
  Response err;
  auto body = parse_json_body(r, err);
  if (!body) co_return err;
  std::vector<FieldError> errors;
  JsonIn in(errors);
  in.only(body.value(), {"hostnames", "workspace_id", "challenge", "dns01_delegate"}, "");
  auto names = in.str_list(body.value(), "hostnames", "hostnames");
  auto ws = in.str(body.value(), "workspace_id", "workspace_id", false);
  auto challenge = in.str(body.value(), "challenge", "challenge", false).value_or("http-01");
  auto delegate = in.str(body.value(), "dns01_delegate", "dns01_delegate", false).value_or("");
  if (!body.value().contains("hostnames")) in.error("hostnames", "is required");
  if (names && (names->empty() || names->size() > 100))
    in.error("hostnames", "must hold 1 to 100 names");
  for (std::size_t i = 0; names && i < names->size(); ++i)
    if (!valid_hostname((*names)[i]))
      in.error("hostnames[" + std::to_string(i) + "]", "must be a lower-case DNS name");
  if (challenge != "http-01" && challenge != "dns-01")
    in.error("challenge", "must be http-01 or dns-01");
  for (std::size_t i = 0; names && challenge == "http-01" && i < names->size(); ++i)
    if ((*names)[i].rfind("*.", 0) == 0)
      in.error("hostnames[" + std::to_string(i) + "]", "a wildcard needs dns-01");
  if (ws && !ws->empty() && !ctx.scheduler->get_workspace(*ws))
    in.error("workspace_id", "no such workspace");
  if (!errors.empty()) co_return validation_failed(errors);
  auto pref = challenge == "dns-01" ? certs::ChallengePref::kDns01 : certs::ChallengePref::kHttp01;
  auto id = co_await ctx.certs->ensure(*names, ws.value_or(""), pref, delegate);
  if (!id) co_return problem_from(id.error(), r.request_id);
  auto view = ctx.certs->get(id.value());
  if (!view) co_return problem_from(view.error(), r.request_id);
  co_return json_response(202, cert_json(view.value()));
}

// Only the agent of the region serving the certificate's workspace (or its
// migration target) gets the key; everyone else gets the same 404.
awaitable<Response> agent_cert(Context& ctx, Request& r) {
  auto not_found = problem(404, "not-found", "Not Found", "no such certificate");
  // Only the agent of a region that serves the certificate gets it; everyone
  // else, admin tokens included, gets the same 404.
  if (r.principal->kind != TokenKind::kAgent) co_return not_found;
  auto m = ctx.certs->material(r.params["id"]);
  if (!m || m.value().workspace_id.empty()) co_return not_found;
  auto ws = ctx.scheduler->get_workspace(m.value().workspace_id);
  if (!ws) co_return not_found;
  const auto& region = r.principal->region;
  if (ws.value().region != region && ws.value().target_region.value_or("") != region)
    co_return not_found;
  const auto& v = m.value();
  const agent::proto::CertificateBundle b{v.id,
                                          v.version,
                                          v.hostnames,
                                          v.certificate_pem,
                                          v.private_key_pem,
                                          format_rfc3339(v.not_after_ms)};
  co_return json_response(200, b);
}

}  // namespace

void register_cert_routes(Context& ctx) {
  auto& rt = ctx.router;
  rt.add("POST", "/v1/certificates", Scope::kAdmin,
         [&ctx](Request& r) { return create_cert(ctx, r); });
  rt.add("GET", "/v1/certificates", Scope::kAdmin, [&ctx](Request& r) -> awaitable<Response> {
    auto it = r.query.find("hostname");
    auto all = ctx.certs->list(it == r.query.end() ? "" : it->second);
    if (!all) co_return problem_from(all.error(), r.request_id);
    json items = json::array();
    for (const auto& v : all.value()) items.push_back(cert_json(v));
    co_return json_response(200, {{"items", items}});
  });
  rt.add("GET", "/v1/certificates/{id}", Scope::kAdmin, [&ctx](Request& r) -> awaitable<Response> {
    auto v = ctx.certs->get(r.params["id"]);
    if (!v) co_return problem_from(v.error(), r.request_id);
    co_return json_response(200, cert_json(v.value()));
  });
  rt.add("POST", "/v1/certificates/{id}/renew", Scope::kAdmin,
         [&ctx](Request& r) -> awaitable<Response> {
           auto st = co_await ctx.certs->renew_now(r.params["id"]);
           if (!st) co_return problem_from(st.error(), r.request_id);
           auto v = ctx.certs->get(r.params["id"]);
           if (!v) co_return problem_from(v.error(), r.request_id);
           co_return json_response(202, cert_json(v.value()));
         });
  rt.add("GET", "/v1/agent/certificates/{id}", Scope::kAnyToken,
         [&ctx](Request& r) { return agent_cert(ctx, r); });
}

}  // namespace fc::api::detail

namespace fc::api {
void Service::set_certs(certs::Service* certs) { ctx_->certs = certs; }
}  // namespace fc::api

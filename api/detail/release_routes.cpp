// /v1/releases, /v1/channels, /v1/rollouts (API.md "Releases and rollouts",
// docs/releases.md). The logic is in releases::Service; these handlers read
// the request and map its answers (422 with `errors`, 404, 409).
#include "api/detail/context.hpp"
#include "api/detail/json_in.hpp"
#include "api/server.hpp"
#include "releases/service.hpp"

namespace fc::api {

void Service::set_releases(releases::Service* r) { ctx_->releases = r; }

}  // namespace fc::api

namespace fc::api::detail {

using nlohmann::json;
namespace rel = fc::releases;

namespace {

std::vector<FieldError> release_field_errors(const rel::FieldErrors& e) {
  std::vector<FieldError> out;
  for (const auto& f : e) out.push_back({f.field, f.message});
  return out;
}

// A 422 when the service named fields, else the error's own problem.
Response refused(const Error& e, const rel::FieldErrors& fields, const Request& r) {
  if (!fields.empty()) return validation_failed(release_field_errors(fields));
  return problem_from(e, r.request_id);
}

rel::Release read_release(const json& j, std::vector<FieldError>& errors) {
  JsonIn in(errors);
  in.only(j, {"name", "image", "digest", "env", "min_from", "max_from"}, "");
  rel::Release r;
  r.name = in.str(j, "name", "name", true).value_or("");
  r.image = in.str(j, "image", "image", true).value_or("");
  r.digest = in.str(j, "digest", "digest", false).value_or("");
  r.env = in.str_map(j, "env", "env").value_or(rel::Env{});
  r.min_from = in.str(j, "min_from", "min_from", false);
  r.max_from = in.str(j, "max_from", "max_from", false);
  return r;
}

awaitable<Response> create_release(Context& ctx, Request& r) {
  Response err;
  auto body = parse_json_body(r, err);
  if (!body) co_return err;
  std::vector<FieldError> errors;
  rel::Release in = read_release(body.value(), errors);
  if (!errors.empty()) co_return validation_failed(errors);
  bool created = false;
  rel::FieldErrors fields;
  auto out = co_await ctx.releases->create_release(in, created, fields);
  if (!out) co_return refused(out.error(), fields, r);
  co_return json_response(created ? 201 : 200, rel::Service::release_json(out.value()));
}

awaitable<Response> put_channel(Context& ctx, Request& r) {
  Response err;
  auto body = parse_json_body(r, err);
  if (!body) co_return err;
  std::vector<FieldError> errors;
  JsonIn in(errors);
  in.only(body.value(), {"release"}, "");
  auto release = in.str(body.value(), "release", "release", true);
  if (!errors.empty()) co_return validation_failed(errors);
  rel::FieldErrors fields;
  auto out = co_await ctx.releases->put_channel(r.params["name"], *release, fields);
  if (!out) co_return refused(out.error(), fields, r);
  co_return json_response(200, out.value());
}

awaitable<Response> start_rollout(Context& ctx, Request& r) {
  Response err;
  auto body = parse_json_body(r, err);
  if (!body) co_return err;
  rel::FieldErrors fields;
  auto out = co_await ctx.releases->start_rollout(body.value(), fields);
  if (!out) co_return refused(out.error(), fields, r);
  co_return json_response(201, out.value());
}

awaitable<Response> reply(Result<json> out, const Request& r) {
  if (!out) co_return problem_from(out.error(), r.request_id);
  co_return json_response(200, out.value());
}

}  // namespace

void register_release_routes(Context& ctx) {
  auto& rt = ctx.router;
  rt.add("POST", "/v1/releases", Scope::kAdmin,
         [&ctx](Request& r) { return create_release(ctx, r); });
  rt.add("GET", "/v1/releases", Scope::kAdmin, [&ctx](Request& r) -> awaitable<Response> {
    auto rs = ctx.releases->list_releases();
    if (!rs) co_return problem_from(rs.error(), r.request_id);
    json items = json::array();
    for (const auto& x : rs.value()) items.push_back(rel::Service::release_json(x));
    co_return json_response(200, {{"items", items}});
  });
  rt.add("GET", "/v1/releases/{name}", Scope::kAdmin, [&ctx](Request& r) -> awaitable<Response> {
    auto x = ctx.releases->get_release(r.params["name"]);
    if (!x) co_return problem_from(x.error(), r.request_id);
    co_return json_response(200, rel::Service::release_json(x.value()));
  });
  rt.add("PUT", "/v1/channels/{name}", Scope::kAdmin,
         [&ctx](Request& r) { return put_channel(ctx, r); });
  rt.add("GET", "/v1/channels", Scope::kAdmin,
         [&ctx](Request& r) { return reply(ctx.releases->list_channels(), r); });
  rt.add("POST", "/v1/rollouts", Scope::kAdmin,
         [&ctx](Request& r) { return start_rollout(ctx, r); });
  rt.add("GET", "/v1/rollouts", Scope::kAdmin,
         [&ctx](Request& r) { return reply(ctx.releases->list_rollouts(), r); });
  rt.add("GET", "/v1/rollouts/{id}", Scope::kAdmin,
         [&ctx](Request& r) { return reply(ctx.releases->rollout_json(r.params["id"]), r); });
  for (const char* action : {"pause", "resume", "abort", "promote"}) {
    rt.add("POST", std::string("/v1/rollouts/{id}/") + action, Scope::kAdmin,
           [&ctx, action](Request& r) -> awaitable<Response> {
             auto out = co_await ctx.releases->act(r.params["id"], action);
             co_return co_await reply(std::move(out), r);
           });
  }
}

}  // namespace fc::api::detail

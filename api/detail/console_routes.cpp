// GET /ui and GET /ui/{asset} (public): the web console's embedded files
// (console/, docs/console.md) with an ETag, under a strict Content-Security-
// Policy: scripts and styles only from this origin, no inline script or eval,
// every DOM sink behind a Trusted Types policy, never framed.
#include <string_view>

#include "api/detail/context.hpp"
#include "api/detail/openapi.hpp"
#include "console/assets.hpp"

namespace fc::api::detail {

namespace {

// `trusted-types fc-console` names the one policy console/trusted_types.js
// creates; `require-trusted-types-for 'script'` makes every string sink
// (innerHTML, script src, …) refuse plain strings.
constexpr const char* kConsoleCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; "
    "trusted-types fc-console";

const console::Asset* console_asset(std::string_view name) {
  for (std::size_t i = 0; i < console::kAssetCount; ++i) {
    if (console::kAssets[i].name == name) return &console::kAssets[i];
  }
  return nullptr;
}

Response console_response(const Request& r, std::string_view name) {
  const console::Asset* a = console_asset(name);
  Response resp = a ? static_document(r, a->body, a->etag, a->content_type)
                    : problem(404, "not-found", "Not Found", "no console file " + r.path);
  resp.headers.emplace_back("Content-Security-Policy", kConsoleCsp);
  resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
  resp.headers.emplace_back("X-Frame-Options", "DENY");
  resp.headers.emplace_back("Referrer-Policy", "no-referrer");
  resp.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  return resp;
}

}  // namespace

void register_console_routes(Context& ctx) {
  // The page is /ui (its scripts use absolute /ui/… URLs); "/ui/" has an
  // empty last segment, which no route matches.
  ctx.router.add("GET", "/ui", Scope::kPublic, [](Request& r) -> awaitable<Response> {
    co_return console_response(r, "index.html");
  });
  ctx.router.add("GET", "/ui/{asset}", Scope::kPublic, [](Request& r) -> awaitable<Response> {
    co_return console_response(r, r.params.at("asset"));
  });
}

}  // namespace fc::api::detail

// GET /v1/openapi.json and GET /v1/docs (public): the embedded OpenAPI
// description and its static HTML rendering, with an ETag so that clients
// revalidate cheaply (RFC 9110 §13.1.2 If-None-Match).
#include "api/detail/context.hpp"
#include "api/detail/openapi.hpp"

namespace fc::api::detail {

namespace {

// True when an If-None-Match header lists `etag` (or is "*").
bool etag_matches(const std::string& if_none_match, const std::string& etag) {
  if (if_none_match.empty()) return false;
  if (if_none_match == "*") return true;
  std::size_t pos = 0;
  while (pos < if_none_match.size()) {
    auto end = if_none_match.find(',', pos);
    if (end == std::string::npos) end = if_none_match.size();
    std::string tag = if_none_match.substr(pos, end - pos);
    while (!tag.empty() && tag.front() == ' ') tag.erase(0, 1);
    while (!tag.empty() && tag.back() == ' ') tag.pop_back();
    if (tag.rfind("W/", 0) == 0) tag.erase(0, 2);  // weak comparison (§13.1.2)
    if (tag == etag) return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace

Response static_document(const Request& r, std::string_view body, std::string_view etag,
                         std::string_view content_type) {
  Response resp;
  resp.headers.emplace_back("ETag", std::string(etag));
  resp.headers.emplace_back("Cache-Control", "no-cache");
  if (etag_matches(r.header("if-none-match"), std::string(etag))) {
    resp.status = 304;
    resp.content_type.clear();
    return resp;
  }
  resp.content_type = std::string(content_type);
  resp.body = std::string(body);
  return resp;
}

void register_openapi_routes(Context& ctx) {
  ctx.router.add("GET", "/v1/openapi.json", Scope::kPublic, [](Request& r) -> awaitable<Response> {
    co_return static_document(r, kOpenapiJson, kOpenapiJsonEtag, "application/json");
  });
  ctx.router.add("GET", "/v1/docs", Scope::kPublic, [](Request& r) -> awaitable<Response> {
    co_return static_document(r, kDocsHtml, kDocsHtmlEtag, "text/html; charset=utf-8");
  });
}

}  // namespace fc::api::detail

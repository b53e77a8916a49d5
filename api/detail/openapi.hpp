// The OpenAPI 3.1 description and its HTML rendering, generated at build time
// from api/openapi/openapi.yaml (api/openapi/build_openapi.py).
#pragma once
#include <string_view>

#include "api/http.hpp"

namespace fc::api::detail {

extern const char* const kOpenapiJson;
extern const char* const kOpenapiJsonEtag;  // quoted, as sent in ETag
extern const char* const kDocsHtml;
extern const char* const kDocsHtmlEtag;

// A build-time document with its ETag and `Cache-Control: no-cache`; 304
// without a body when If-None-Match lists the ETag (RFC 9110 §13.1.2).
Response static_document(const Request& r, std::string_view body, std::string_view etag,
                         std::string_view content_type);

}  // namespace fc::api::detail

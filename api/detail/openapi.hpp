// The OpenAPI 3.1 description and its HTML rendering, generated at build time
// from api/openapi/openapi.yaml (api/openapi/build_openapi.py).
#pragma once

namespace fc::api::detail {

extern const char* const kOpenapiJson;
extern const char* const kOpenapiJsonEtag;  // quoted, as sent in ETag
extern const char* const kDocsHtml;
extern const char* const kDocsHtmlEtag;

}  // namespace fc::api::detail

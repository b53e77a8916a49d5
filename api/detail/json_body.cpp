// Request bodies: JSON objects only (STYLE.md "Errors": bad input is a value).
#include <cctype>

#include "api/http.hpp"

namespace fc::api {

using nlohmann::json;

namespace {
// The media type of a Content-Type header, lower-cased, without parameters.
std::string media_type(const std::string& content_type) {
  std::string media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  for (auto& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return media;
}
}  // namespace

Result<json> parse_json_body(const Request& r, Response& error_out) {
  std::string ct = r.header("content-type");
  if (media_type(ct) != "application/json") {
    error_out = problem(415, "unsupported-media-type", "Unsupported Media Type",
                        "Content-Type must be application/json, got '" + ct + "'");
    return make_error(Code::kUnsupported, "content type");
  }
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    error_out = problem(400, "malformed-json", "Bad Request",
                        "request body is not valid JSON (or not valid UTF-8)");
    return make_error(Code::kParse, "json");
  }
  if (!j.is_object()) {
    error_out = validation_failed({{"", "request body must be a JSON object"}});
    return make_error(Code::kInvalidArgument, "not an object");
  }
  return j;
}

}  // namespace fc::api

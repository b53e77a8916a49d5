#include "ctl/detail/api.hpp"

#include <algorithm>

#include "ctl/detail/http.hpp"

namespace fc::ctl {

using nlohmann::json;

namespace {

std::string status_line(unsigned status) { return "HTTP " + std::to_string(status); }

std::string problem_text(const json& p, unsigned status) {
  std::string title = p.value("title", "");
  std::string detail = p.value("detail", "");
  std::string s = title.empty() ? status_line(status) : title + " (" + status_line(status) + ")";
  bool has_fields = p.contains("errors") && p["errors"].is_array() && !p["errors"].empty();
  // The detail of a 422 usually repeats its first field error: print that once.
  bool repeats =
      has_fields && p["errors"][0].is_object() &&
      detail.find(p["errors"][0].value("message", std::string("\x01"))) != std::string::npos;
  if (!detail.empty() && !repeats) s += ": " + detail;
  if (has_fields) {
    for (const auto& e : p["errors"]) {
      if (!e.is_object()) continue;
      s += "\n  " + e.value("field", std::string("(body)")) + ": " + e.value("message", "");
    }
  }
  if (p.contains("regions") && p["regions"].is_array()) {
    for (const auto& r : p["regions"]) {
      if (!r.is_object()) continue;
      s += "\n  region " + r.value("id", "?") + ": " + r.value("reason", "");
    }
  }
  return s;
}

bool version_major_differs(const std::string& theirs) {
  std::string ours = FC_VERSION;
  return theirs.substr(0, theirs.find('.')) != ours.substr(0, ours.find('.'));
}

Code code_for_status(unsigned s) {
  if (s == 404) return Code::kNotFound;
  if (s == 401) return Code::kUnauthorized;
  if (s == 403) return Code::kForbidden;
  if (s == 409) return Code::kConflict;
  if (s >= 500) return Code::kUnavailable;
  return Code::kInvalidArgument;
}

}  // namespace

std::string describe_failure(const HttpResponse& r, const std::string& server) {
  auto p = json::parse(r.body, nullptr, false);
  bool problem =
      !p.is_discarded() && p.is_object() && (p.contains("title") || p.contains("detail"));
  std::string s = problem ? problem_text(p, r.status)
                          : server + " answered " + status_line(r.status) +
                                " without a problem document (is it a fleetcommand API server?)";
  if (r.status == 401)
    s += "\n  the server refused the token (unknown, revoked or expired): check --token-file, "
         "FLEETCOMMAND_TOKEN or the context's token_file";
  if (r.status == 429 && !r.retry_after.empty()) s += " (retry after " + r.retry_after + "s)";
  return s;
}

std::string version_mismatch(const json& v, const std::string& server) {
  if (!v.is_object() || !v.contains("api") || !v["api"].is_string())
    return server + " is not a fleetcommand API server (GET /v1/version has no \"api\" field)";
  std::string api = v["api"].get<std::string>();
  std::string version = v.value("version", "?");
  if (api == kApiMajor && !version_major_differs(version)) return "";
  return server + " runs fleetcommand " + version + " (API " + api + "); this ctl is " +
         FC_VERSION + " (API " + kApiMajor + "): use a ctl of the server's major version";
}

Api::Api(Target target, std::chrono::milliseconds timeout, size_t chunk)
    : target_(std::move(target)), timeout_(timeout), chunk_(std::clamp<size_t>(chunk, 1, 1000)) {}
Api::~Api() = default;

Result<HttpResponse> Api::send(const std::string& method, const std::string& target,
                               const std::string& body, bool auth) {
  auto& client = auth ? http_ : anon_;
  if (!client) {
    auto url = parse_url(target_.server);
    if (!url)
      return make_error(Code::kInvalidArgument,
                        "bad server URL (from " + target_.source + "): " + url.error().detail);
    BOOST_OUTCOME_TRY(c,
                      HttpClient::create(url.value(), auth ? target_.token : "", target_.ca_file));
    client = std::move(c);
  }
  auto r = client->request(method, target, body, timeout_);
  if (!r)
    return make_error(r.error().code, "cannot reach " + target_.server + ": " + r.error().detail);
  return r;
}

Status Api::check_version() {
  if (checked_) return ok();
  BOOST_OUTCOME_TRY(r, send("GET", "/v1/version", "", false));
  auto j = json::parse(r.body, nullptr, false);
  if (r.status != 200 || j.is_discarded())
    return make_error(Code::kUnsupported, target_.server +
                                              " is not a fleetcommand API server (GET /v1/version "
                                              "answered " +
                                              status_line(r.status) + ")");
  auto why = version_mismatch(j, target_.server);
  if (!why.empty()) return make_error(Code::kUnsupported, why);
  checked_ = true;
  return ok();
}

Result<json> Api::call(const std::string& method, const std::string& target,
                       const std::optional<json>& body) {
  BOOST_OUTCOME_TRY(check_version());
  BOOST_OUTCOME_TRY(r, send(method, target, body ? body->dump() : "", true));
  if (r.status < 200 || r.status >= 300)
    return make_error(code_for_status(r.status), describe_failure(r, target_.server));
  if (r.body.empty()) return json(nullptr);
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded())
    return make_error(Code::kParse, target_.server + " answered " + method + " " + target +
                                        " with a body that is not JSON");
  return j;
}

Result<std::vector<json>> Api::list(const std::string& path, const std::string& query,
                                    size_t limit) {
  std::vector<json> items;
  std::string cursor;
  for (int page = 0; page < 100000; ++page) {
    std::string q = query;
    auto add = [&q](const std::string& kv) { q += (q.empty() ? "?" : "&") + kv; };
    size_t want = limit ? std::min(chunk_, limit - items.size()) : chunk_;
    add("limit=" + std::to_string(want));
    if (!cursor.empty()) add("cursor=" + url_encode(cursor));
    BOOST_OUTCOME_TRY(j, call("GET", path + q));
    if (!j.is_object() || !j.contains("items") || !j["items"].is_array())
      return make_error(Code::kParse, "GET " + path + " answered without an items list");
    for (auto& it : j["items"]) items.push_back(std::move(it));
    if (limit && items.size() >= limit) {
      items.resize(limit);
      break;
    }
    if (!j.contains("next_cursor") || !j["next_cursor"].is_string()) break;
    cursor = j["next_cursor"].get<std::string>();
    if (cursor.empty()) break;
  }
  return items;
}

}  // namespace fc::ctl

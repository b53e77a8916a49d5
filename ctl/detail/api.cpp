#include "ctl/detail/api.hpp"

#include <algorithm>

namespace fc::ctl {

using nlohmann::json;

namespace {

std::string status_line(unsigned status) { return "HTTP " + std::to_string(status); }

std::string problem_text(const client::Problem& p, unsigned status) {
  std::string s =
      p.title.empty() ? status_line(status) : p.title + " (" + status_line(status) + ")";
  // The detail of a 422 usually repeats its first field error: print that once.
  bool repeats = !p.errors.empty() && !p.errors[0].message.empty() &&
                 p.detail.find(p.errors[0].message) != std::string::npos;
  if (!p.detail.empty() && !repeats) s += ": " + p.detail;
  for (const auto& e : p.errors)
    s += "\n  " + (e.field.empty() ? std::string("(body)") : e.field) + ": " + e.message;
  const auto& doc = p.document;
  if (doc.contains("regions") && doc["regions"].is_array()) {
    for (const auto& r : doc["regions"]) {
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
  auto problem = client::decode_problem(r.body);
  std::string s = problem ? problem_text(*problem, r.status)
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
    auto url = client::parse_url(target_.server);
    if (!url)
      return make_error(Code::kInvalidArgument,
                        "bad server URL (from " + target_.source + "): " + url.error().detail);
    client::ClientOptions opts;
    opts.user_agent = "fleetcommand-ctl/" FC_VERSION;
    opts.body_limit = 256ull << 20;  // a whole zone or a large page
    opts.ca_file = target_.ca_file;
    opts.ca_option = "--ca-file";
    BOOST_OUTCOME_TRY(
        c, client::Client::create(url.value(), auth ? target_.token : "", std::move(opts)));
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
  auto page = [&](const std::string& q) { return call("GET", path + q); };
  return client::paginate(page, "GET " + path, query, chunk_, limit);
}

}  // namespace fc::ctl

// Parsing ACME resources. Bodies come from the network: check every type.
#include "certs/detail/acme_wire.hpp"

#include <nlohmann/json.hpp>

namespace fc::certs::detail {
namespace {

using nlohmann::json;

Result<json> parse_object(std::string_view body, std::string_view what) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(Code::kParse, std::string(what) + ": response is not a JSON object");
  return j;
}

// Optional string member: absent → "", present with another type → error.
Result<std::string> opt_str(const json& j, const char* key, std::string_view what) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string())
    return make_error(Code::kParse, std::string(what) + ": \"" + key + "\" is not a string");
  return it->get<std::string>();
}

Result<std::string> req_str(const json& j, const char* key, std::string_view what) {
  BOOST_OUTCOME_TRY(s, opt_str(j, key, what));
  if (s.empty()) return make_error(Code::kParse, std::string(what) + ": missing \"" + key + "\"");
  return s;
}

// A required RFC 8555 §7.1.6 status member, parsed into its enum; a status
// the RFC does not list is malformed input.
template <class Parse>
auto req_status(const json& j, std::string_view what, Parse parse)
    -> Result<typename decltype(parse(std::string_view()))::value_type> {
  BOOST_OUTCOME_TRY(text, req_str(j, "status", what));
  if (auto s = parse(text)) return *s;
  return make_error(Code::kParse,
                    std::string(what) + ": unknown status \"" + text.substr(0, 40) + "\"");
}

Result<std::vector<std::string>> str_array(const json& j, const char* key, std::string_view what) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end()) return out;
  if (!it->is_array())
    return make_error(Code::kParse, std::string(what) + ": \"" + key + "\" is not an array");
  for (const auto& v : *it) {
    if (!v.is_string())
      return make_error(Code::kParse, std::string(what) + ": \"" + key + "\" has a non-string");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Problem problem_from_json(const json& j, int http_status) {
  Problem p;
  p.status = http_status;
  if (auto it = j.find("type"); it != j.end() && it->is_string()) p.type = *it;
  if (auto it = j.find("detail"); it != j.end() && it->is_string()) p.detail = *it;
  if (auto it = j.find("status"); it != j.end() && it->is_number_integer() && http_status == 0)
    p.status = it->get<int>();
  auto subs = j.find("subproblems");
  if (subs == j.end() || !subs->is_array()) return p;
  for (const auto& s : *subs) {
    if (!s.is_object() || p.subproblems.size() >= 100) continue;
    Subproblem sp;
    if (auto it = s.find("type"); it != s.end() && it->is_string()) sp.type = *it;
    if (auto it = s.find("detail"); it != s.end() && it->is_string()) sp.detail = *it;
    auto id = s.find("identifier");
    if (id != s.end() && id->is_object()) {
      if (auto v = id->find("value"); v != id->end() && v->is_string()) sp.identifier = *v;
    }
    p.subproblems.push_back(std::move(sp));
  }
  return p;
}

std::optional<Problem> opt_problem(const json& j) {
  auto it = j.find("error");
  if (it == j.end() || !it->is_object()) return std::nullopt;
  return problem_from_json(*it, 0);
}

Result<Challenge> challenge_from_json(const json& j) {
  constexpr std::string_view w = "challenge";
  if (!j.is_object()) return make_error(Code::kParse, "challenge: not an object");
  Challenge c;
  BOOST_OUTCOME_TRY(type, req_str(j, "type", w));
  BOOST_OUTCOME_TRY(url, req_str(j, "url", w));
  BOOST_OUTCOME_TRY(status, req_status(j, w, parse_challenge_status));
  BOOST_OUTCOME_TRY(token, opt_str(j, "token", w));
  c.type = std::move(type);
  c.url = std::move(url);
  c.status = status;
  c.token = std::move(token);
  c.error = opt_problem(j);
  return c;
}

}  // namespace

bool is_problem_type(std::string_view type, std::string_view short_type) {
  return type.size() == kErrPrefix.size() + short_type.size() && type.starts_with(kErrPrefix) &&
         type.ends_with(short_type);
}

bool is_problem_type(const Problem& p, std::string_view short_type) {
  return is_problem_type(p.type, short_type);
}

Result<Directory> parse_directory(std::string_view body) {
  constexpr std::string_view w = "directory";
  BOOST_OUTCOME_TRY(j, parse_object(body, w));
  Directory d;
  BOOST_OUTCOME_TRY(nn, req_str(j, "newNonce", w));
  BOOST_OUTCOME_TRY(na, req_str(j, "newAccount", w));
  BOOST_OUTCOME_TRY(no, req_str(j, "newOrder", w));
  BOOST_OUTCOME_TRY(rc, opt_str(j, "revokeCert", w));
  BOOST_OUTCOME_TRY(kc, opt_str(j, "keyChange", w));
  BOOST_OUTCOME_TRY(ri, opt_str(j, "renewalInfo", w));
  d.new_nonce = nn;
  d.new_account = na;
  d.new_order = no;
  d.revoke_cert = rc;
  d.key_change = kc;
  d.renewal_info = ri;
  auto meta = j.find("meta");
  if (meta != j.end() && meta->is_object()) {
    BOOST_OUTCOME_TRY(tos, opt_str(*meta, "termsOfService", w));
    d.terms_of_service = tos;
    auto ear = meta->find("externalAccountRequired");
    d.external_account_required = ear != meta->end() && ear->is_boolean() && ear->get<bool>();
  }
  return d;
}

Result<Order> parse_order(std::string_view body) {
  constexpr std::string_view w = "order";
  BOOST_OUTCOME_TRY(j, parse_object(body, w));
  Order o;
  BOOST_OUTCOME_TRY(status, req_status(j, w, parse_order_status));
  BOOST_OUTCOME_TRY(authz, str_array(j, "authorizations", w));
  BOOST_OUTCOME_TRY(fin, req_str(j, "finalize", w));
  BOOST_OUTCOME_TRY(cert, opt_str(j, "certificate", w));
  o.status = status;
  o.authorizations = authz;
  o.finalize = fin;
  o.certificate = cert;
  o.error = opt_problem(j);
  auto ids = j.find("identifiers");
  if (ids != j.end() && ids->is_array()) {
    for (const auto& id : *ids) {
      if (!id.is_object()) return make_error(Code::kParse, "order: bad identifier");
      BOOST_OUTCOME_TRY(v, req_str(id, "value", w));
      o.identifiers.push_back(v);
    }
  }
  return o;
}

Result<Authorization> parse_authorization(std::string_view body) {
  constexpr std::string_view w = "authorization";
  BOOST_OUTCOME_TRY(j, parse_object(body, w));
  Authorization a;
  BOOST_OUTCOME_TRY(status, req_status(j, w, parse_authz_status));
  a.status = status;
  auto id = j.find("identifier");
  if (id == j.end() || !id->is_object())
    return make_error(Code::kParse, "authorization: no identifier");
  BOOST_OUTCOME_TRY(value, req_str(*id, "value", w));
  a.identifier = value;
  auto wc = j.find("wildcard");
  a.wildcard = wc != j.end() && wc->is_boolean() && wc->get<bool>();
  auto chs = j.find("challenges");
  if (chs == j.end() || !chs->is_array())
    return make_error(Code::kParse, "authorization: \"challenges\" is not an array");
  for (const auto& c : *chs) {
    BOOST_OUTCOME_TRY(ch, challenge_from_json(c));
    a.challenges.push_back(std::move(ch));
  }
  return a;
}

Result<Challenge> parse_challenge(std::string_view body) {
  BOOST_OUTCOME_TRY(j, parse_object(body, "challenge"));
  return challenge_from_json(j);
}

Problem parse_problem(std::string_view body, int http_status) {
  json j = json::parse(body, nullptr, false);
  Problem p;
  if (!j.is_discarded() && j.is_object()) p = problem_from_json(j, http_status);
  p.status = http_status;
  if (p.type.empty()) p.type = "about:blank";  // RFC 9457 §4.2.1
  if (p.detail.size() > 1024) p.detail.resize(1024);
  return p;
}

Result<RenewalInfo> parse_renewal_info(std::string_view body) {
  constexpr std::string_view w = "renewalInfo";
  BOOST_OUTCOME_TRY(j, parse_object(body, w));
  auto win = j.find("suggestedWindow");
  if (win == j.end() || !win->is_object())
    return make_error(Code::kParse, "renewalInfo: no suggestedWindow");
  BOOST_OUTCOME_TRY(start_s, req_str(*win, "start", w));
  BOOST_OUTCOME_TRY(end_s, req_str(*win, "end", w));
  BOOST_OUTCOME_TRY(start, parse_rfc3339(start_s));
  BOOST_OUTCOME_TRY(end, parse_rfc3339(end_s));
  // RFC 9773 §4.2: a window whose end is not after its start is invalid.
  if (end <= start) return make_error(Code::kParse, "renewalInfo: window end is not after start");
  BOOST_OUTCOME_TRY(expl, opt_str(j, "explanationURL", w));
  RenewalInfo ri;
  ri.window_start = start;
  ri.window_end = end;
  ri.explanation_url = expl;
  return ri;
}

}  // namespace fc::certs::detail

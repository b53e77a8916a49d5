// Problem classification, HTTP header helpers and the persisted OrderState.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <type_traits>

#include "certs/detail/acme_wire.hpp"

namespace fc::certs {
using nlohmann::json;

namespace {

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// Reads exactly n digits at s[pos]; -1 when they are not all digits.
int digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

bool valid_civil(int y, int mo, int d, int h, int mi, int sec) {
  return y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h <= 23 && mi >= 0 &&
         mi <= 59 && sec >= 0 && sec <= 60;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

namespace detail {

Result<SysTime> parse_rfc3339(std::string_view s) {
  const auto bad = [&] {
    return make_error(Code::kParse, "not an RFC 3339 time: " + std::string(s.substr(0, 40)));
  };
  const int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  const int h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':' || !valid_civil(y, mo, d, h, mi, sec))
    return bad();
  std::size_t pos = 19;
  std::int64_t nanos = 0;
  if (s[pos] == '.') {
    ++pos;
    std::int64_t scale = 100'000'000;
    const std::size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  std::int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int oh = digits(s, pos + 1, 2), om = digits(s, pos + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59 || pos + 3 >= s.size() || s[pos + 3] != ':')
      return bad();
    offset_s = (s[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  const std::int64_t secs =
      days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
      mi * 60 + sec - offset_s;
  // SysTime counts nanoseconds in 64 bits: years before 1678 or after 2262
  // do not fit (found by fuzz_acme: a renewal window in year 2511 overflowed).
  constexpr std::int64_t kLimit =
      std::chrono::duration_cast<std::chrono::seconds>(SysTime::duration::max()).count() - 1;
  if (secs > kLimit || secs < -kLimit) return bad();
  return SysTime{} + std::chrono::seconds(secs) +
         std::chrono::duration_cast<SysTime::duration>(std::chrono::nanoseconds(nanos));
}

std::optional<std::int64_t> parse_retry_after(std::string_view raw, SysTime now) {
  const std::string v = trim(raw);
  constexpr std::int64_t kMax = 7 * 86400;  // a CA asking for more is capped
  if (!v.empty() && v.size() <= 12 && std::all_of(v.begin(), v.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      }))
    return std::min<std::int64_t>(std::stoll(v), kMax);
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7).
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (v.size() != 29 || v[3] != ',' || v.substr(26) != "GMT") return std::nullopt;
  int mo = 0;
  for (int i = 0; i < 12; ++i)
    if (v.compare(8, 3, kMonths[i]) == 0) mo = i + 1;
  const int d = digits(v, 5, 2), y = digits(v, 12, 4);
  const int h = digits(v, 17, 2), mi = digits(v, 20, 2), sec = digits(v, 23, 2);
  if (mo == 0 || !valid_civil(y, mo, d, h, mi, sec) || v[19] != ':' || v[22] != ':')
    return std::nullopt;
  const std::int64_t at =
      days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
      mi * 60 + sec;
  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return std::clamp<std::int64_t>(at - now_s, 0, kMax);
}

std::int64_t poll_delay_ms(std::string_view retry_after, SysTime now, int n, PollSchedule s) {
  const std::int64_t first = std::max<std::int64_t>(s.first_ms, 1);
  const std::int64_t cap = std::max(s.max_ms, first);
  std::int64_t ms = first;
  // Doubling stops at the cap, so the loop runs at most ~63 times for any n.
  for (int i = 1; i < n && ms < cap; ++i) ms *= 2;
  ms = std::min(ms, cap);
  if (auto ra = parse_retry_after(retry_after, now)) ms = std::max(ms, *ra * 1000);
  return ms;
}

std::vector<Link> parse_links(const std::vector<std::string>& header_values) {
  std::vector<Link> out;
  for (const auto& value : header_values) {
    std::size_t pos = 0;
    while (pos < value.size() && out.size() < 64) {
      const std::size_t lt = value.find('<', pos);
      if (lt == std::string::npos) break;
      const std::size_t gt = value.find('>', lt);
      if (gt == std::string::npos) break;
      Link link{value.substr(lt + 1, gt - lt - 1), {}};
      std::size_t end = value.find(',', gt);
      if (end == std::string::npos) end = value.size();
      const std::string params = value.substr(gt + 1, end - gt - 1);
      const std::size_t rel = params.find("rel=");
      if (rel != std::string::npos) {
        std::string r = trim(params.substr(rel + 4));
        if (auto semi = r.find(';'); semi != std::string::npos) r = trim(r.substr(0, semi));
        if (r.size() >= 2 && r.front() == '"' && r.back() == '"') r = r.substr(1, r.size() - 2);
        link.rel = r;
      }
      out.push_back(std::move(link));
      pos = end;
    }
  }
  return out;
}

}  // namespace detail

bool Problem::retryable() const {
  using detail::is_problem_type;
  return is_problem_type(*this, "rateLimited") || is_problem_type(*this, "badNonce") ||
         is_problem_type(*this, "serverInternal") || status >= 500 || status == 429;
}

bool Problem::resource_gone() const {
  return status == 404 && !detail::is_problem_type(*this, "accountDoesNotExist");
}

Error problem_error(const Problem& p) {
  using detail::is_problem_type;
  Errc code = Errc::kCaRejected;
  if (is_problem_type(p, "rateLimited") || p.status == 429)
    code = Errc::kCaRateLimited;
  else if (p.retryable())
    code = Errc::kCaUnavailable;
  else if (is_problem_type(p, "accountDoesNotExist") || p.status == 404)
    code = Errc::kCaNotFound;
  else if (is_problem_type(p, "unauthorized") || is_problem_type(p, "externalAccountRequired") ||
           p.status == 403)
    code = Errc::kCaForbidden;
  else if (is_problem_type(p, "alreadyRevoked") || p.status == 409)
    code = Errc::kCaConflict;
  std::string d = "acme problem " + p.type + " (HTTP " + std::to_string(p.status) + ")";
  if (!p.detail.empty()) d += ": " + p.detail;
  for (const auto& s : p.subproblems) d += "; " + s.identifier + ": " + s.type + " " + s.detail;
  if (p.retry_after_s) d += "; retry_after=" + std::to_string(*p.retry_after_s) + "s";
  return make_error(code, std::move(d));
}

bool OrderState::finished() const {
  return status == OrderStatus::kInvalid ||
         (status == OrderStatus::kValid && !certificate_pem.empty());
}

namespace {

json problem_json(const Problem& p) {
  json subs = json::array();
  for (const auto& s : p.subproblems)
    subs.push_back({{"type", s.type},
                    {"detail", s.detail},
                    {"identifier", {{"type", "dns"}, {"value", s.identifier}}}});
  json j{{"type", p.type}, {"detail", p.detail}, {"status", p.status}, {"subproblems", subs}};
  if (p.retry_after_s) j["retry_after_s"] = *p.retry_after_s;
  return j;
}

template <class T>
bool has_type(const json& v) {
  if constexpr (std::is_same_v<T, std::string>)
    return v.is_string();
  else if constexpr (std::is_same_v<T, bool>)
    return v.is_boolean();
  else if constexpr (std::is_integral_v<T>)
    return v.is_number_integer();
  else
    return v.is_array() &&
           std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
}

// Absent keeps the default (fields may be added); a wrong type is an error,
// checked before get() so that bad input never throws.
template <class T>
Status get_to(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end()) return ok();
  if (!has_type<T>(*it))
    return make_error(Code::kParse, std::string("order state: bad \"") + key + "\"");
  out = it->get<T>();
  return ok();
}

Result<ChallengeRecord> challenge_record(const json& c) {
  if (!c.is_object()) return make_error(Code::kParse, "order state: bad challenge");
  ChallengeRecord r;
  BOOST_OUTCOME_TRY(get_to(c, "authz_url", r.authz_url));
  BOOST_OUTCOME_TRY(get_to(c, "domain", r.domain));
  BOOST_OUTCOME_TRY(get_to(c, "type", r.type));
  BOOST_OUTCOME_TRY(get_to(c, "url", r.url));
  BOOST_OUTCOME_TRY(get_to(c, "token", r.token));
  BOOST_OUTCOME_TRY(get_to(c, "key_authorization", r.key_authorization));
  BOOST_OUTCOME_TRY(get_to(c, "responded", r.responded));
  return r;
}

// problem_json() read back: the HTTP status and retry_after_s are ours.
Problem stored_problem(const json& err) {
  Problem p = detail::parse_problem(err.dump(), 0);
  if (auto it = err.find("status"); it != err.end() && it->is_number_integer()) p.status = *it;
  if (auto it = err.find("retry_after_s"); it != err.end() && it->is_number_integer())
    p.retry_after_s = it->get<std::int64_t>();
  return p;
}

}  // namespace

std::string serialize_order_state(const OrderState& st) {
  json chs = json::array();
  for (const auto& c : st.challenges)
    chs.push_back({{"authz_url", c.authz_url},
                   {"domain", c.domain},
                   {"type", c.type},
                   {"url", c.url},
                   {"token", c.token},
                   {"key_authorization", c.key_authorization},
                   {"responded", c.responded}});
  json j{{"identifiers", st.identifiers},
         {"replaces", st.replaces},
         {"account_url", st.account_url},
         {"status", order_status_name(st.status)},
         {"order_url", st.order_url},
         {"finalize_url", st.finalize_url},
         {"certificate_url", st.certificate_url},
         {"authorization_urls", st.authorization_urls},
         {"challenges", chs},
         {"key_pem", st.key_pem},
         {"certificate_pem", st.certificate_pem},
         {"retry_after_ms", st.retry_after_ms},
         {"steps", st.steps},
         {"polls", st.polls}};
  if (st.error) j["error"] = problem_json(*st.error);
  return j.dump();
}

Result<OrderState> parse_order_state(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(Code::kParse, "order state: not a JSON object");
  OrderState st;
  BOOST_OUTCOME_TRY(get_to(j, "identifiers", st.identifiers));
  BOOST_OUTCOME_TRY(get_to(j, "replaces", st.replaces));
  BOOST_OUTCOME_TRY(get_to(j, "account_url", st.account_url));
  std::string status;
  BOOST_OUTCOME_TRY(get_to(j, "status", status));
  auto parsed_status = parse_order_status(status);
  if (!parsed_status) return make_error(Code::kParse, "order state: bad \"status\"");
  st.status = *parsed_status;
  BOOST_OUTCOME_TRY(get_to(j, "order_url", st.order_url));
  BOOST_OUTCOME_TRY(get_to(j, "finalize_url", st.finalize_url));
  BOOST_OUTCOME_TRY(get_to(j, "certificate_url", st.certificate_url));
  BOOST_OUTCOME_TRY(get_to(j, "authorization_urls", st.authorization_urls));
  BOOST_OUTCOME_TRY(get_to(j, "key_pem", st.key_pem));
  BOOST_OUTCOME_TRY(get_to(j, "certificate_pem", st.certificate_pem));
  BOOST_OUTCOME_TRY(get_to(j, "retry_after_ms", st.retry_after_ms));
  BOOST_OUTCOME_TRY(get_to(j, "steps", st.steps));
  BOOST_OUTCOME_TRY(get_to(j, "polls", st.polls));
  auto chs = j.find("challenges");
  if (chs != j.end() && chs->is_array()) {
    for (const auto& c : *chs) {
      BOOST_OUTCOME_TRY(r, challenge_record(c));
      st.challenges.push_back(std::move(r));
    }
  }
  auto err = j.find("error");
  if (err != j.end() && err->is_object()) st.error = stored_problem(*err);
  return st;
}

}  // namespace fc::certs

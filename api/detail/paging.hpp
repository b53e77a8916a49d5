// Paging of list routes: the `limit` and `cursor` query parameters
// (API.md "Workspaces"; a bad one is a 422 naming it).
#pragma once
#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.hpp"

namespace fc::api::detail {

struct PageQuery {
  int limit = 100;
  std::string after;  // id of the last item of the previous page; empty: from the start
};

// A cursor is the `next_cursor` of the previous page: the id of its last item,
// `prefix` and 26 characters of the id alphabet (common/ids.hpp). Anything else
// never came from this API; nullopt.
inline std::optional<std::string> decode_cursor(std::string_view cursor, std::string_view prefix) {
  constexpr std::string_view kIdAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";
  constexpr std::size_t kIdChars = 26;
  if (cursor.size() != prefix.size() + kIdChars || cursor.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  for (char c : cursor.substr(prefix.size())) {
    if (kIdAlphabet.find(c) == std::string_view::npos) return std::nullopt;
  }
  return std::string(cursor);
}

// `limit`: digits only, 1..max_limit (absent: default_limit). `cursor`: absent
// or empty for the first page, else decode_cursor. Each bad one adds an error
// naming its field.
inline PageQuery read_page_query(const Request& r, std::string_view id_prefix,
                                 std::vector<FieldError>& errors, int default_limit = 100,
                                 int max_limit = 1000) {
  PageQuery q;
  q.limit = default_limit;
  if (auto it = r.query.find("limit"); it != r.query.end()) {
    const std::string& s = it->second;
    const bool digits =
        !s.empty() && s.size() <= 5 &&
        std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
    q.limit = digits ? std::stoi(s) : -1;
    if (q.limit < 1 || q.limit > max_limit)
      errors.push_back({"limit", "must be an integer from 1 to " + std::to_string(max_limit)});
  }
  if (auto it = r.query.find("cursor"); it != r.query.end() && !it->second.empty()) {
    auto after = decode_cursor(it->second, id_prefix);
    if (after)
      q.after = *after;
    else
      errors.push_back({"cursor", "is not a next_cursor this API returned"});
  }
  return q;
}

// The `q` parameter of a list route: a name or hostname prefix, lower-cased,
// a trailing dot dropped; letters, digits, '-' and '.' only (DNS names), at
// most 253 characters; absent = "". A bad one adds an error naming `q` that
// says it must be `what`.
inline std::optional<std::string> read_prefix_query(const Request& r,
                                                    std::vector<FieldError>& errors,
                                                    std::string_view what) {
  auto it = r.query.find("q");
  if (it == r.query.end()) return std::string();
  std::string q = it->second;
  for (char& c : q) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!q.empty() && q.back() == '.') q.pop_back();
  const bool ok = q.size() <= 253 && std::all_of(q.begin(), q.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
                  });
  if (ok) return q;
  errors.push_back({"q", "must be " + std::string(what) +
                             ": letters, digits, '-' and '.', at most 253 characters"});
  return std::nullopt;
}

}  // namespace fc::api::detail

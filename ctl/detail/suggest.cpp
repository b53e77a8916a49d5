#include "ctl/detail/suggest.hpp"

#include <algorithm>

namespace fc::ctl {

// Optimal string alignment: Levenshtein plus adjacent transpositions, the
// commonest typo ("dsn" for "dns").
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::optional<std::string> nearest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_d = 0;
  for (const auto& c : candidates) {
    if (c == word) return c;
    size_t d = edit_distance(word, c);
    size_t limit = std::max<size_t>(1, std::max(word.size(), c.size()) / 3);
    bool prefix = word.size() >= 2 && c.rfind(word, 0) == 0;
    if (d > limit && !prefix) continue;
    if (prefix) d = std::min(d, limit);
    if (!best || d < best_d) best = c, best_d = d;
  }
  return best;
}

}  // namespace fc::ctl

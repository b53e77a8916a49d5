// "Did you mean …?": the nearest valid word by edit distance.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fc::ctl {

// Edit distance: insert, delete, substitute and swap two neighbours cost 1 each.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word` when it is close enough to be a typo (at
// most a third of the longer word's length, at least 1, or a prefix of it);
// ties go to the first candidate.
std::optional<std::string> nearest(std::string_view word,
                                   const std::vector<std::string>& candidates);

}  // namespace fc::ctl

// "Did you mean" suggestions by edit distance.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mmp {

size_t editDistance(std::string_view a, std::string_view b, bool ignoreCase = false);

// The closest candidate, if it is close enough to be a plausible typo.
std::optional<std::string> closestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates,
                                        bool ignoreCase = false);

}  // namespace mmp

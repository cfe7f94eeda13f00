#include "support/suggest.h"

#include <algorithm>
#include <cctype>

namespace mmp {

size_t editDistance(std::string_view a, std::string_view b, bool ignoreCase) {
  auto same = [&](char x, char y) {
    return ignoreCase ? std::tolower(static_cast<unsigned char>(x)) ==
                            std::tolower(static_cast<unsigned char>(y))
                      : x == y;
  };
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same(a[i - 1], b[j - 1]) ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> closestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates,
                                        bool ignoreCase) {
  // Allow roughly one edit per three characters, at least one.
  size_t limit = std::max<size_t>(1, (word.size() + 2) / 3);
  std::optional<std::string> best;
  size_t bestDistance = limit + 1;
  for (const auto& c : candidates) {
    size_t d = editDistance(word, c, ignoreCase);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

}  // namespace mmp

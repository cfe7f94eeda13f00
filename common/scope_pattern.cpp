#include "scope_pattern.h"

#include <functional>
#include <map>

namespace mmp {
namespace {

constexpr size_t kMaxParts = 64;

bool hasStar(std::string_view s) { return s.find('*') != std::string_view::npos; }

// Glob with `*` only, within one component.
bool globMatch(std::string_view pat, std::string_view s) {
  size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (p < pat.size() && pat[p] == s[i]) {
      ++p;
      ++i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

// Memoised walk over (i, j) positions of two part lists.
class PairWalk {
public:
  using Step = std::function<bool(size_t, size_t)>;
  bool run(size_t i, size_t j, const Step& step) {
    auto key = std::make_pair(i, j);
    if (auto it = memo_.find(key); it != memo_.end()) return it->second;
    memo_[key] = false;  // no cycles: every step consumes, but be safe
    bool r = step(i, j);
    memo_[key] = r;
    return r;
  }

private:
  std::map<std::pair<size_t, size_t>, bool> memo_;
};

}  // namespace

std::string ScopePattern::text() const {
  if (parts.empty()) return "/";
  std::string s;
  for (const auto& p : parts) s += "/" + p;
  return s;
}

std::optional<ScopePattern> parseScopePattern(std::string_view s, std::string& error) {
  if (s.empty()) {
    error = "an empty path names no cgroup";
    return std::nullopt;
  }
  ScopePattern p;
  std::string_view rest = s.front() == '/' ? s.substr(1) : s;
  if (rest.empty()) return p;  // the root
  size_t i = 0;
  while (i <= rest.size()) {
    size_t j = rest.find('/', i);
    if (j == std::string_view::npos) j = rest.size();
    std::string_view part = rest.substr(i, j - i);
    if (part.empty()) {
      if (j == rest.size()) break;  // one trailing slash is fine
      error = "a path cannot contain an empty component (`//`)";
      return std::nullopt;
    }
    if (part == "." || part == "..") {
      error = "a path cannot contain `.` or `..`";
      return std::nullopt;
    }
    if (part.find("**") != std::string_view::npos && part != "**") {
      error = "`**` must be a whole path component, as in `/a/**`";
      return std::nullopt;
    }
    for (char c : part)
      if (c == '\n' || c == '\0') {
        error = "a cgroup name cannot contain a newline";
        return std::nullopt;
      }
    p.parts.emplace_back(part);
    if (p.parts.size() > kMaxParts) {
      error = "a path cannot have more than 64 components";
      return std::nullopt;
    }
    i = j + 1;
  }
  return p;
}

bool matches(const ScopePattern& pat, std::string_view path) {
  std::vector<std::string> parts = splitPath(path);
  const auto& q = pat.parts;
  PairWalk walk;
  PairWalk::Step step = [&](size_t i, size_t j) -> bool {
    if (i == q.size()) return j == parts.size();
    if (q[i] == "**") {
      bool last = i + 1 == q.size();
      if (!last && walk.run(i + 1, j, step)) return true;            // zero components
      return j < parts.size() && (walk.run(i, j + 1, step) || walk.run(i + 1, j + 1, step));
    }
    return j < parts.size() && globMatch(q[i], parts[j]) && walk.run(i + 1, j + 1, step);
  };
  return walk.run(0, 0, step);
}

// Two literal first components that differ: the patterns name disjoint
// subtrees. Decides most pairs without the general walk.
bool disjointAtFirst(const ScopePattern& a, const ScopePattern& b) {
  if (a.parts.empty() || b.parts.empty()) return false;
  const std::string& x = a.parts[0];
  const std::string& y = b.parts[0];
  return !hasStar(x) && !hasStar(y) && x != y;
}

bool covers(const ScopePattern& outer, const ScopePattern& inner) {
  if (disjointAtFirst(outer, inner)) return false;
  const auto& q = outer.parts;
  const auto& p = inner.parts;
  PairWalk walk;
  PairWalk::Step step = [&](size_t i, size_t j) -> bool {
    if (i == q.size()) return true;  // the rest of `inner` is a descendant
    if (q[i] == "**") {
      bool last = i + 1 == q.size();
      if (last) return j < p.size();  // at least one more component
      if (walk.run(i + 1, j, step)) return true;
      return j < p.size() && (walk.run(i, j + 1, step) || walk.run(i + 1, j + 1, step));
    }
    if (j == p.size()) return false;
    if (p[j] == "**") {
      // A trailing `**` matches at least one component: a last `*` of
      // `outer` takes the first, the rest are its descendants.
      return q[i] == "*" && i + 1 == q.size() && j + 1 == p.size();
    }
    bool partCovered = q[i] == p[j] || q[i] == "*" || (!hasStar(p[j]) && globMatch(q[i], p[j]));
    return partCovered && walk.run(i + 1, j + 1, step);
  };
  return walk.run(0, 0, step);
}

bool overlaps(const ScopePattern& a, const ScopePattern& b) {
  if (disjointAtFirst(a, b)) return false;
  const auto& x = a.parts;
  const auto& y = b.parts;
  PairWalk walk;
  PairWalk::Step step = [&](size_t i, size_t j) -> bool {
    if (i == x.size() && j == y.size()) return true;
    bool xs = i < x.size() && x[i] == "**";
    bool ys = j < y.size() && y[j] == "**";
    if (xs) {
      bool last = i + 1 == x.size();
      if (!last && walk.run(i + 1, j, step)) return true;
      if (j < y.size() && (walk.run(i, j + 1, step) || walk.run(i + 1, j + 1, step))) return true;
    }
    if (ys) {
      bool last = j + 1 == y.size();
      if (!last && walk.run(i, j + 1, step)) return true;
      if (i < x.size() && (walk.run(i + 1, j, step) || walk.run(i + 1, j + 1, step))) return true;
    }
    if (xs || ys || i == x.size() || j == y.size()) return false;
    bool partsMeet = x[i] == y[j] || (hasStar(x[i]) && hasStar(y[j])) ||
                     (hasStar(x[i]) && globMatch(x[i], y[j])) || (hasStar(y[j]) && globMatch(y[j], x[i]));
    return partsMeet && walk.run(i + 1, j + 1, step);
  };
  return walk.run(0, 0, step);
}

}  // namespace mmp

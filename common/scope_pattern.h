// Cgroup path patterns of `in` scopes and `protect`: paths below the cgroup
// root whose components may be `*` (any one component), contain `*` (any
// characters within the component), or be `**` (any number of components;
// at the end of a pattern, at least one).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mmp {

struct ScopePattern {
  std::vector<std::string> parts;  // no empty parts; root is no parts
  std::string text() const;        // normalised: "/a/*/b"
  bool isRoot() const { return parts.empty(); }
};

// Parses and normalises; on failure says why in `error`.
std::optional<ScopePattern> parseScopePattern(std::string_view s, std::string& error);

// Whether the cgroup at `path` ("/a/b", root "/") matches.
bool matches(const ScopePattern& p, std::string_view path);

// Whether every cgroup `inner` matches is, or lies below, a cgroup `outer`
// matches (conservative: false when unsure).
bool covers(const ScopePattern& outer, const ScopePattern& inner);

// Whether some cgroup matches both (conservative: true when unsure).
bool overlaps(const ScopePattern& a, const ScopePattern& b);

}  // namespace mmp

// Cgroup path patterns of `in` and `protect`: parsing, matching, and the
// covers/overlaps questions sema asks of them.
#include "scope_pattern.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mmp {
namespace {

ScopePattern pat(const std::string& s) {
  std::string error;
  auto p = parseScopePattern(s, error);
  EXPECT_TRUE(p.has_value()) << s << ": " << error;
  return p ? *p : ScopePattern{};
}

std::string parseError(const std::string& s) {
  std::string error;
  auto p = parseScopePattern(s, error);
  EXPECT_FALSE(p.has_value()) << s << " parsed as " << (p ? p->text() : "");
  return error;
}

// ---- parsing ------------------------------------------------------------------

TEST(ScopePattern, ParseErrors) {
  for (const char* bad : {"", "//", "/a//b", "a//", "/a/../b", "/..", "/a/.", "./a", "a**b", "/a/b**", "/**x/y",
                          "/***", "/a/**c"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parseError(bad).empty());
  }
  EXPECT_NE(parseError("").find("empty"), std::string::npos);
  EXPECT_NE(parseError("/a//b").find("//"), std::string::npos);
  EXPECT_NE(parseError("/a/../b").find(".."), std::string::npos);
  EXPECT_NE(parseError("/a**b").find("**"), std::string::npos);
}

TEST(ScopePattern, Normalisation) {
  EXPECT_EQ(pat("a/b/").text(), "/a/b");
  EXPECT_EQ(pat("/a/b/").text(), "/a/b");
  EXPECT_EQ(pat("/a/b").text(), "/a/b");
  EXPECT_EQ(pat("a").text(), "/a");
  EXPECT_EQ(pat("/workload.slice/*").text(), "/workload.slice/*");
  EXPECT_EQ(pat("/a/**/b").parts, (std::vector<std::string>{"a", "**", "b"}));
  EXPECT_EQ(pat("/web-*").parts, (std::vector<std::string>{"web-*"}));
}

TEST(ScopePattern, Root) {
  ScopePattern root = pat("/");
  EXPECT_TRUE(root.isRoot());
  EXPECT_TRUE(root.parts.empty());
  EXPECT_EQ(root.text(), "/");
  EXPECT_FALSE(pat("/a").isRoot());
  EXPECT_FALSE(pat("/**").isRoot());
  EXPECT_TRUE(matches(root, "/"));
  EXPECT_FALSE(matches(root, "/a"));
}

TEST(ScopePattern, ComponentLimit) {
  std::string ok, tooMany;
  for (int i = 0; i < 64; ++i) ok += "/x";
  tooMany = ok + "/x";
  EXPECT_EQ(pat(ok).parts.size(), 64u);
  EXPECT_FALSE(parseError(tooMany).empty());
}

// ---- matches ------------------------------------------------------------------

TEST(ScopePattern, MatchesLiteralPaths) {
  ScopePattern p = pat("/a/b");
  EXPECT_TRUE(matches(p, "/a/b"));
  EXPECT_TRUE(matches(p, "/a/b/"));
  EXPECT_FALSE(matches(p, "/a"));
  EXPECT_FALSE(matches(p, "/a/b/c"));
  EXPECT_FALSE(matches(p, "/a/c"));
  EXPECT_FALSE(matches(p, "/"));
}

TEST(ScopePattern, MatchesStarComponent) {
  ScopePattern p = pat("/a/*");
  EXPECT_TRUE(matches(p, "/a/x"));
  EXPECT_TRUE(matches(p, "/a/web-1.service"));
  EXPECT_FALSE(matches(p, "/a"));
  EXPECT_FALSE(matches(p, "/a/x/y"));
  EXPECT_FALSE(matches(p, "/b/x"));
  EXPECT_TRUE(matches(pat("/*/b"), "/x/b"));
  EXPECT_FALSE(matches(pat("/*/b"), "/x/y/b"));
}

TEST(ScopePattern, MatchesStarWithinComponent) {
  ScopePattern p = pat("/a/web-*");
  EXPECT_TRUE(matches(p, "/a/web-1"));
  EXPECT_TRUE(matches(p, "/a/web-frontend"));
  EXPECT_TRUE(matches(p, "/a/web-"));
  EXPECT_FALSE(matches(p, "/a/web"));
  EXPECT_FALSE(matches(p, "/a/db-1"));
  EXPECT_FALSE(matches(p, "/a/xweb-1"));
  EXPECT_FALSE(matches(p, "/a/web-1/child"));
  EXPECT_TRUE(matches(pat("/*.service"), "/sshd.service"));
  EXPECT_FALSE(matches(pat("/*.service"), "/sshd.slice"));
  EXPECT_TRUE(matches(pat("/a*b*c"), "/abc"));
  EXPECT_TRUE(matches(pat("/a*b*c"), "/aXbYbZc"));
  EXPECT_FALSE(matches(pat("/a*b*c"), "/aXbYcZ"));
}

TEST(ScopePattern, DoubleStarAtTheEndIsOneOrMore) {
  ScopePattern p = pat("/a/**");
  EXPECT_FALSE(matches(p, "/a"));
  EXPECT_TRUE(matches(p, "/a/b"));
  EXPECT_TRUE(matches(p, "/a/b/c"));
  EXPECT_TRUE(matches(p, "/a/b/c/d/e"));
  EXPECT_FALSE(matches(p, "/b/c"));
  ScopePattern all = pat("/**");
  EXPECT_FALSE(matches(all, "/"));
  EXPECT_TRUE(matches(all, "/x"));
  EXPECT_TRUE(matches(all, "/x/y/z"));
}

TEST(ScopePattern, DoubleStarInTheMiddleIsZeroOrMore) {
  ScopePattern p = pat("/a/**/c");
  EXPECT_TRUE(matches(p, "/a/c"));
  EXPECT_TRUE(matches(p, "/a/b/c"));
  EXPECT_TRUE(matches(p, "/a/b/x/c"));
  EXPECT_TRUE(matches(p, "/a/c/c"));
  EXPECT_FALSE(matches(p, "/a"));
  EXPECT_FALSE(matches(p, "/a/b"));
  EXPECT_FALSE(matches(p, "/a/c/d"));
  EXPECT_FALSE(matches(p, "/c"));
  ScopePattern lead = pat("/**/web-*");
  EXPECT_TRUE(matches(lead, "/web-1"));
  EXPECT_TRUE(matches(lead, "/x/y/web-1"));
  EXPECT_FALSE(matches(lead, "/x/y/db"));
  ScopePattern both = pat("/**/c/**");
  EXPECT_TRUE(matches(both, "/c/d"));
  EXPECT_TRUE(matches(both, "/a/c/d/e"));
  EXPECT_FALSE(matches(both, "/a/c"));
}

// ---- covers -------------------------------------------------------------------

TEST(ScopePattern, CoversItselfAndDescendants) {
  EXPECT_TRUE(covers(pat("/a"), pat("/a")));
  EXPECT_TRUE(covers(pat("/a"), pat("/a/b")));
  EXPECT_TRUE(covers(pat("/a"), pat("/a/*")));
  EXPECT_TRUE(covers(pat("/a"), pat("/a/**")));
  EXPECT_TRUE(covers(pat("/a"), pat("/a/*/c/**")));
  EXPECT_FALSE(covers(pat("/a/b"), pat("/a")));
  EXPECT_FALSE(covers(pat("/a"), pat("/b")));
  EXPECT_FALSE(covers(pat("/a"), pat("/ab")));
  EXPECT_TRUE(covers(pat("/"), pat("/anything/at/all")));
  EXPECT_TRUE(covers(pat("/system.slice"), pat("/system.slice/*")));
  EXPECT_FALSE(covers(pat("/system.slice/sshd.service"), pat("/system.slice/*")));
}

TEST(ScopePattern, CoversWithStars) {
  EXPECT_TRUE(covers(pat("/a/*"), pat("/a/b")));
  EXPECT_TRUE(covers(pat("/a/*"), pat("/a/b/c")));
  EXPECT_TRUE(covers(pat("/a/*"), pat("/a/web-*")));
  EXPECT_TRUE(covers(pat("/a/*"), pat("/a/*")));
  EXPECT_FALSE(covers(pat("/a/*"), pat("/a")));
  EXPECT_TRUE(covers(pat("/a/web-*"), pat("/a/web-1")));
  EXPECT_TRUE(covers(pat("/a/web-*"), pat("/a/web-*")));
  EXPECT_FALSE(covers(pat("/a/web-*"), pat("/a/db-1")));
  EXPECT_FALSE(covers(pat("/a/web-*"), pat("/a/*")));
  EXPECT_FALSE(covers(pat("/*/b"), pat("/**/b")));  // `/b` is not below `/*/b`
}

TEST(ScopePattern, CoversWithDoubleStars) {
  EXPECT_TRUE(covers(pat("/a/**"), pat("/a/b")));
  EXPECT_TRUE(covers(pat("/a/**"), pat("/a/b/c")));
  EXPECT_TRUE(covers(pat("/a/**"), pat("/a/**")));
  EXPECT_TRUE(covers(pat("/a/**"), pat("/a/**/z")));
  EXPECT_FALSE(covers(pat("/a/**"), pat("/a")));
  EXPECT_TRUE(covers(pat("/**"), pat("/x")));
  EXPECT_TRUE(covers(pat("/**"), pat("/**")));
  EXPECT_FALSE(covers(pat("/**"), pat("/")));
  EXPECT_TRUE(covers(pat("/a/**/z"), pat("/a/z")));
  EXPECT_TRUE(covers(pat("/a/**/z"), pat("/a/b/z")));
  EXPECT_TRUE(covers(pat("/a/**/z"), pat("/a/b/z/child")));
  EXPECT_TRUE(covers(pat("/a/**/z"), pat("/a/**/z")));
  EXPECT_FALSE(covers(pat("/a/**/z"), pat("/a/b")));
  EXPECT_FALSE(covers(pat("/a/**/z"), pat("/a/**")));
  EXPECT_TRUE(covers(pat("/**/z"), pat("/**/z")));
  EXPECT_FALSE(covers(pat("/**/b"), pat("/x/**")));
}

// ---- overlaps -----------------------------------------------------------------

void expectOverlap(const std::string& a, const std::string& b, bool want) {
  SCOPED_TRACE(a + " vs " + b);
  EXPECT_EQ(overlaps(pat(a), pat(b)), want);
  EXPECT_EQ(overlaps(pat(b), pat(a)), want);  // symmetric
}

TEST(ScopePattern, OverlapsLiteralAndStar) {
  expectOverlap("/a", "/a", true);
  expectOverlap("/a", "/b", false);
  expectOverlap("/a", "/a/b", false);  // no single cgroup matches both
  expectOverlap("/a/*", "/a/b", true);
  expectOverlap("/a/*", "/a", false);
  expectOverlap("/a/*", "/b/*", false);
  expectOverlap("/a/*", "/*/b", true);
  expectOverlap("/a/web-*", "/a/web-1", true);
  expectOverlap("/a/web-*", "/a/db-1", false);
  expectOverlap("/a/web-*", "/a/*-1", true);
  expectOverlap("/batch.slice/*", "/web.slice/*", false);
  expectOverlap("/", "/", true);
  expectOverlap("/", "/a", false);
}

TEST(ScopePattern, OverlapsWithDoubleStars) {
  expectOverlap("/**", "/x/y", true);
  expectOverlap("/**", "/", false);
  expectOverlap("/**", "/**", true);
  expectOverlap("/a/**", "/a/b/c", true);
  expectOverlap("/a/**", "/a", false);
  expectOverlap("/a/**", "/a/**", true);
  expectOverlap("/a/**", "/b/**", false);
  expectOverlap("/a/**", "/**/b", true);
  expectOverlap("/a/**/z", "/a/z", true);
  expectOverlap("/a/**/z", "/a/b/c/z", true);
  expectOverlap("/a/**/z", "/a/b", false);
  expectOverlap("/a/**/z", "/a/*", true);
  expectOverlap("/**/x", "/**/y", false);
  expectOverlap("/**/x", "/a/**", true);
}

}  // namespace
}  // namespace mmp

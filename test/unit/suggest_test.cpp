// "Did you mean" suggestions: edit distance and the closest candidate.
#include "support/suggest.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace mmp {
namespace {

TEST(Suggest, EditDistanceBasics) {
  EXPECT_EQ(editDistance("", ""), 0u);
  EXPECT_EQ(editDistance("abc", ""), 3u);
  EXPECT_EQ(editDistance("", "abc"), 3u);
  EXPECT_EQ(editDistance("same", "same"), 0u);
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(editDistance("sitting", "kitten"), 3u);
  EXPECT_EQ(editDistance("flaw", "lawn"), 2u);
  EXPECT_EQ(editDistance("memcg.presure", "memcg.pressure"), 1u);  // insertion
  EXPECT_EQ(editDistance("memcg.usagee", "memcg.usage"), 1u);      // deletion
  EXPECT_EQ(editDistance("memcg.usoge", "memcg.usage"), 1u);       // substitution
  EXPECT_EQ(editDistance("ab", "ba"), 2u);                         // no transpositions
}

TEST(Suggest, EditDistanceCase) {
  EXPECT_EQ(editDistance("MiB", "mib"), 2u);
  EXPECT_EQ(editDistance("MiB", "mib", /*ignoreCase=*/true), 0u);
  EXPECT_EQ(editDistance("GIB", "gib", true), 0u);
  EXPECT_EQ(editDistance("Abc", "abd", true), 1u);
}

TEST(Suggest, ClosestMatchFindsATypo) {
  std::vector<std::string> fields = {"memcg.usage", "memcg.pressure", "memcg.max", "system.swap.free"};
  EXPECT_EQ(closestMatch("memcg.presure", fields), std::optional<std::string>("memcg.pressure"));
  EXPECT_EQ(closestMatch("memcg.usgae", fields), std::optional<std::string>("memcg.usage"));
  EXPECT_EQ(closestMatch("memcg.mx", fields), std::optional<std::string>("memcg.max"));
  EXPECT_EQ(closestMatch("memcg.usage", fields), std::optional<std::string>("memcg.usage"));
}

TEST(Suggest, ClosestMatchRefusesFarWords) {
  std::vector<std::string> fields = {"memcg.usage", "memcg.pressure"};
  EXPECT_EQ(closestMatch("banana", fields), std::nullopt);
  EXPECT_EQ(closestMatch("x", {"abc"}), std::nullopt);
  EXPECT_EQ(closestMatch("anything", {}), std::nullopt);
}

TEST(Suggest, ClosestMatchAllowsAboutOneEditPerThreeCharacters) {
  // Short words: one edit.
  EXPECT_EQ(closestMatch("a", {"b"}), std::optional<std::string>("b"));
  EXPECT_EQ(closestMatch("ab", {"ba"}), std::nullopt);  // two edits
  EXPECT_EQ(closestMatch("abcd", {"abxy"}), std::optional<std::string>("abxy"));  // 2 of 4
  EXPECT_EQ(closestMatch("abcd", {"axyz"}), std::nullopt);                        // 3 of 4
  EXPECT_EQ(closestMatch("abcdefg", {"abcxyzg"}), std::optional<std::string>("abcxyzg"));  // 3 of 7
  EXPECT_EQ(closestMatch("abcdefg", {"axyzwfg"}), std::nullopt);                           // 4 of 7
}

TEST(Suggest, ClosestMatchPrefersTheNearestThenTheFirst) {
  EXPECT_EQ(closestMatch("intervals", {"interval_", "interval"}), std::optional<std::string>("interval_"));
  EXPECT_EQ(closestMatch("intervl", {"intxrval", "interval"}), std::optional<std::string>("interval"));
  EXPECT_EQ(closestMatch("abcd", {"abxd", "abcx"}), std::optional<std::string>("abxd"));
}

TEST(Suggest, ClosestMatchIgnoringCase) {
  EXPECT_EQ(closestMatch("MIb", {"KiB", "MiB"}), std::nullopt);
  EXPECT_EQ(closestMatch("MIb", {"KiB", "MiB"}, true), std::optional<std::string>("MiB"));
}

}  // namespace
}  // namespace mmp

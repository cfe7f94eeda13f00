// The cgroup listing under churn (runtime/cgroup_watch.h): a change is
// listed at once after a quiet spell, and changes within the gap after a
// listing wait for its end, when pendingAt() says. On a plain directory
// tree: inotify and the listing work the same there as on cgroupfs.
#include "cgroup_watch.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>

using mmp::runtime::CgroupWatch;
using mmp::runtime::CgroupVersion;
using mmp::runtime::Hierarchy;

namespace {

struct Tree : ::testing::Test {
  std::filesystem::path root;
  Hierarchy h;  // CgroupWatch keeps a reference to it
  void SetUp() override {
    char tmpl[] = "/tmp/mmp-watch-XXXXXX";
    root = mkdtemp(tmpl);
    h = {root.string(), CgroupVersion::V2};
  }
  void TearDown() override { std::filesystem::remove_all(root); }
  static bool has(const std::vector<mmp::runtime::Cgroup>& list, const std::string& path) {
    return std::any_of(list.begin(), list.end(), [&](const auto& c) { return c.path == path; });
  }
};

}  // namespace

TEST_F(Tree, AChangeWithinTheGapWaitsForItsEnd) {
  CgroupWatch w(h, std::chrono::hours(1));
  EXPECT_EQ(w.current().size(), 1u);  // the root: the first listing
  uint64_t first = w.generation();
  EXPECT_EQ(w.pendingAt(), CgroupWatch::Clock::time_point::max());
  ASSERT_EQ(mkdir((root / "pod-a").c_str(), 0755), 0);
  EXPECT_TRUE(w.drain());
  // Seen (inotify) but not listed: the last listing is not an hour old.
  EXPECT_FALSE(has(w.current(), "/pod-a"));
  EXPECT_EQ(w.generation(), first);
  EXPECT_GT(w.pendingAt(), CgroupWatch::Clock::now() + std::chrono::minutes(59));
}

TEST_F(Tree, AChangeAfterTheGapIsListedAndWatchedBelow) {
  CgroupWatch w(h, std::chrono::milliseconds(0));
  w.current();
  ASSERT_EQ(mkdir((root / "pod-a").c_str(), 0755), 0);
  EXPECT_TRUE(w.drain());  // the daemon drains when the descriptor is readable
  EXPECT_LE(w.pendingAt(), CgroupWatch::Clock::now());
  EXPECT_TRUE(has(w.current(), "/pod-a"));
  EXPECT_EQ(w.pendingAt(), CgroupWatch::Clock::time_point::max());
  // The new directory is watched: a child made in it is seen.
  ASSERT_EQ(mkdir((root / "pod-a" / "c").c_str(), 0755), 0);
  EXPECT_TRUE(w.drain());
  EXPECT_TRUE(has(w.current(), "/pod-a/c"));
  // (A cgroup removed and made again at its path has a new id, kernfs's,
  // and is watched anew; a plain file system may reuse the inode, so that
  // is not tested here.)
  ASSERT_EQ(rmdir((root / "pod-a" / "c").c_str()), 0);
  EXPECT_TRUE(w.drain());
  EXPECT_FALSE(has(w.current(), "/pod-a/c"));
}

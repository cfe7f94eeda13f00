// The kill path's files held open (runtime/actions/held_files.h): a read
// through a held file sees what the file holds now, a file not held is
// opened for the read, and hold() lets go of what it is no longer given.
#include "actions/held_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using mmp::runtime::HeldFiles;

namespace {

struct Dirs : ::testing::Test {
  std::filesystem::path root;
  void SetUp() override {
    char tmpl[] = "/tmp/mmp-held-XXXXXX";
    root = mkdtemp(tmpl);
    for (const char* d : {"a", "b"}) {
      std::filesystem::create_directory(root / d);
      put(d, "memory.current", std::string(d) == "a" ? "100\n" : "200\n");
    }
  }
  void TearDown() override { std::filesystem::remove_all(root); }
  void put(const std::string& dir, const std::string& name, const std::string& text) {
    std::fstream f(root / dir / name, std::ios::in | std::ios::out | std::ios::trunc);
    if (!f) f.open(root / dir / name, std::ios::out);
    f << text;
  }
  std::string dir(const char* d) const { return (root / d).string(); }
};

}  // namespace

TEST_F(Dirs, AHeldFileIsReadAsItIsNow) {
  HeldFiles held;
  held.hold({dir("a"), dir("b")}, {"memory.current"});
  EXPECT_EQ(held.size(), 2u);
  EXPECT_EQ(held.read(dir("a"), "memory.current"), "100\n");
  put("a", "memory.current", "4096\n");  // rewritten in place: the held descriptor sees it
  EXPECT_EQ(held.read(dir("a"), "memory.current"), "4096\n");
}

TEST_F(Dirs, AFileNotHeldIsOpenedForTheRead) {
  HeldFiles held;
  put("b", "cgroup.events", "populated 1\nfrozen 0\n");
  EXPECT_EQ(held.read(dir("b"), "cgroup.events"), "populated 1\nfrozen 0\n");
  EXPECT_EQ(held.size(), 0u);
  EXPECT_EQ(held.read(dir("b"), "cgroup.events", true), "populated 1\nfrozen 0\n");
  EXPECT_EQ(held.size(), 1u);  // kept
  EXPECT_EQ(held.read(dir("b"), "no.such.file", true), "");
  EXPECT_EQ(held.size(), 1u);
}

TEST_F(Dirs, HoldLetsGoOfWhatItIsNoLongerGiven) {
  HeldFiles held;
  held.hold({dir("a"), dir("b"), dir("gone")}, {"memory.current"});
  EXPECT_EQ(held.size(), 2u);  // "gone" has no file: nothing held for it
  held.hold({dir("b")}, {"memory.current"});
  EXPECT_EQ(held.size(), 1u);
  EXPECT_EQ(held.read(dir("a"), "memory.current"), "100\n");  // still read, by opening it
}

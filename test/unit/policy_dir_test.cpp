// The objects a --policy-dir holds, and word of its changes
// (runtime/policy_dir.cpp).
#include "policy_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace mmp::runtime {
namespace {

namespace fs = std::filesystem;

class PolicyDirTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mmp-policy-dir-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const fs::path& p) { std::ofstream(p) << "object"; }
  std::string at(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(PolicyDirTest, ListsRegularObjectsThroughLinksByName) {
  // A ConfigMap volume: the keys are links through `..data` to the
  // kubelet's timestamped directory.
  fs::create_directories(dir_ / "..2026_12_02");
  write(dir_ / "..2026_12_02" / "a.bpf.o");
  fs::create_directory_symlink("..2026_12_02", dir_ / "..data");
  fs::create_symlink("..data/a.bpf.o", dir_ / "a.bpf.o");
  write(dir_ / "b.bpf.o");
  write(dir_ / ".hidden.bpf.o");       // an editor's, or the kubelet's own
  write(dir_ / "c.bpf.o.part");        // still being written beside its name
  write(dir_ / "notes.txt");
  write(dir_ / ".bpf.o");              // no name before the suffix
  fs::create_directory(dir_ / "d.bpf.o");                 // not a file
  fs::create_symlink("nowhere.bpf.o", dir_ / "e.bpf.o");  // a dangling link
  PolicyDir d(dir_.string());
  EXPECT_EQ(d.error(), "");
  EXPECT_EQ(d.list(), (std::vector<std::string>{at("a.bpf.o"), at("b.bpf.o")}));
}

TEST_F(PolicyDirTest, DrainSaysWhenTheDirectoryChanged) {
  PolicyDir d(dir_.string());
  ASSERT_GE(d.fd(), 0) << d.error();
  EXPECT_FALSE(d.drain()) << "nothing happened yet";
  write(dir_ / "a.bpf.o");
  EXPECT_TRUE(d.drain()) << "a file written and closed";
  EXPECT_FALSE(d.drain()) << "the events were read";
  fs::rename(dir_ / "a.bpf.o", dir_ / "b.bpf.o");
  EXPECT_TRUE(d.drain()) << "a rename";
  fs::remove(dir_ / "b.bpf.o");
  EXPECT_TRUE(d.drain()) << "a removal";
}

TEST_F(PolicyDirTest, AMissingDirectoryIsAnErrorNotACrash) {
  PolicyDir d(at("missing"));
  EXPECT_LT(d.fd(), 0);
  EXPECT_NE(d.error().find("cannot watch"), std::string::npos) << d.error();
  EXPECT_TRUE(d.list().empty());
}

}  // namespace
}  // namespace mmp::runtime

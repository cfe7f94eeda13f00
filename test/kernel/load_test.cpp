// Every shipped policy compiles and loads in the running kernel, and
// bpftool and llvm-objdump read every object.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "bpf_harness.h"

namespace mmp::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> shippedPolicies() {
  std::vector<std::string> out;
  // Shipped policies, and the policies that once broke the back end
  // (`known_*` ones still do: open bugs, listed in the closing notes).
  for (const char* dir : {"examples", "stdlib/std", "test/kernel/regressions"}) {
    fs::path p = fs::path(MMP_TEST_SOURCE_DIR) / dir;
    if (!fs::exists(p)) continue;
    for (const auto& e : fs::directory_iterator(p))
      if (e.path().extension() == ".mmp" && e.path().filename().string().rfind("known_", 0) != 0)
        out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class Shipped : public ::testing::TestWithParam<std::string> {};

TEST_P(Shipped, CompilesLoadsAndIsReadable) {
  if (auto why = bpfUnavailable()) GTEST_SKIP() << "SKIPPED: " << *why;
  Compiled c = compileFile(GetParam());
  ASSERT_FALSE(c.object.empty()) << c.diagnostics;
  std::string error;
  auto loaded = LoadedPolicy::load(c, error);
  ASSERT_TRUE(loaded) << error;
  for (const auto& [name, insns] : loaded->programSizes()) EXPECT_GT(insns, 0u) << name;
  // The object is a real BPF ELF that the standard tools read.
  fs::path obj = fs::temp_directory_path() / (fs::path(GetParam()).stem().string() + ".bpf.o");
  std::ofstream(obj, std::ios::binary) << c.object;
  EXPECT_EQ(std::system(("bpftool btf dump file " + obj.string() + " > /dev/null").c_str()), 0);
  EXPECT_EQ(std::system(("llvm-objdump-19 -d " + obj.string() + " > /dev/null").c_str()), 0);
  fs::remove(obj);
}

INSTANTIATE_TEST_SUITE_P(Policies, Shipped, ::testing::ValuesIn(shippedPolicies()),
                         [](const auto& info) {
                           std::string n = fs::path(info.param).stem().string();
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace mmp::test

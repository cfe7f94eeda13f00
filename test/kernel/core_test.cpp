// CO-RE, proven: policies compiled against another kernel's BTF (Debian's
// 6.1, whose struct layouts differ from the running kernel's) load and
// verify on the running kernel, because every kernel read is relocated.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "bpf_harness.h"

namespace mmp::test {
namespace {

namespace fs = std::filesystem;

// The 6.1 vmlinux from scripts/fetch-kernel (downloads once, then cached).
std::optional<std::string> otherKernel(std::string& why) {
  std::string cmd = std::string(MMP_TEST_SOURCE_DIR) + "/scripts/fetch-kernel 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    why = "cannot run scripts/fetch-kernel";
    return std::nullopt;
  }
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  int status = pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  std::string last = out.substr(out.rfind('\n') + 1);
  if (status != 0 || !fs::exists(last)) {
    why = "the Debian kernel package cannot be had: " + out;
    return std::nullopt;
  }
  return last;
}

TEST(Core, ObjectsBuiltForAnotherKernelLoadHere) {
  if (auto why = bpfUnavailable()) GTEST_SKIP() << "SKIPPED: " << *why;
  std::string why;
  auto vmlinux = otherKernel(why);
  if (!vmlinux) GTEST_SKIP() << "SKIPPED: " << why;
  for (const char* example : {"examples/design_card.mmp", "examples/web.mmp"}) {
    std::string path = std::string(MMP_TEST_SOURCE_DIR) + "/" + example;
    Compiled there = compileFile(path, *vmlinux);
    ASSERT_FALSE(there.object.empty()) << there.diagnostics;
    Compiled here = compileFile(path);
    ASSERT_FALSE(here.object.empty()) << here.diagnostics;
    // Different layouts went in (offsets in the code and in the BTF)...
    EXPECT_NE(there.object, here.object) << example;
    // ...and the relocated object verifies on the running kernel.
    std::string error;
    auto loaded = LoadedPolicy::load(there, error);
    ASSERT_TRUE(loaded) << example << ": " << error;
    auto d = loaded->replay(1'000'000'000, 5, ~0ull, {{"memcg.pressure", 99'000}});
    EXPECT_FALSE(d.empty()) << example;
  }
}

// A field the kernels lay out differently: oom.victim.rss is per-CPU
// counters on 6.2 and later, struct mm_rss_stat's atomics on 6.1 (kernel
// bindings: `or`, `types`). The object compiled here reads both ways and
// verifies here, the 6.1 way's failed relocations standing in dead code
// behind a field-existence test; compiled against 6.1's BTF, only the 6.1
// way resolves, and it verifies here too.
TEST(Core, AFieldWithTwoLayoutsLoadsCompiledHereOrAgainst61) {
  if (auto why = bpfUnavailable()) GTEST_SKIP() << "SKIPPED: " << *why;
  const char* text = "policy layouts\non oom log \"victim {oom.victim.pid} rss {oom.victim.rss}\"\n";
  Compiled here = compilePolicy(text);
  ASSERT_FALSE(here.object.empty()) << here.diagnostics;
  std::string error;
  EXPECT_TRUE(LoadedPolicy::load(here, error)) << error;
  std::string why;
  auto vmlinux = otherKernel(why);
  if (!vmlinux) GTEST_SKIP() << "SKIPPED: " << why;
  Compiled there = compilePolicy(text, "test.mmp", *vmlinux);
  ASSERT_FALSE(there.object.empty()) << there.diagnostics;
  EXPECT_TRUE(LoadedPolicy::load(there, error)) << error;
}

// memory.stat's counters: indexed by the counter on 6.1 (memcg_vmstats's
// `state` has MEMCG_NR_STAT slots there), compacted here (6.11 on). The
// slot is mmrun's to work out at load time (runtime/stat_slots.h), not the
// compiler's: an object compiled against 6.1's BTF loads here with this
// kernel's slot (Record.MemoryStatCountersReadTheRunningKernelsSlots
// checks the values read against memory.stat).
TEST(Core, MemoryStatCountersCompiledAgainst61LoadHere) {
  if (auto why = bpfUnavailable()) GTEST_SKIP() << "SKIPPED: " << *why;
  std::string why;
  auto vmlinux = otherKernel(why);
  if (!vmlinux) GTEST_SKIP() << "SKIPPED: " << why;
  const char* text = "policy stat\nwhen memcg.anon + memcg.file > 1B and memcg.refault.anon >= 0 log \"{memcg.anon}\"\n";
  Compiled there = compilePolicy(text, "test.mmp", *vmlinux);
  ASSERT_FALSE(there.object.empty()) << there.diagnostics;
  std::string error;
  EXPECT_TRUE(LoadedPolicy::load(there, error)) << error;
}

}  // namespace
}  // namespace mmp::test

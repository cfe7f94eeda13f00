// CO-RE, proven: policies compiled against another kernel's BTF (Debian's
// 6.1, whose struct layouts differ from the running kernel's) load and
// verify on the running kernel, because every kernel read is relocated;
// and the memcg's fields take the fastest path the running kernel allows.
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

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

// A helper's call as the kernel's translated program shows it: the
// helper's address less __bpf_call_base (/proc/kallsyms); 0 where the
// addresses are hidden.
int32_t helperImm(const std::string& helper) {
  std::ifstream in("/proc/kallsyms");
  uint64_t fn = 0, base = 0, addr = 0;
  std::string type, name;
  while (in >> std::hex >> addr >> type >> name) {
    if (name == helper) fn = addr;
    if (name == "__bpf_call_base") base = addr;
    in.ignore(1 << 10, '\n');
  }
  return fn && base ? static_cast<int32_t>(fn - base) : 0;
}

// The memcg's fields are direct loads through the kfunc bpf_rdonly_cast
// where the kernel has it (6.2+: this host), bpf_probe_read_kernel where it
// does not (test/vm's core scenario on Debian's 6.1 reads them so): the
// program the kernel runs has no probe read left (the verifier drops the
// branch not taken, and inlines the cast itself as a register move).
TEST(Core, MemcgFieldsAreDirectLoadsWhereTheKernelHasRdonlyCast) {
  if (auto why = bpfUnavailable()) GTEST_SKIP() << "SKIPPED: " << *why;
  if (!kernelHasFunction("bpf_rdonly_cast"))
    GTEST_SKIP() << "SKIPPED: this kernel has no bpf_rdonly_cast (before 6.2): the memcg's fields are probe reads";
  int32_t probeRead = helperImm("bpf_probe_read_kernel"), clock = helperImm("bpf_ktime_get_ns");
  if (!probeRead || !clock) GTEST_SKIP() << "SKIPPED: /proc/kallsyms hides the helpers' addresses";
  Compiled c = compilePolicy("policy direct\nwhen memcg.usage > 90% and memcg.swap > memcg.high log \"{memcg.usage}\"\n");
  ASSERT_FALSE(c.object.empty()) << c.diagnostics;
  std::string error;
  auto policy = LoadedPolicy::load(c, error);
  ASSERT_TRUE(policy) << error;
  for (const char* program : {"mmp_tick", "mmp_memcg_reclaim"}) {
    auto insns = policy->translated(program);
    ASSERT_FALSE(insns.empty()) << program;
    int probeReads = 0, clocks = 0;
    for (const auto& i : insns) {
      if (i.code != (BPF_JMP | BPF_CALL) || i.src_reg != 0) continue;
      probeReads += i.imm == probeRead;
      clocks += i.imm == clock;
    }
    EXPECT_GE(clocks, 1) << program << ": the helpers' calls are not recognised";
    EXPECT_EQ(probeReads, 0) << program << ": the memcg's fields are still probe reads";
  }
}

}  // namespace
}  // namespace mmp::test

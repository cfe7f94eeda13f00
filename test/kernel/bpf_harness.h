// Test harness for compiled policies in the running kernel: compile a
// policy in-process, load it with libbpf, run the replay program on
// snapshots with BPF_PROG_TEST_RUN, and read back the decisions.
#pragma once

#include <bpf/libbpf.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "abi/mmp_abi.h"
#include "abi/mmp_counters.h"
#include "abi/mmp_record.h"

namespace mmp::test {

// Why BPF cannot be loaded by this process, or nothing if it can.
std::optional<std::string> bpfUnavailable();
// Whether the running kernel's BTF has the function (a kfunc) `name`.
bool kernelHasFunction(const std::string& name);

struct Compiled {
  std::string object;       // ELF bytes; empty on failure
  std::string diagnostics;  // rendered diagnostics
  std::string manifest;
};

// Compiles policy text (the file name only shows in messages).
Compiled compilePolicy(const std::string& text, const std::string& name = "test.mmp",
                       const std::string& btfPath = "");
Compiled compileFile(const std::string& path, const std::string& btfPath = "");

class LoadedPolicy {
public:
  ~LoadedPolicy();
  // Opens and loads the object into the kernel, its snapshot channel on
  // when `record`; the error says why not.
  static std::unique_ptr<LoadedPolicy> load(const Compiled& compiled, std::string& error, bool record = false);

  // Runs the replay program on one snapshot, whose fields are given by
  // name (the manifest's layout; fields left out are 0); returns the
  // decisions it made.
  std::vector<struct mmp_decision> replay(uint64_t timeNs, uint64_t cgroupId, uint64_t scopeMask,
                                          const std::map<std::string, uint64_t>& fields);
  // The same on a whole struct mmp_snapshot (header and fields, as the
  // snapshot channel sends it).
  std::vector<struct mmp_decision> replayWords(const std::vector<uint64_t>& snapshot);
  // The decisions waiting in the ring buffer (those of attached programs).
  std::vector<struct mmp_decision> drainDecisions();
  struct mmp_rule_counters counters(uint32_t rule);
  // Verified instruction count of each program, by name.
  std::vector<std::pair<std::string, uint32_t>> programSizes();
  // The program `name` as the kernel runs it (after the verifier dropped
  // the code no path reaches): its translated instructions.
  std::vector<struct bpf_insn> translated(const std::string& name);
  struct bpf_object* object() { return obj_; }

private:
  struct bpf_object* obj_ = nullptr;
  struct ring_buffer* rb_ = nullptr;
  std::vector<struct mmp_decision> pending_;
  std::vector<std::string> layout_;  // snapshot field names, in order
  static int onDecision(void* self, void* data, size_t size);
};

}  // namespace mmp::test

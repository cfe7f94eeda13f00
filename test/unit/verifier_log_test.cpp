// mmrun's one-line account of a verifier refusal (runtime/verifier_log.cpp).
#include "verifier_log.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace mmp::runtime {
namespace {

TEST(VerifierVerdict, NamesTheProgramTheVerdictAndWhatToDo) {
  std::string log =
      "libbpf: prog 'mmp_tick': BPF program load failed: Argument list too long\n"
      "libbpf: prog 'mmp_tick': -- BEGIN PROG LOAD LOG --\n"
      "too many subprograms\n"
      "processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n"
      "-- END PROG LOAD LOG --\n"
      "libbpf: prog 'mmp_tick': failed to load: -7\n";
  std::string v = verifierVerdict(log, E2BIG);
  EXPECT_NE(v.find("program `mmp_tick`: too many subprograms (Argument list too long)"), std::string::npos) << v;
  EXPECT_NE(v.find("split it into several policies"), std::string::npos) << v;
}

TEST(VerifierVerdict, ComplexityLimit) {
  std::string log =
      "libbpf: prog 'mmp_memcg_reclaim': BPF program load failed: Argument list too long\n"
      "libbpf: prog 'mmp_memcg_reclaim': -- BEGIN PROG LOAD LOG --\n"
      "1234: (85) call bpf_map_lookup_elem#1\n"
      "BPF program is too large. Processed 1000001 insn\n"
      "processed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 1 peak_states 1 mark_read 1\n"
      "-- END PROG LOAD LOG --\n";
  std::string v = verifierVerdict(log, E2BIG);
  EXPECT_NE(v.find("program `mmp_memcg_reclaim`: BPF program is too large. Processed 1000001 insn"), std::string::npos)
      << v;
  EXPECT_NE(v.find("insn_budget"), std::string::npos) << v;
}

TEST(VerifierVerdict, WithoutALogTheErrnoText) {
  EXPECT_EQ(verifierVerdict("", EPERM), "Operation not permitted");
}

}  // namespace
}  // namespace mmp::runtime

// Shared by the replay test files: exact expectations on decisions, and a
// fixture that compiles, loads and replays a policy.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bpf_harness.h"

namespace mmp::test {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kPct = 1000;  // 1% in a snapshot (thousandths of a percent)
constexpr uint64_t kKiB = 1ULL << 10;
constexpr uint64_t kMiB = 1ULL << 20;
constexpr uint64_t kGiB = 1ULL << 30;
constexpr uint64_t kTiB = 1ULL << 40;
constexpr uint64_t kUnl = MMP_UNLIMITED;
// A cooldown of 1 s or more ends this much early (docs/language.md §6).
constexpr uint64_t kEarly = 50'000'000;

// One expected decision, every field of struct mmp_decision.
struct Want {
  uint16_t action;
  uint32_t rule = 0;
  uint64_t cgroup = 0;
  uint64_t time = 0;
  uint64_t arg = 0;
  uint32_t flags = 0;
  uint32_t index = 0;
  std::array<uint64_t, MMP_MAX_VALUES> values{};
};

inline std::string show(uint16_t version, uint16_t action, uint32_t rule, uint64_t cgroup, uint64_t time, uint64_t arg,
                 uint32_t flags, uint32_t index, const std::array<uint64_t, MMP_MAX_VALUES>& values) {
  std::ostringstream os;
  os << "v" << version << " action=" << action << " rule=" << rule << " cgroup=" << cgroup << " time=" << time
     << " arg=" << arg << " flags=0x" << std::hex << flags << std::dec << " index=" << index << " values=[";
  for (int i = 0; i < MMP_MAX_VALUES; ++i) os << (i ? "," : "") << values[i];
  return os.str() + "]";
}

inline std::string show(const struct mmp_decision& d) {
  std::array<uint64_t, MMP_MAX_VALUES> values;
  for (int i = 0; i < MMP_MAX_VALUES; ++i) values[i] = d.values[i];
  return show(d.version, d.action, d.rule, d.cgroup_id, d.time_ns, d.arg, d.flags, d.action_index, values);
}

inline std::string show(const Want& w) {
  return show(MMP_DECISION_VERSION, w.action, w.rule, w.cgroup, w.time, w.arg, w.flags, w.index, w.values);
}

// The decisions, exactly: their number, order and every field.
inline void expectDecisions(const std::vector<struct mmp_decision>& got, const std::vector<Want>& want) {
  std::vector<std::string> g, w;
  for (const auto& d : got) g.push_back(show(d));
  for (const auto& d : want) w.push_back(show(d));
  EXPECT_EQ(g, w);
}

#define LOAD(text)                     \
  do {                                 \
    load(text);                        \
    if (HasFatalFailure()) return;     \
  } while (0)

using Fields = std::map<std::string, uint64_t>;

class ReplayFixture : public ::testing::Test {
protected:
  void SetUp() override {
    if (auto why = bpfUnavailable()) GTEST_SKIP() << "SKIPPED: " << *why;
  }
  void load(const std::string& text) {
    Compiled c = compilePolicy(text);
    ASSERT_FALSE(c.object.empty()) << c.diagnostics;
    std::string error;
    policy_ = LoadedPolicy::load(c, error);
    ASSERT_TRUE(policy_) << error;
  }
  // One memcg evaluation (scope bit 0).
  std::vector<struct mmp_decision> run(uint64_t t, uint64_t cgroup, const Fields& f) {
    return policy_->replay(t, cgroup, 1, f);
  }
  std::unique_ptr<LoadedPolicy> policy_;
};

}  // namespace mmp::test

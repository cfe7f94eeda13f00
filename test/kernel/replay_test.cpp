// The compiled logic, run in the kernel through the replay program with
// synthetic snapshots: exact decisions at the boundaries.
#include <gtest/gtest.h>

#include "bpf_harness.h"

namespace mmp::test {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kEarly = 50'000'000;  // a cooldown of 1 s or more ends this much early
constexpr uint64_t kMilliPercent = 1000;  // 1% in a snapshot
constexpr uint64_t kMiB = 1 << 20;

class Replay : public ::testing::Test {
protected:
  // Compiles and loads `text`; skips the test when BPF is unavailable.
  void load(const std::string& text) {
    if (auto why = bpfUnavailable()) GTEST_SKIP() << "SKIPPED: " << *why;
    Compiled c = compilePolicy(text);
    ASSERT_FALSE(c.object.empty()) << c.diagnostics;
    std::string error;
    policy_ = LoadedPolicy::load(c, error);
    ASSERT_TRUE(policy_) << error;
  }
  std::unique_ptr<LoadedPolicy> policy_;
};

TEST_F(Replay, ThresholdIsStrict) {
  load("policy p\nwhen memcg.pressure > 60% reclaim anon first\n");
  EXPECT_TRUE(policy_->replay(10 * kSec, 42, 1, {{"memcg.pressure", 60 * kMilliPercent}}).empty());
  auto d = policy_->replay(20 * kSec, 42, 1, {{"memcg.pressure", 60 * kMilliPercent + 1}});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].action, MMP_ACTION_RECLAIM);
  EXPECT_EQ(d[0].cgroup_id, 42u);
  EXPECT_EQ(d[0].rule, 0u);
  EXPECT_EQ(d[0].time_ns, 20 * kSec);
  EXPECT_EQ(d[0].flags & (MMP_RECLAIM_ANON | MMP_RECLAIM_FIRST), MMP_RECLAIM_ANON | MMP_RECLAIM_FIRST);
  EXPECT_EQ(d[0].values[0], 60 * kMilliPercent + 1);
  EXPECT_EQ(policy_->counters(0).evaluations, 2u);
  EXPECT_EQ(policy_->counters(0).firings, 1u);
}

TEST_F(Replay, OutOfScopeIsNotEvaluated) {
  load("policy p\nwhen memcg.pressure > 60% reclaim\n");
  EXPECT_TRUE(policy_->replay(10 * kSec, 42, 0, {{"memcg.pressure", 90 * kMilliPercent}}).empty());
  EXPECT_EQ(policy_->counters(0).evaluations, 0u);
}

TEST_F(Replay, CooldownDefaultsToOneSecondForReclaim) {
  load("policy p\nwhen memcg.pressure > 60% reclaim\n");
  EXPECT_EQ(policy_->replay(10 * kSec, 7, 1, {{"memcg.pressure", 90 * kMilliPercent}}).size(), 1u);
  EXPECT_TRUE(policy_->replay(10 * kSec + kSec - kEarly - 1, 7, 1, {{"memcg.pressure", 90 * kMilliPercent}}).empty());
  EXPECT_EQ(policy_->replay(11 * kSec, 7, 1, {{"memcg.pressure", 90 * kMilliPercent}}).size(), 1u);
  // Another cgroup has its own cooldown.
  EXPECT_EQ(policy_->replay(11 * kSec, 8, 1, {{"memcg.pressure", 90 * kMilliPercent}}).size(), 1u);
}

TEST_F(Replay, ForNeedsTheConditionAtEveryEvaluation) {
  load("policy p\nwhen memcg.pressure > 50% for 10s reclaim\n");
  EXPECT_TRUE(policy_->replay(100 * kSec, 1, 1, {{"memcg.pressure", 60 * kMilliPercent}}).empty());
  EXPECT_TRUE(policy_->replay(105 * kSec, 1, 1, {{"memcg.pressure", 60 * kMilliPercent}}).empty());
  EXPECT_EQ(policy_->replay(110 * kSec, 1, 1, {{"memcg.pressure", 60 * kMilliPercent}}).size(), 1u);
  // A false evaluation resets the hold.
  EXPECT_TRUE(policy_->replay(112 * kSec, 1, 1, {{"memcg.pressure", 10 * kMilliPercent}}).empty());
  EXPECT_TRUE(policy_->replay(115 * kSec, 1, 1, {{"memcg.pressure", 60 * kMilliPercent}}).empty());
  EXPECT_TRUE(policy_->replay(124 * kSec, 1, 1, {{"memcg.pressure", 60 * kMilliPercent}}).empty());
  EXPECT_EQ(policy_->replay(125 * kSec, 1, 1, {{"memcg.pressure", 60 * kMilliPercent}}).size(), 1u);
}

TEST_F(Replay, ImpliedWholeAndUnlimited) {
  load("policy p\nwhen memcg.usage > 90% throttle to 95% of memcg.max\n");
  EXPECT_TRUE(policy_->replay(10 * kSec, 1, 1, {{"memcg.usage", 900 * kMiB}, {"memcg.max", 1000 * kMiB}}).empty());
  auto d = policy_->replay(20 * kSec, 1, 1, {{"memcg.usage", 900 * kMiB + 1}, {"memcg.max", 1000 * kMiB}});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].action, MMP_ACTION_THROTTLE);
  EXPECT_EQ(d[0].arg, 950 * kMiB);
  // An unlimited max never makes usage "over 90%".
  EXPECT_TRUE(policy_->replay(40 * kSec, 2, 1, {{"memcg.usage", ~0ull - 1}, {"memcg.max", MMP_UNLIMITED}}).empty());
}

TEST_F(Replay, SaturatingSubtraction) {
  load("policy p\nwhen memcg.usage - memcg.low > 1GiB reclaim\n");
  EXPECT_TRUE(policy_->replay(10 * kSec, 1, 1, {{"memcg.usage", 100 * kMiB}, {"memcg.low", 500 * kMiB}}).empty());
  EXPECT_TRUE(policy_->replay(20 * kSec, 1, 1, {{"memcg.usage", 1025 * kMiB}, {"memcg.low", 1 * kMiB}}).empty());
  EXPECT_EQ(policy_->replay(30 * kSec, 1, 1, {{"memcg.usage", 1025 * kMiB + 1}, {"memcg.low", 1 * kMiB}}).size(), 1u);
}

TEST_F(Replay, SeveralActionsAndRules) {
  load("policy p\n"
       "when memcg.pressure > 10% reclaim 64MiB file only, log \"p={memcg.pressure}\"\n"
       "when memcg.pressure > 20% throttle to 1GiB\n");
  auto d = policy_->replay(10 * kSec, 3, 1, {{"memcg.pressure", 30 * kMilliPercent}});
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].action, MMP_ACTION_RECLAIM);
  EXPECT_EQ(d[0].arg, 64 * kMiB);
  EXPECT_EQ(d[1].action, MMP_ACTION_LOG);
  EXPECT_EQ(d[1].action_index, 1u);
  EXPECT_EQ(d[1].values[0], 30 * kMilliPercent);
  EXPECT_EQ(d[2].action, MMP_ACTION_THROTTLE);
  EXPECT_EQ(d[2].rule, 1u);
  EXPECT_EQ(d[2].arg, 1024 * kMiB);
}

}  // namespace
}  // namespace mmp::test

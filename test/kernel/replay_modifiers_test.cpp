// Replay cases for the modifiers: `for`, cooldown (explicit and default),
// `unless`, `at most N per D`, counters and scope bits (docs/language.md 6).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "replay_fixture.h"

namespace mmp::test {
namespace {

class ReplayModifiers : public ReplayFixture {
protected:
  // One memcg evaluation of `cgroup` with memcg.pressure = `pressure`.
  std::vector<struct mmp_decision> hot(uint64_t t, uint64_t cgroup, uint64_t pressure = 60 * kPct,
                                       uint64_t mask = 1) {
    return policy_->replay(t, cgroup, mask, {{"memcg.pressure", pressure}});
  }
};

constexpr uint32_t kDefault = MMP_ARG_DEFAULT;
constexpr uint64_t kHot = 60 * kPct;
constexpr uint64_t kCold = 10 * kPct;

Want reclaimAt(uint64_t cgroup, uint64_t t, uint64_t pressure = kHot, uint32_t rule = 0) {
  return {.action = MMP_ACTION_RECLAIM, .rule = rule, .cgroup = cgroup, .time = t, .flags = kDefault,
          .values = {pressure}};
}

Want throttleAt(uint64_t cgroup, uint64_t t, uint64_t bytes = kGiB, uint32_t rule = 0) {
  return {.action = MMP_ACTION_THROTTLE, .rule = rule, .cgroup = cgroup, .time = t, .arg = bytes, .values = {kHot}};
}

// ---- for D ----

TEST_F(ReplayModifiers, ForHoldsExactlyD) {
  LOAD("policy p\nwhen memcg.pressure > 50% for 10s reclaim\n");
  expectDecisions(hot(100 * kSec, 1), {});
  expectDecisions(hot(105 * kSec, 1), {});
  expectDecisions(hot(110 * kSec - 1, 1), {});
  expectDecisions(hot(110 * kSec, 1), {reclaimAt(1, 110 * kSec)});
}

TEST_F(ReplayModifiers, ForIsResetByAFalseEvaluation) {
  LOAD("policy p\nwhen memcg.pressure > 50% for 10s reclaim\n");
  expectDecisions(hot(100 * kSec, 1), {});
  expectDecisions(hot(105 * kSec, 1, kCold), {});
  expectDecisions(hot(106 * kSec, 1), {});
  expectDecisions(hot(110 * kSec, 1), {});  // 10s after the first true, but not held since
  expectDecisions(hot(116 * kSec - 1, 1), {});
  expectDecisions(hot(116 * kSec, 1), {reclaimAt(1, 116 * kSec)});
}

TEST_F(ReplayModifiers, ForIsPerCgroup) {
  LOAD("policy p\nwhen memcg.pressure > 50% for 10s reclaim\n");
  expectDecisions(hot(100 * kSec, 1), {});
  expectDecisions(hot(104 * kSec, 2), {});
  expectDecisions(hot(110 * kSec, 1), {reclaimAt(1, 110 * kSec)});
  expectDecisions(hot(111 * kSec, 2), {});  // held 7s
  expectDecisions(hot(113 * kSec, 1, kCold), {});  // resets cgroup 1 only
  expectDecisions(hot(114 * kSec, 2), {reclaimAt(2, 114 * kSec)});
}

TEST_F(ReplayModifiers, ForCountsTheConditionNotTheUnless) {
  // `for D` holds the `when` condition; `unless` only stops the firing while
  // it holds (docs section 6), so it does not restart the hold.
  LOAD("policy p\nwhen memcg.pressure > 50% for 10s reclaim unless system.pressure.full > 50%\n");
  auto eval = [&](uint64_t t, uint64_t full) {
    return policy_->replay(t, 1, 1, {{"memcg.pressure", kHot}, {"system.pressure.full", full}});
  };
  expectDecisions(eval(100 * kSec, 0), {});
  expectDecisions(eval(105 * kSec, 60 * kPct), {});
  expectDecisions(eval(110 * kSec, 0), {reclaimAt(1, 110 * kSec)});
}

// ---- cooldown ----

TEST_F(ReplayModifiers, ExplicitCooldown) {
  LOAD("policy p\nwhen memcg.pressure > 50% reclaim cooldown 5s\n");
  expectDecisions(hot(10 * kSec, 1), {reclaimAt(1, 10 * kSec)});
  expectDecisions(hot(12 * kSec, 1), {});
  expectDecisions(hot(15 * kSec - kEarly - 1, 1), {});
  // 50 ms early: the next tick of a walk that reached the cgroup a little
  // sooner than the last one fires.
  expectDecisions(hot(15 * kSec - kEarly, 1), {reclaimAt(1, 15 * kSec - kEarly)});
}

TEST_F(ReplayModifiers, ACooldownEndsATwentiethEarlyAtMost50ms) {
  LOAD("policy p\nwhen memcg.pressure > 50% reclaim cooldown 400ms\n");
  expectDecisions(hot(10 * kSec, 1), {reclaimAt(1, 10 * kSec)});
  expectDecisions(hot(10 * kSec + 380'000'000 - 1, 1), {});  // 400 ms / 20 = 20 ms early
  expectDecisions(hot(10 * kSec + 380'000'000, 1), {reclaimAt(1, 10 * kSec + 380'000'000)});
}

TEST_F(ReplayModifiers, ExplicitCooldownShorterThanTheDefault) {
  LOAD("policy p\nwhen memcg.pressure > 50% throttle to 1GiB cooldown 2s\n");
  expectDecisions(hot(10 * kSec, 1), {throttleAt(1, 10 * kSec)});
  expectDecisions(hot(12 * kSec - kEarly - 1, 1), {});
  expectDecisions(hot(12 * kSec, 1), {throttleAt(1, 12 * kSec)});
}

TEST_F(ReplayModifiers, DefaultCooldownOfThrottleIsTenSeconds) {
  LOAD("policy p\nwhen memcg.pressure > 50% throttle to 1GiB\n");
  expectDecisions(hot(10 * kSec, 1), {throttleAt(1, 10 * kSec)});
  expectDecisions(hot(11 * kSec, 1), {});
  expectDecisions(hot(20 * kSec - kEarly - 1, 1), {});
  expectDecisions(hot(20 * kSec, 1), {throttleAt(1, 20 * kSec)});
}

TEST_F(ReplayModifiers, DefaultCooldownOfLimitIsTenSeconds) {
  LOAD("policy p\nset allow_limit = true\nwhen memcg.pressure > 50% limit to 2GiB\n");
  Want w{.action = MMP_ACTION_LIMIT, .cgroup = 1, .time = 10 * kSec, .arg = 2 * kGiB, .values = {kHot}};
  expectDecisions(hot(10 * kSec, 1), {w});
  expectDecisions(hot(20 * kSec - kEarly - 1, 1), {});
  w.time = 20 * kSec;
  expectDecisions(hot(20 * kSec, 1), {w});
}

TEST_F(ReplayModifiers, DefaultCooldownOfUnthrottleIsTenSeconds) {
  LOAD("policy p\nwhen memcg.pressure < 5% unthrottle\n");
  auto strip = [](std::vector<struct mmp_decision> d) {
    // Whether unthrottle also carries MMP_ARG_UNLIMITED is not settled by the docs.
    for (auto& x : d) x.flags &= ~static_cast<uint32_t>(MMP_ARG_UNLIMITED);
    return d;
  };
  Want w{.action = MMP_ACTION_UNTHROTTLE, .cgroup = 1, .time = 10 * kSec, .values = {kPct}};
  expectDecisions(strip(hot(10 * kSec, 1, kPct)), {w});
  expectDecisions(hot(20 * kSec - kEarly - 1, 1, kPct), {});
  w.time = 20 * kSec;
  expectDecisions(strip(hot(20 * kSec, 1, kPct)), {w});
}

TEST_F(ReplayModifiers, DefaultCooldownOfKillIsThirtySeconds) {
  LOAD("policy p\nwhen memcg.pressure > 50% for 1s kill\n");
  Want w{.action = MMP_ACTION_KILL, .cgroup = 1, .time = 11 * kSec, .flags = MMP_KILL_LARGEST, .values = {kHot}};
  expectDecisions(hot(10 * kSec, 1), {});
  expectDecisions(hot(11 * kSec, 1), {w});
  expectDecisions(hot(30 * kSec, 1), {});
  expectDecisions(hot(41 * kSec - kEarly - 1, 1), {});
  w.time = 41 * kSec;
  expectDecisions(hot(41 * kSec, 1), {w});
}

TEST_F(ReplayModifiers, DefaultCooldownOfLogIsOneSecond) {
  LOAD("policy p\nwhen memcg.pressure > 50% log \"hot\"\n");
  Want w{.action = MMP_ACTION_LOG, .cgroup = 1, .time = 10 * kSec};
  expectDecisions(hot(10 * kSec, 1), {w});
  expectDecisions(hot(11 * kSec - kEarly - 1, 1), {});
  w.time = 11 * kSec;
  expectDecisions(hot(11 * kSec, 1), {w});
}

TEST_F(ReplayModifiers, SeveralActionsTakeTheLongestDefault) {
  LOAD("policy p\nwhen memcg.pressure > 50% reclaim, log \"hot\", throttle to 1GiB\n");
  auto all = [](uint64_t t) {
    return std::vector<Want>{
        {.action = MMP_ACTION_RECLAIM, .cgroup = 1, .time = t, .flags = kDefault, .index = 0, .values = {kHot}},
        {.action = MMP_ACTION_LOG, .cgroup = 1, .time = t, .index = 1},
        {.action = MMP_ACTION_THROTTLE, .cgroup = 1, .time = t, .arg = kGiB, .index = 2, .values = {kHot}}};
  };
  expectDecisions(hot(10 * kSec, 1), all(10 * kSec));
  expectDecisions(hot(11 * kSec, 1), {});  // not reclaim's or log's 1s
  expectDecisions(hot(20 * kSec - kEarly - 1, 1), {});
  expectDecisions(hot(20 * kSec, 1), all(20 * kSec));
}

TEST_F(ReplayModifiers, ReclaimAndKillTakeKillsDefault) {
  LOAD("policy p\nwhen memcg.pressure > 50% for 1s reclaim 1MiB, kill oldest cgroup\n");
  auto both = [](uint64_t t) {
    return std::vector<Want>{
        {.action = MMP_ACTION_RECLAIM, .cgroup = 1, .time = t, .arg = kMiB, .index = 0, .values = {kHot}},
        {.action = MMP_ACTION_KILL, .cgroup = 1, .time = t, .flags = MMP_KILL_OLDEST | MMP_KILL_CGROUP, .index = 1,
         .values = {kHot}}};
  };
  expectDecisions(hot(10 * kSec, 1), {});
  expectDecisions(hot(11 * kSec, 1), both(11 * kSec));
  expectDecisions(hot(21 * kSec, 1), {});
  expectDecisions(hot(41 * kSec - kEarly - 1, 1), {});
  expectDecisions(hot(41 * kSec, 1), both(41 * kSec));
}

TEST_F(ReplayModifiers, CooldownIsPerCgroup) {
  LOAD("policy p\nwhen memcg.pressure > 50% throttle to 1GiB\n");
  expectDecisions(hot(10 * kSec, 1), {throttleAt(1, 10 * kSec)});
  expectDecisions(hot(11 * kSec, 2), {throttleAt(2, 11 * kSec)});
  expectDecisions(hot(15 * kSec, 1), {});
  expectDecisions(hot(20 * kSec, 1), {throttleAt(1, 20 * kSec)});
  expectDecisions(hot(21 * kSec - kEarly - 1, 2), {});
  expectDecisions(hot(21 * kSec, 2), {throttleAt(2, 21 * kSec)});
}

// ---- unless ----

TEST_F(ReplayModifiers, UnlessWithAMemcgField) {
  LOAD("policy p\nwhen memcg.pressure > 50% reclaim unless memcg.usage < 1GiB\n");
  expectDecisions(policy_->replay(10 * kSec, 1, 1, {{"memcg.pressure", kHot}, {"memcg.usage", kGiB - 1}}), {});
  expectDecisions(policy_->replay(11 * kSec, 2, 1, {{"memcg.pressure", kHot}, {"memcg.usage", kGiB}}),
                  {reclaimAt(2, 11 * kSec)});
  EXPECT_EQ(policy_->counters(0).evaluations, 2u);
  EXPECT_EQ(policy_->counters(0).firings, 1u);
}

TEST_F(ReplayModifiers, UnlessWithASystemField) {
  LOAD("policy p\nwhen memcg.pressure > 50% reclaim unless system.pressure.full > 50%\n");
  expectDecisions(policy_->replay(10 * kSec, 1, 1, {{"memcg.pressure", kHot}, {"system.pressure.full", 50 * kPct + 1}}),
                  {});
  expectDecisions(policy_->replay(11 * kSec, 1, 1, {{"memcg.pressure", kHot}, {"system.pressure.full", 50 * kPct}}),
                  {reclaimAt(1, 11 * kSec)});
}

TEST_F(ReplayModifiers, UnlessInASystemRule) {
  LOAD("policy p\nwhen system.memory.available < 10% log \"low\" unless system.swap.free > 50%\n");
  Fields f{{"system.memory.available", kGiB / 2}, {"system.memory.total", 10 * kGiB},
           {"system.swap.free", 5 * kGiB + 1}, {"system.swap.total", 10 * kGiB}};
  expectDecisions(policy_->replay(10 * kSec, 0, 1, f), {});
  f["system.swap.free"] = 5 * kGiB;
  expectDecisions(policy_->replay(11 * kSec, 0, 1, f),
                  {{.action = MMP_ACTION_LOG, .cgroup = 0, .time = 11 * kSec, .flags = MMP_SUBJECT_SYSTEM}});
}

// ---- at most N per D ----

TEST_F(ReplayModifiers, AtMostBoundsFiringsAcrossCgroups) {
  LOAD("policy p\nwhen memcg.pressure > 50% reclaim at most 2 per 10s\n");
  expectDecisions(hot(100 * kSec, 1), {reclaimAt(1, 100 * kSec)});
  expectDecisions(hot(101 * kSec, 2), {reclaimAt(2, 101 * kSec)});
  expectDecisions(hot(102 * kSec, 3), {});
  expectDecisions(hot(110 * kSec - 1, 4), {});
  expectDecisions(hot(110 * kSec, 3), {reclaimAt(3, 110 * kSec)});
  expectDecisions(hot(111 * kSec, 4), {reclaimAt(4, 111 * kSec)});
  expectDecisions(hot(112 * kSec, 5), {});
  EXPECT_EQ(policy_->counters(0).evaluations, 7u);
  EXPECT_EQ(policy_->counters(0).firings, 4u);
}

TEST_F(ReplayModifiers, AtMostWindowEndsAfterD) {
  LOAD("policy p\nwhen memcg.pressure > 50% reclaim at most 1 per 1min\n");
  expectDecisions(hot(10 * kSec, 1), {reclaimAt(1, 10 * kSec)});
  expectDecisions(hot(11 * kSec, 1), {});  // the cooldown (1s) is over, the window is not
  expectDecisions(hot(40 * kSec, 2), {});
  expectDecisions(hot(70 * kSec - 1, 1), {});
  expectDecisions(hot(70 * kSec, 1), {reclaimAt(1, 70 * kSec)});
  expectDecisions(hot(71 * kSec, 2), {});
}

// ---- counters ----

TEST_F(ReplayModifiers, CountersCountEvaluationsAndFirings) {
  LOAD("policy p\nwhen memcg.pressure > 50% throttle to 1GiB\n");
  expectDecisions(hot(10 * kSec, 1), {throttleAt(1, 10 * kSec)});  // evaluated, fired
  expectDecisions(hot(11 * kSec, 1, kCold), {});                   // evaluated, false
  expectDecisions(hot(12 * kSec, 1), {});                          // evaluated, cooling down
  expectDecisions(hot(13 * kSec, 2, kHot, 0), {});                 // out of scope: not evaluated
  expectDecisions(hot(20 * kSec, 1), {throttleAt(1, 20 * kSec)});
  struct mmp_rule_counters c = policy_->counters(0);
  EXPECT_EQ(c.evaluations, 4u);
  EXPECT_EQ(c.firings, 2u);
  EXPECT_EQ(c.drops, 0u);
}

// ---- scopes ----

TEST_F(ReplayModifiers, TwoScopesHaveTheirOwnBits) {
  LOAD("policy p\n"
       "in \"/a.slice/*\" { when memcg.pressure > 50% reclaim }\n"
       "in \"/b.slice/*\" { when memcg.pressure > 50% throttle to 1GiB }\n");
  expectDecisions(hot(10 * kSec, 1, kHot, 1), {reclaimAt(1, 10 * kSec)});
  expectDecisions(hot(11 * kSec, 2, kHot, 2), {throttleAt(2, 11 * kSec, kGiB, 1)});
  expectDecisions(hot(12 * kSec, 3, kHot, 3), {reclaimAt(3, 12 * kSec), throttleAt(3, 12 * kSec, kGiB, 1)});
  expectDecisions(hot(13 * kSec, 4, kHot, 4), {});
  EXPECT_EQ(policy_->counters(0).evaluations, 2u);
  EXPECT_EQ(policy_->counters(1).evaluations, 2u);
}

TEST_F(ReplayModifiers, UnscopedRulesShareOneBit) {
  LOAD("policy p\n"
       "when memcg.pressure > 50% reclaim\n"
       "in \"/a.slice/*\" { when memcg.pressure > 50% log \"a\" }\n"
       "when memcg.pressure > 55% throttle to 1GiB\n");
  expectDecisions(hot(10 * kSec, 1, kHot, 1), {reclaimAt(1, 10 * kSec), throttleAt(1, 10 * kSec, kGiB, 2)});
  expectDecisions(hot(11 * kSec, 2, kHot, 2),
                  {{.action = MMP_ACTION_LOG, .rule = 1, .cgroup = 2, .time = 11 * kSec}});
  EXPECT_EQ(policy_->counters(0).evaluations, 1u);
  EXPECT_EQ(policy_->counters(1).evaluations, 1u);
  EXPECT_EQ(policy_->counters(2).evaluations, 1u);
}

}  // namespace
}  // namespace mmp::test

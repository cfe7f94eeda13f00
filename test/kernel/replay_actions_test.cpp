// Replay cases for the actions: order and action_index, log values,
// several rules, system rules, reclaim amounts, kill flags (docs 6 and 7).
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

class ReplayActions : public ReplayFixture {};

constexpr uint64_t kHot = 60 * kPct;
constexpr uint32_t kSystem = MMP_SUBJECT_SYSTEM;

TEST_F(ReplayActions, SeveralActionsInOrder) {
  LOAD("policy p\n"
       "when memcg.pressure > 50% reclaim 64MiB file first, throttle to 90% of memcg.max,"
       " log \"p={memcg.pressure} u={memcg.usage}\"\n");
  Fields f{{"memcg.pressure", kHot}, {"memcg.max", 1000 * kMiB}, {"memcg.usage", 800 * kMiB}};
  auto all = [](uint64_t t) {
    return std::vector<Want>{
        {.action = MMP_ACTION_RECLAIM, .cgroup = 5, .time = t, .arg = 64 * kMiB,
         .flags = MMP_RECLAIM_FILE | MMP_RECLAIM_FIRST, .index = 0, .values = {kHot}},
        {.action = MMP_ACTION_THROTTLE, .cgroup = 5, .time = t, .arg = 900 * kMiB, .index = 1, .values = {kHot}},
        {.action = MMP_ACTION_LOG, .cgroup = 5, .time = t, .index = 2, .values = {kHot, 800 * kMiB}}};
  };
  expectDecisions(run(10 * kSec, 5, f), all(10 * kSec));
  expectDecisions(run(15 * kSec, 5, f), {});  // throttle's 10s
  expectDecisions(run(20 * kSec, 5, f), all(20 * kSec));
  EXPECT_EQ(policy_->counters(0).evaluations, 3u);
  EXPECT_EQ(policy_->counters(0).firings, 2u);
}

TEST_F(ReplayActions, LogCarriesItsInterpolatedValues) {
  LOAD("policy p\n"
       "when memcg.pressure > 50% log \"{{over}} {memcg.usage - memcg.low} {memcg.usage / memcg.max}"
       " {memcg.pressure.full} {memcg.pressure > 55%} {system.swap.free}\"\n");
  Fields f{{"memcg.pressure", kHot}, {"memcg.usage", 3 * kGiB}, {"memcg.low", kGiB},
           {"memcg.max", 4 * kGiB}, {"memcg.pressure.full", 5}, {"system.swap.free", 7 * kMiB}};
  expectDecisions(run(10 * kSec, 9, f), {{.action = MMP_ACTION_LOG, .cgroup = 9, .time = 10 * kSec,
                                          .values = {2 * kGiB, 75 * kPct, 5, 1, 7 * kMiB}}});
}

TEST_F(ReplayActions, SeveralRulesFireInSourceOrder) {
  LOAD("policy p\n"
       "when memcg.pressure > 10% reclaim 1MiB\n"
       "when memcg.pressure > 90% reclaim 2MiB\n"
       "when memcg.usage > 1GiB log \"big\"\n"
       "when memcg.pressure > 20% throttle to 2GiB\n");
  expectDecisions(run(10 * kSec, 3, {{"memcg.pressure", 50 * kPct}, {"memcg.usage", 2 * kGiB}}),
                  {{.action = MMP_ACTION_RECLAIM, .rule = 0, .cgroup = 3, .time = 10 * kSec, .arg = kMiB,
                    .values = {50 * kPct}},
                   {.action = MMP_ACTION_LOG, .rule = 2, .cgroup = 3, .time = 10 * kSec},
                   {.action = MMP_ACTION_THROTTLE, .rule = 3, .cgroup = 3, .time = 10 * kSec, .arg = 2 * kGiB,
                    .values = {50 * kPct}}});
  for (uint32_t r = 0; r < 4; ++r) EXPECT_EQ(policy_->counters(r).evaluations, 1u) << "rule " << r;
  EXPECT_EQ(policy_->counters(1).firings, 0u);
}

TEST_F(ReplayActions, SystemRuleActsForTheWholeScope) {
  LOAD("policy p\nwhen system.pressure.full > 20% reclaim 1GiB\n");
  expectDecisions(policy_->replay(10 * kSec, 0, 1, {{"system.pressure.full", 20 * kPct}}), {});
  expectDecisions(policy_->replay(11 * kSec, 0, 1, {{"system.pressure.full", 20 * kPct + 1}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 0, .time = 11 * kSec, .arg = kGiB, .flags = kSystem,
                    .values = {20 * kPct + 1}}});
  EXPECT_EQ(policy_->counters(0).evaluations, 2u);
  EXPECT_EQ(policy_->counters(0).firings, 1u);
}

TEST_F(ReplayActions, SystemAndMemcgRulesRunApart) {
  LOAD("policy p\n"
       "when memcg.pressure > 50% reclaim\n"
       "when system.pressure > 50% log \"sys {system.pressure}\"\n"
       "when memcg.pressure > 50% and system.pressure > 50% throttle to 1GiB\n");
  Fields f{{"memcg.pressure", kHot}, {"system.pressure", 70 * kPct}};
  expectDecisions(policy_->replay(10 * kSec, 0, 1, f),
                  {{.action = MMP_ACTION_LOG, .rule = 1, .cgroup = 0, .time = 10 * kSec, .flags = kSystem,
                    .values = {70 * kPct}}});
  expectDecisions(policy_->replay(11 * kSec, 42, 1, f),
                  {{.action = MMP_ACTION_RECLAIM, .rule = 0, .cgroup = 42, .time = 11 * kSec,
                    .flags = MMP_ARG_DEFAULT, .values = {kHot}},
                   {.action = MMP_ACTION_THROTTLE, .rule = 2, .cgroup = 42, .time = 11 * kSec, .arg = kGiB,
                    .values = {kHot, 70 * kPct}}});
  EXPECT_EQ(policy_->counters(0).evaluations, 1u);
  EXPECT_EQ(policy_->counters(1).evaluations, 1u);
  EXPECT_EQ(policy_->counters(2).evaluations, 1u);
}

TEST_F(ReplayActions, SystemKillHoldsAndCoolsDown) {
  LOAD("policy p\nwhen system.swap.free < 10% for 5s kill largest process\n");
  Fields f{{"system.swap.free", kGiB / 2}, {"system.swap.total", 10 * kGiB}};
  expectDecisions(policy_->replay(10 * kSec, 0, 1, f), {});
  expectDecisions(policy_->replay(15 * kSec, 0, 1, f),
                  {{.action = MMP_ACTION_KILL, .cgroup = 0, .time = 15 * kSec,
                    .flags = MMP_KILL_LARGEST | kSystem, .values = {kGiB / 2}}});
  expectDecisions(policy_->replay(16 * kSec, 0, 1, f), {});
  expectDecisions(policy_->replay(45 * kSec - kEarly - 1, 0, 1, f), {});
  expectDecisions(policy_->replay(45 * kSec, 0, 1, f),
                  {{.action = MMP_ACTION_KILL, .cgroup = 0, .time = 45 * kSec,
                    .flags = MMP_KILL_LARGEST | kSystem, .values = {kGiB / 2}}});
}

TEST_F(ReplayActions, ReclaimAmountForms) {
  LOAD("policy p\n"
       "when memcg.pressure > 50% reclaim 64MiB\n"
       "when memcg.pressure > 50% reclaim 5%\n"
       "when memcg.pressure > 50% reclaim\n"
       "when memcg.pressure > 50% reclaim 5% of memcg.usage\n"
       "when memcg.pressure > 50% reclaim 2 * 64MiB\n"
       "when memcg.pressure > 50% reclaim memcg.usage - memcg.low\n");
  auto d = run(10 * kSec, 4, {{"memcg.pressure", kHot}, {"memcg.usage", 1000 * kMiB}, {"memcg.low", 600 * kMiB}});
  auto w = [](uint32_t rule, uint64_t arg, uint32_t flags) {
    return Want{.action = MMP_ACTION_RECLAIM, .rule = rule, .cgroup = 4, .time = 10 * kSec, .arg = arg,
                .flags = flags, .values = {kHot}};
  };
  expectDecisions(d, {w(0, 64 * kMiB, 0), w(1, 5 * kPct, MMP_ARG_SHARE), w(2, 0, MMP_ARG_DEFAULT),
                      w(3, 50 * kMiB, 0), w(4, 128 * kMiB, 0), w(5, 400 * kMiB, 0)});
}

TEST_F(ReplayActions, ReclaimKindFlags) {
  LOAD("policy p\n"
       "when memcg.pressure > 50% reclaim anon\n"
       "when memcg.pressure > 50% reclaim file\n"
       "when memcg.pressure > 50% reclaim anon first\n"
       "when memcg.pressure > 50% reclaim anon only\n"
       "when memcg.pressure > 50% reclaim 1MiB file first\n"
       "when memcg.pressure > 50% reclaim 5% file only\n");
  auto w = [](uint32_t rule, uint64_t arg, uint32_t flags) {
    return Want{.action = MMP_ACTION_RECLAIM, .rule = rule, .cgroup = 4, .time = 10 * kSec, .arg = arg,
                .flags = flags, .values = {kHot}};
  };
  expectDecisions(run(10 * kSec, 4, {{"memcg.pressure", kHot}}),
                  {w(0, 0, MMP_RECLAIM_ANON | MMP_ARG_DEFAULT), w(1, 0, MMP_RECLAIM_FILE | MMP_ARG_DEFAULT),
                   w(2, 0, MMP_RECLAIM_ANON | MMP_RECLAIM_FIRST | MMP_ARG_DEFAULT),
                   w(3, 0, MMP_RECLAIM_ANON | MMP_RECLAIM_ONLY | MMP_ARG_DEFAULT),
                   w(4, kMiB, MMP_RECLAIM_FILE | MMP_RECLAIM_FIRST),
                   w(5, 5 * kPct, MMP_RECLAIM_FILE | MMP_RECLAIM_ONLY | MMP_ARG_SHARE)});
}

TEST_F(ReplayActions, KillPicksAndTargets) {
  const std::pair<const char*, uint32_t> forms[] = {
      {"kill", MMP_KILL_LARGEST},
      {"kill largest", MMP_KILL_LARGEST},
      {"kill oldest", MMP_KILL_OLDEST},
      {"kill youngest", MMP_KILL_YOUNGEST},
      {"kill growing", MMP_KILL_GROWING},
      {"kill process", MMP_KILL_LARGEST},
      {"kill cgroup", MMP_KILL_LARGEST | MMP_KILL_CGROUP},
      {"kill largest cgroup", MMP_KILL_LARGEST | MMP_KILL_CGROUP},
      {"kill oldest cgroup", MMP_KILL_OLDEST | MMP_KILL_CGROUP},
      {"kill youngest cgroup", MMP_KILL_YOUNGEST | MMP_KILL_CGROUP},
      {"kill growing cgroup", MMP_KILL_GROWING | MMP_KILL_CGROUP},
      {"kill growing process", MMP_KILL_GROWING},
  };
  for (const auto& [form, flags] : forms) {
    SCOPED_TRACE(form);
    LOAD(std::string("policy p\nwhen memcg.pressure > 50% ") + form + " cooldown 1s\n");
    expectDecisions(run(10 * kSec, 6, {{"memcg.pressure", kHot}}),
                    {{.action = MMP_ACTION_KILL, .cgroup = 6, .time = 10 * kSec, .flags = flags, .values = {kHot}}});
  }
}

TEST_F(ReplayActions, TwelveRulesFireInOneEvaluation) {
  // Nothing in the docs limits the number of rules (only E0400, instructions).
  std::string text = "policy p\n";
  std::vector<Want> want;
  for (uint32_t i = 0; i < 12; ++i) {
    text += "when memcg.pressure > " + std::to_string(i) + "% reclaim " + std::to_string(i + 1) + "MiB\n";
    want.push_back({.action = MMP_ACTION_RECLAIM, .rule = i, .cgroup = 8, .time = 10 * kSec, .arg = (i + 1) * kMiB,
                    .values = {kHot}});
  }
  LOAD(text);
  expectDecisions(run(10 * kSec, 8, {{"memcg.pressure", kHot}}), want);
}

TEST_F(ReplayActions, LimitToShareOfMax) {
  LOAD("policy p\nset allow_limit = true\nwhen memcg.usage > 95% limit to 98% of memcg.max\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", 950 * kMiB}, {"memcg.max", 1000 * kMiB}}), {});
  expectDecisions(run(11 * kSec, 1, {{"memcg.usage", 950 * kMiB + 1}, {"memcg.max", 1000 * kMiB}}),
                  {{.action = MMP_ACTION_LIMIT, .cgroup = 1, .time = 11 * kSec, .arg = 980 * kMiB,
                    .values = {950 * kMiB + 1}}});
}

TEST_F(ReplayActions, UnthrottleAfterCalm) {
  LOAD("policy p\nwhen memcg.pressure < 5% for 1min unthrottle\n");
  expectDecisions(run(100 * kSec, 1, {{"memcg.pressure", kPct}}), {});
  expectDecisions(run(160 * kSec - kEarly - 1, 1, {{"memcg.pressure", kPct}}), {});
  auto d = run(160 * kSec, 1, {{"memcg.pressure", kPct}});
  for (auto& x : d) x.flags &= ~static_cast<uint32_t>(MMP_ARG_UNLIMITED);  // see ReplayModifiers
  expectDecisions(d, {{.action = MMP_ACTION_UNTHROTTLE, .cgroup = 1, .time = 160 * kSec, .values = {kPct}}});
}

}  // namespace
}  // namespace mmp::test

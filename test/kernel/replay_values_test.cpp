// Replay cases for values: every comparison at its boundary, unlimited,
// saturation, implied wholes, `of`, bytes/bytes ratios and rate(). Each
// expectation comes from docs/language.md (sections 4 to 6).
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

class ReplayValues : public ReplayFixture {};

constexpr uint32_t kDefault = MMP_ARG_DEFAULT;
constexpr uint32_t kSystem = MMP_SUBJECT_SYSTEM;

// ---- Thresholds at their boundary, one operator and field type each ----

TEST_F(ReplayValues, LessThanOnPercentIsStrict) {
  LOAD("policy p\nwhen memcg.pressure.full < 5% reclaim\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.pressure.full", 5 * kPct}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.pressure.full", 5 * kPct - 1}}),
                  {{.action = MMP_ACTION_RECLAIM, .rule = 0, .cgroup = 2, .time = 11 * kSec, .arg = 0,
                    .flags = kDefault, .index = 0, .values = {5 * kPct - 1}}});
}

TEST_F(ReplayValues, LessOrEqualOnBytesIncludesTheBoundary) {
  LOAD("policy p\nwhen memcg.usage <= 1GiB reclaim 1MiB\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", kGiB + 1}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.usage", kGiB}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 2, .time = 11 * kSec, .arg = kMiB, .values = {kGiB}}});
}

TEST_F(ReplayValues, GreaterThanOnCountEventsIsStrict) {
  LOAD("policy p\nwhen memcg.events.oom_kill > 2 log \"kills={memcg.events.oom_kill}\"\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.events.oom_kill", 2}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.events.oom_kill", 3}}),
                  {{.action = MMP_ACTION_LOG, .cgroup = 2, .time = 11 * kSec, .values = {3}}});
}

TEST_F(ReplayValues, GreaterOrEqualOnSwapIncludesTheBoundary) {
  LOAD("policy p\nwhen memcg.swap >= 512MiB reclaim anon only\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.swap", 512 * kMiB - 1}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.swap", 512 * kMiB}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 2, .time = 11 * kSec,
                    .flags = MMP_RECLAIM_ANON | MMP_RECLAIM_ONLY | kDefault, .values = {512 * kMiB}}});
}

TEST_F(ReplayValues, EqualOnCountMatchesOnlyThatValue) {
  LOAD("policy p\nwhen memcg.events.oom == 3 reclaim file only\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.events.oom", 2}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.events.oom", 4}}), {});
  expectDecisions(run(12 * kSec, 3, {{"memcg.events.oom", 3}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 3, .time = 12 * kSec,
                    .flags = MMP_RECLAIM_FILE | MMP_RECLAIM_ONLY | kDefault, .values = {3}}});
}

TEST_F(ReplayValues, NotEqualOnPercentIsTrueOnBothSides) {
  LOAD("policy p\nwhen memcg.pressure.some.avg60 != 25% reclaim 8MiB\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.pressure.some.avg60", 25 * kPct}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.pressure.some.avg60", 25 * kPct + 1}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 2, .time = 11 * kSec, .arg = 8 * kMiB,
                    .values = {25 * kPct + 1}}});
  expectDecisions(run(12 * kSec, 3, {{"memcg.pressure.some.avg60", 25 * kPct - 1}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 3, .time = 12 * kSec, .arg = 8 * kMiB,
                    .values = {25 * kPct - 1}}});
}

TEST_F(ReplayValues, GreaterOrEqualOnSystemPressure) {
  LOAD("policy p\nwhen system.pressure.full >= 30% log \"full={system.pressure.full}\"\n");
  expectDecisions(policy_->replay(10 * kSec, 0, 1, {{"system.pressure.full", 30 * kPct - 1}}), {});
  expectDecisions(policy_->replay(11 * kSec, 0, 1, {{"system.pressure.full", 30 * kPct}}),
                  {{.action = MMP_ACTION_LOG, .cgroup = 0, .time = 11 * kSec, .flags = kSystem,
                    .values = {30 * kPct}}});
}

// ---- Unlimited ----

TEST_F(ReplayValues, PercentOfUnlimitedIsNeverExceeded) {
  LOAD("policy p\nwhen memcg.usage > 90% of memcg.max reclaim\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", kUnl - 1}, {"memcg.max", kUnl}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.usage", 900 * kMiB + 1}, {"memcg.max", 1000 * kMiB}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 2, .time = 11 * kSec, .flags = kDefault,
                    .values = {900 * kMiB + 1, 1000 * kMiB}}});
}

TEST_F(ReplayValues, UnlimitedComparesAboveEveryValue) {
  LOAD("policy p\nwhen memcg.usage < memcg.high reclaim\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", kUnl - 1}, {"memcg.high", kUnl}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 1, .time = 10 * kSec, .flags = kDefault,
                    .values = {kUnl - 1, kUnl}}});
  expectDecisions(run(11 * kSec, 2, {{"memcg.usage", kGiB}, {"memcg.high", kGiB}}), {});
}

TEST_F(ReplayValues, TwoUnlimitedValuesAreEqual) {
  LOAD("policy p\nwhen memcg.high == memcg.max log \"both {memcg.high}\"\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.high", kUnl}, {"memcg.max", kUnl}}),
                  {{.action = MMP_ACTION_LOG, .cgroup = 1, .time = 10 * kSec, .values = {kUnl}}});
  expectDecisions(run(11 * kSec, 2, {{"memcg.high", kUnl}, {"memcg.max", kUnl - 1}}), {});
}

TEST_F(ReplayValues, SwapMaxUnlimitedIsNeverHalfUsed) {
  LOAD("policy p\nwhen memcg.swap > 50% reclaim anon first\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.swap", kUnl - 1}, {"memcg.swap.max", kUnl}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.swap", 64 * kTiB}, {"memcg.swap.max", kUnl}}), {});
  EXPECT_EQ(policy_->counters(0).evaluations, 2u);
  EXPECT_EQ(policy_->counters(0).firings, 0u);
}

TEST_F(ReplayValues, ThrottleToShareOfUnlimitedMaxIsUnlimited) {
  LOAD("policy p\nwhen memcg.pressure > 50% throttle to 95% of memcg.max\n");
  auto d = run(10 * kSec, 1, {{"memcg.pressure", 60 * kPct}, {"memcg.max", kUnl}});
  ASSERT_EQ(d.size(), 1u);
  // The ABI has MMP_ARG_UNLIMITED for "arg is unlimited"; the docs leave open
  // whether it accompanies arg == ~0, so only that bit is not checked.
  d[0].flags &= ~static_cast<uint32_t>(MMP_ARG_UNLIMITED);
  expectDecisions(d, {{.action = MMP_ACTION_THROTTLE, .cgroup = 1, .time = 10 * kSec, .arg = kUnl,
                       .values = {60 * kPct}}});
  expectDecisions(run(11 * kSec, 2, {{"memcg.pressure", 60 * kPct}, {"memcg.max", 1000 * kMiB}}),
                  {{.action = MMP_ACTION_THROTTLE, .cgroup = 2, .time = 11 * kSec, .arg = 950 * kMiB,
                    .values = {60 * kPct}}});
}

TEST_F(ReplayValues, UnlimitedMinusBytesStaysUnlimited) {
  LOAD("policy p\nwhen memcg.usage > memcg.max - 1GiB reclaim\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", kUnl - 1}, {"memcg.max", kUnl}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.usage", 3 * kGiB}, {"memcg.max", 4 * kGiB}}), {});
  expectDecisions(run(12 * kSec, 3, {{"memcg.usage", 3 * kGiB + 1}, {"memcg.max", 4 * kGiB}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 3, .time = 12 * kSec, .flags = kDefault,
                    .values = {3 * kGiB + 1, 4 * kGiB}}});
}

TEST_F(ReplayValues, BytesMinusUnlimitedIsZero) {
  LOAD("policy p\nwhen memcg.usage - memcg.high > 0B reclaim\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", kTiB}, {"memcg.high", kUnl}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.usage", kGiB}, {"memcg.high", kGiB}}), {});
  expectDecisions(run(12 * kSec, 3, {{"memcg.usage", kGiB + 1}, {"memcg.high", kGiB}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 3, .time = 12 * kSec, .flags = kDefault,
                    .values = {kGiB + 1, kGiB}}});
}

TEST_F(ReplayValues, BytesOverUnlimitedIsZeroPercent) {
  LOAD("policy p\nwhen memcg.usage / memcg.max > 0% reclaim\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", kTiB}, {"memcg.max", kUnl}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.usage", kGiB / 2}, {"memcg.max", kGiB}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 2, .time = 11 * kSec, .flags = kDefault,
                    .values = {kGiB / 2, kGiB}}});
}

// ---- Saturation ----

TEST_F(ReplayValues, BytesSubtractionBelowZeroGivesZero) {
  LOAD("policy p\nwhen memcg.pressure > 10% throttle to memcg.usage - 2GiB\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.pressure", 20 * kPct}, {"memcg.usage", kGiB}}),
                  {{.action = MMP_ACTION_THROTTLE, .cgroup = 1, .time = 10 * kSec, .arg = 0, .values = {20 * kPct}}});
  expectDecisions(run(11 * kSec, 2, {{"memcg.pressure", 20 * kPct}, {"memcg.usage", 3 * kGiB}}),
                  {{.action = MMP_ACTION_THROTTLE, .cgroup = 2, .time = 11 * kSec, .arg = kGiB,
                    .values = {20 * kPct}}});
}

TEST_F(ReplayValues, BytesAdditionSaturatesAtUnlimited) {
  LOAD("policy p\nwhen memcg.pressure > 10% throttle to memcg.usage + memcg.high\n");
  auto strip = [](std::vector<struct mmp_decision> d) {
    for (auto& x : d) x.flags &= ~static_cast<uint32_t>(MMP_ARG_UNLIMITED);  // see ThrottleToShareOfUnlimitedMax
    return d;
  };
  expectDecisions(strip(run(10 * kSec, 1, {{"memcg.pressure", 20 * kPct}, {"memcg.usage", kGiB}, {"memcg.high", kUnl}})),
                  {{.action = MMP_ACTION_THROTTLE, .cgroup = 1, .time = 10 * kSec, .arg = kUnl, .values = {20 * kPct}}});
  expectDecisions(
      strip(run(11 * kSec, 2, {{"memcg.pressure", 20 * kPct}, {"memcg.usage", 1ULL << 63}, {"memcg.high", 1ULL << 63}})),
      {{.action = MMP_ACTION_THROTTLE, .cgroup = 2, .time = 11 * kSec, .arg = kUnl, .values = {20 * kPct}}});
  expectDecisions(run(12 * kSec, 3, {{"memcg.pressure", 20 * kPct}, {"memcg.usage", kGiB}, {"memcg.high", kGiB}}),
                  {{.action = MMP_ACTION_THROTTLE, .cgroup = 3, .time = 12 * kSec, .arg = 2 * kGiB,
                    .values = {20 * kPct}}});
}

TEST_F(ReplayValues, SaturatedSumIsNotAboveUnlimited) {
  LOAD("policy p\nwhen memcg.usage + memcg.high > memcg.max reclaim\n");
  // The sum saturates at unlimited, which is not above an unlimited max ...
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", 1ULL << 63}, {"memcg.high", 1ULL << 63}, {"memcg.max", kUnl}}), {});
  // ... but is above every other value.
  expectDecisions(run(11 * kSec, 2, {{"memcg.usage", 1ULL << 63}, {"memcg.high", 1ULL << 63}, {"memcg.max", kUnl - 1}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 2, .time = 11 * kSec, .flags = kDefault,
                    .values = {1ULL << 63, 1ULL << 63, kUnl - 1}}});
}

// ---- Implied wholes ----

TEST_F(ReplayValues, UsageOverNinetyPercentOfItsMax) {
  LOAD("policy p\nwhen memcg.usage > 90% reclaim\n");
  // 90% of 1GiB+7 is 966367647.9 bytes.
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", 966367647}, {"memcg.max", kGiB + 7}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.usage", 966367648}, {"memcg.max", kGiB + 7}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 2, .time = 11 * kSec, .flags = kDefault,
                    .values = {966367648}}});
}

TEST_F(ReplayValues, PercentOnTheLeftTakesTheWholeToo) {
  LOAD("policy p\nwhen 90% < memcg.usage reclaim\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", 900 * kMiB}, {"memcg.max", 1000 * kMiB}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.usage", 900 * kMiB + 1}, {"memcg.max", 1000 * kMiB}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 2, .time = 11 * kSec, .flags = kDefault,
                    .values = {900 * kMiB + 1}}});
}

TEST_F(ReplayValues, SwapOverHalfOfSwapMax) {
  LOAD("policy p\nwhen memcg.swap > 50% reclaim anon first\n");
  // 50% of 2GiB+1 is 1GiB + 0.5 bytes.
  expectDecisions(run(10 * kSec, 1, {{"memcg.swap", kGiB}, {"memcg.swap.max", 2 * kGiB + 1}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.swap", kGiB + 1}, {"memcg.swap.max", 2 * kGiB + 1}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 2, .time = 11 * kSec,
                    .flags = MMP_RECLAIM_ANON | MMP_RECLAIM_FIRST | kDefault, .values = {kGiB + 1}}});
}

TEST_F(ReplayValues, SystemAvailableBelowTenPercentOfTotal) {
  LOAD("policy p\nwhen system.memory.available < 10% reclaim 64MiB\n");
  expectDecisions(policy_->replay(10 * kSec, 0, 1, {{"system.memory.available", kGiB}, {"system.memory.total", 10 * kGiB}}), {});
  expectDecisions(
      policy_->replay(11 * kSec, 0, 1, {{"system.memory.available", kGiB - 1}, {"system.memory.total", 10 * kGiB}}),
      {{.action = MMP_ACTION_RECLAIM, .cgroup = 0, .time = 11 * kSec, .arg = 64 * kMiB, .flags = kSystem,
        .values = {kGiB - 1}}});
}

TEST_F(ReplayValues, SystemSwapFreeWithoutSwapIsNotLow) {
  // With no swap at all, "swap free below 10%" does not hold (as in oomd and
  // systemd-oomd, which ignore swap when there is none): 0 < 10% of 0 is false.
  LOAD("policy p\nwhen system.swap.free < 10% log \"swap low\"\n");
  expectDecisions(policy_->replay(10 * kSec, 0, 1, {{"system.swap.free", 0}, {"system.swap.total", 0}}), {});
  expectDecisions(policy_->replay(20 * kSec, 0, 1, {{"system.swap.free", 0}, {"system.swap.total", 0}}), {});
  expectDecisions(policy_->replay(30 * kSec, 0, 1, {{"system.swap.free", kGiB - 1}, {"system.swap.total", 10 * kGiB}}),
                  {{.action = MMP_ACTION_LOG, .cgroup = 0, .time = 30 * kSec, .flags = kSystem}});
}

// ---- `of` ----

TEST_F(ReplayValues, OfIsExactForAThird) {
  LOAD("policy p\nwhen memcg.pressure > 10% throttle to 33.333% of memcg.max\n");
  // 3GiB * 33333 / 100000 = 1073731086.58..., truncated to whole bytes.
  expectDecisions(run(10 * kSec, 1, {{"memcg.pressure", 20 * kPct}, {"memcg.max", 3 * kGiB}}),
                  {{.action = MMP_ACTION_THROTTLE, .cgroup = 1, .time = 10 * kSec, .arg = 1073731086,
                    .values = {20 * kPct}}});
}

TEST_F(ReplayValues, OfConstantFoldsToTheSameBytes) {
  LOAD("policy p\nwhen memcg.pressure > 10% throttle to 33.333% of 3GiB\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.pressure", 20 * kPct}}),
                  {{.action = MMP_ACTION_THROTTLE, .cgroup = 1, .time = 10 * kSec, .arg = 1073731086,
                    .values = {20 * kPct}}});
}

TEST_F(ReplayValues, OfNestsToTheRight) {
  LOAD("policy p\nwhen memcg.pressure > 10% throttle to 5% of 50% of memcg.max\n");
  // 50% of 1GiB+1 = 536870912 (truncated), 5% of that = 26843545.6.
  expectDecisions(run(10 * kSec, 1, {{"memcg.pressure", 20 * kPct}, {"memcg.max", kGiB + 1}}),
                  {{.action = MMP_ACTION_THROTTLE, .cgroup = 1, .time = 10 * kSec, .arg = 26843545,
                    .values = {20 * kPct}}});
}

TEST_F(ReplayValues, OfWithAFieldAsTheShare) {
  LOAD("policy p\nwhen memcg.pressure > 10% throttle to memcg.pressure of memcg.max\n");
  // 12.345% of 7GiB+3 = 927873997.7...
  expectDecisions(run(10 * kSec, 1, {{"memcg.pressure", 12345}, {"memcg.max", 7 * kGiB + 3}}),
                  {{.action = MMP_ACTION_THROTTLE, .cgroup = 1, .time = 10 * kSec, .arg = 927873997,
                    .values = {12345}}});
}

TEST_F(ReplayValues, OfWholeAndSmallestShare) {
  LOAD("policy p\n"
       "when memcg.pressure > 10% throttle to 100% of memcg.max\n"
       "when memcg.pressure > 10% limit to 0.001% of memcg.max\n"
       "set allow_limit = true\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.pressure", 20 * kPct}, {"memcg.max", 799999}}),
                  {{.action = MMP_ACTION_THROTTLE, .rule = 0, .cgroup = 1, .time = 10 * kSec, .arg = 799999,
                    .values = {20 * kPct}},
                   {.action = MMP_ACTION_LIMIT, .rule = 1, .cgroup = 1, .time = 10 * kSec, .arg = 7,
                    .values = {20 * kPct}}});
}

// ---- bytes / bytes ----

TEST_F(ReplayValues, RatioIsTruncatedToThousandthsOfAPercent) {
  LOAD("policy p\nwhen memcg.usage / memcg.high > 95% throttle to memcg.high - 64MiB\n");
  // 95.001% of 1000MiB is 996157685.76 bytes: below it the ratio truncates to 95.000%.
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", 996157685}, {"memcg.high", 1000 * kMiB}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.usage", 996157686}, {"memcg.high", 1000 * kMiB}}),
                  {{.action = MMP_ACTION_THROTTLE, .cgroup = 2, .time = 11 * kSec, .arg = 936 * kMiB,
                    .values = {996157686, 1000 * kMiB}}});
}

TEST_F(ReplayValues, RatioMayPassHundredAndDivisionByZeroIsUnlimited) {
  LOAD("policy p\nwhen memcg.usage / memcg.low > 150% reclaim\n");
  // 150.001% of 1GiB is 1610623473.4 bytes.
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", 1610623473}, {"memcg.low", kGiB}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.usage", 1610623474}, {"memcg.low", kGiB}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 2, .time = 11 * kSec, .flags = kDefault,
                    .values = {1610623474, kGiB}}});
  // A run-time division by zero gives unlimited, above every value.
  expectDecisions(run(12 * kSec, 3, {{"memcg.usage", 1}, {"memcg.low", 0}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 3, .time = 12 * kSec, .flags = kDefault,
                    .values = {1, 0}}});
}

TEST_F(ReplayValues, RatioIsExactForLargeValues) {
  LOAD("policy p\nwhen memcg.usage / memcg.max >= 100% reclaim\n");
  // 64TiB / (64TiB + 64KiB) = 99.9999999%, truncated to 99.999%: not 100%.
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", 64 * kTiB}, {"memcg.max", 64 * kTiB + 64 * kKiB}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.usage", 64 * kTiB + 64 * kKiB}, {"memcg.max", 64 * kTiB + 64 * kKiB}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 2, .time = 11 * kSec, .flags = kDefault,
                    .values = {64 * kTiB + 64 * kKiB, 64 * kTiB + 64 * kKiB}}});
}

// ---- rate(memcg.usage) ----

// values of a rate rule: the rate, then the field it reads.
TEST_F(ReplayValues, RateNeedsTwoSamplesAndIsStrict) {
  LOAD("policy p\nwhen rate(memcg.usage) > 10MiB / 1s reclaim\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", 100 * kGiB}}), {});  // first evaluation: no rate
  expectDecisions(run(11 * kSec, 1, {{"memcg.usage", 100 * kGiB + 10 * kMiB}}), {});  // exactly 10MiB/s
  expectDecisions(run(12 * kSec, 1, {{"memcg.usage", 100 * kGiB + 20 * kMiB + 1}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 1, .time = 12 * kSec, .flags = kDefault,
                    .values = {10 * kMiB + 1, 100 * kGiB + 20 * kMiB + 1}}});
}

TEST_F(ReplayValues, RateIsGrowthPerSecondOverTheInterval) {
  LOAD("policy p\nwhen rate(memcg.usage) >= 10MiB / 1s reclaim\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", kGiB}}), {});
  expectDecisions(run(12 * kSec + kSec / 2, 1, {{"memcg.usage", kGiB + 25 * kMiB}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 1, .time = 12 * kSec + kSec / 2, .flags = kDefault,
                    .values = {10 * kMiB, kGiB + 25 * kMiB}}});
}

TEST_F(ReplayValues, RateIsNegativeWhenShrinking) {
  LOAD("policy p\nwhen rate(memcg.usage) < -(10MiB / 1s) reclaim 1MiB\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", 2 * kGiB}}), {});
  expectDecisions(run(11 * kSec, 1, {{"memcg.usage", 2 * kGiB - 20 * kMiB}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 1, .time = 11 * kSec, .arg = kMiB,
                    .values = {static_cast<uint64_t>(-static_cast<int64_t>(20 * kMiB)), 2 * kGiB - 20 * kMiB}}});
  // -10MiB over 2s is -5MiB/s: not below -10MiB/s.
  expectDecisions(run(13 * kSec, 1, {{"memcg.usage", 2 * kGiB - 30 * kMiB}}), {});
}

TEST_F(ReplayValues, ShrinkingIsNotFastGrowth) {
  LOAD("policy p\nwhen rate(memcg.usage) > 10MiB / 1s reclaim\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", 2 * kGiB}}), {});
  expectDecisions(run(11 * kSec, 1, {{"memcg.usage", kGiB}}), {});  // -1GiB/s, signed
  EXPECT_EQ(policy_->counters(0).evaluations, 2u);
  EXPECT_EQ(policy_->counters(0).firings, 0u);
}

TEST_F(ReplayValues, RateIsPerCgroup) {
  LOAD("policy p\nwhen rate(memcg.usage) > 10MiB / 1s reclaim\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", kGiB}}), {});
  expectDecisions(run(11 * kSec, 2, {{"memcg.usage", 5 * kGiB}}), {});
  expectDecisions(run(12 * kSec, 1, {{"memcg.usage", kGiB + 40 * kMiB}}),
                  {{.action = MMP_ACTION_RECLAIM, .cgroup = 1, .time = 12 * kSec, .flags = kDefault,
                    .values = {20 * kMiB, kGiB + 40 * kMiB}}});
  expectDecisions(run(13 * kSec, 2, {{"memcg.usage", 5 * kGiB + 10 * kMiB}}), {});  // 5MiB/s
}

TEST_F(ReplayValues, RateInALogMessageIsTheRateSinceTheLastEvaluation) {
  LOAD("policy p\nwhen rate(memcg.usage) > 1MiB / 1s log \"grows {rate(memcg.usage)}\"\n");
  expectDecisions(run(10 * kSec, 1, {{"memcg.usage", kGiB}}), {});
  expectDecisions(run(11 * kSec, 1, {{"memcg.usage", kGiB + 10 * kMiB}}),
                  {{.action = MMP_ACTION_LOG, .cgroup = 1, .time = 11 * kSec, .values = {10 * kMiB}}});
}

}  // namespace
}  // namespace mmp::test

// Replay cases for min/max, percent arithmetic, rate() of a duration
// field (a PSI total) and of a count (refaults): the generated code computes what docs/language.md
// section 4 and 5 say, on snapshots run with BPF_PROG_TEST_RUN. Values are
// read from log decisions, whose values are the `{...}` expressions.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "replay_fixture.h"

namespace mmp::test {
namespace {

class ReplayExpr : public ReplayFixture {
protected:
  // The values of the one log decision an evaluation makes.
  std::array<uint64_t, MMP_MAX_VALUES> logged(uint64_t t, uint64_t cgroup, const Fields& f) {
    auto d = run(t, cgroup, f);
    EXPECT_EQ(d.size(), 1u);
    std::array<uint64_t, MMP_MAX_VALUES> v{};
    if (d.size() != 1) return v;
    EXPECT_EQ(d[0].action, MMP_ACTION_LOG);
    for (int i = 0; i < MMP_MAX_VALUES; ++i) v[i] = d[0].values[i];
    return v;
  }
};

using Values = std::array<uint64_t, MMP_MAX_VALUES>;
constexpr uint64_t kMs = 1'000'000;

uint64_t neg(uint64_t x) { return static_cast<uint64_t>(-static_cast<int64_t>(x)); }

// ---- min and max ----

TEST_F(ReplayExpr, MinAndMaxOfBytesTreatUnlimitedAsInfinity) {
  LOAD("policy p\nwhen memcg.usage > 0B log \"{min(memcg.max, memcg.high)} {max(memcg.max, memcg.high)}\"\n");
  EXPECT_EQ(logged(10 * kSec, 1, {{"memcg.usage", kGiB}, {"memcg.max", kUnl}, {"memcg.high", kGiB}}),
            (Values{kGiB, kUnl}));
  EXPECT_EQ(logged(10 * kSec, 2, {{"memcg.usage", kGiB}, {"memcg.max", 2 * kGiB}, {"memcg.high", kUnl}}),
            (Values{2 * kGiB, kUnl}));
  EXPECT_EQ(logged(10 * kSec, 3, {{"memcg.usage", kGiB}, {"memcg.max", kUnl}, {"memcg.high", kUnl}}),
            (Values{kUnl, kUnl}));
  EXPECT_EQ(logged(10 * kSec, 4, {{"memcg.usage", kGiB}, {"memcg.max", 3 * kGiB}, {"memcg.high", 3 * kGiB - 1}}),
            (Values{3 * kGiB - 1, 3 * kGiB}));
}

TEST_F(ReplayExpr, MinAndMaxOfRatesAreSigned) {
  LOAD("policy p\nwhen memcg.usage > 0B log \"{min(rate(memcg.usage), -(1MiB / 1s))} {max(rate(memcg.usage), "
       "-(1MiB / 1s))}\" cooldown 0s\n");
  // The first evaluation's rate is 0: above -1MiB/s (unsigned, it would be below).
  EXPECT_EQ(logged(10 * kSec, 1, {{"memcg.usage", 2 * kGiB}}), (Values{neg(kMiB), 0}));
  EXPECT_EQ(logged(11 * kSec, 1, {{"memcg.usage", 2 * kGiB - 2 * kMiB}}), (Values{neg(2 * kMiB), neg(kMiB)}));
  EXPECT_EQ(logged(12 * kSec, 1, {{"memcg.usage", 2 * kGiB}}), (Values{neg(kMiB), 2 * kMiB}));
}

TEST_F(ReplayExpr, MinAndMaxOfPercentDurationAndCount) {
  LOAD("policy p\nwhen memcg.usage > 0B log \"{min(memcg.pressure, memcg.pressure.full)} "
       "{max(memcg.pressure.some.total, memcg.pressure.full.total)} {min(memcg.events.oom, 3)} "
       "{max(memcg.events.oom, 3)}\"\n");
  EXPECT_EQ(logged(10 * kSec, 1,
                   {{"memcg.usage", kGiB}, {"memcg.pressure", 40 * kPct}, {"memcg.pressure.full", 10 * kPct + 1},
                    {"memcg.pressure.some.total", 7 * kSec}, {"memcg.pressure.full.total", 2 * kSec},
                    {"memcg.events.oom", 5}}),
            (Values{10 * kPct + 1, 7 * kSec, 3, 5}));
  EXPECT_EQ(logged(10 * kSec, 2,
                   {{"memcg.usage", kGiB}, {"memcg.pressure", 0}, {"memcg.pressure.full", 1},
                    {"memcg.pressure.some.total", 1}, {"memcg.pressure.full.total", 2}, {"memcg.events.oom", 0}}),
            (Values{0, 2, 0, 3}));
}

TEST_F(ReplayExpr, MinMaxBoundAReclaimStep) {
  // A step of 1% of usage, at least 16MiB, never below a floor of 1GiB.
  LOAD("policy p\nwhen memcg.usage > 1GiB reclaim min(max(1% of memcg.usage, 16MiB), memcg.usage - 1GiB)\n");
  auto arg = [&](uint64_t cgroup, uint64_t usage) {
    auto d = run(10 * kSec, cgroup, {{"memcg.usage", usage}});
    EXPECT_EQ(d.size(), 1u);
    return d.empty() ? 0 : d[0].arg;
  };
  EXPECT_EQ(arg(1, 10 * kGiB), 10 * kGiB / 100);           // 1% of usage
  EXPECT_EQ(arg(2, 1 * kGiB + 512 * kMiB), 16 * kMiB);     // at least 16MiB
  EXPECT_EQ(arg(3, 1 * kGiB + 4 * kMiB), 4 * kMiB);        // down to the floor, not past it
}

// ---- percent arithmetic ----

TEST_F(ReplayExpr, PercentArithmetic) {
  LOAD("policy p\nwhen memcg.usage > 0B log \"{memcg.pressure.full / memcg.pressure.some} {50% of memcg.pressure.some} "
       "{memcg.pressure.some of memcg.pressure.full} {memcg.pressure.some * 3} {2 * memcg.pressure.full} "
       "{memcg.pressure.some / 4}\"\n");
  Fields f = {{"memcg.usage", kGiB}, {"memcg.pressure.some", 40 * kPct}, {"memcg.pressure.full", 10 * kPct}};
  EXPECT_EQ(logged(10 * kSec, 1, f), (Values{25 * kPct, 20 * kPct, 4 * kPct, 120 * kPct, 20 * kPct, 10 * kPct}));
  // Exact at the fixed-point scale: truncated to 0.001%, as constants fold.
  f = {{"memcg.usage", kGiB}, {"memcg.pressure.some", 300}, {"memcg.pressure.full", 100}};
  EXPECT_EQ(logged(10 * kSec, 2, f), (Values{33333, 150, 0, 900, 200, 75}));
  f = {{"memcg.usage", kGiB}, {"memcg.pressure.some", 2500}, {"memcg.pressure.full", 99999}};
  // 99.999% / 2.5% = 3999.96%; 2.5% of 99.999% = 2.499975%, truncated.
  EXPECT_EQ(logged(10 * kSec, 3, f), (Values{3999960, 1250, 2499, 7500, 199998, 625}));
}

TEST_F(ReplayExpr, PercentDivisionByZeroIsUnlimited) {
  LOAD("policy p\nwhen memcg.usage > 0B log \"{memcg.pressure.full / memcg.pressure.some} "
       "{50% of (memcg.pressure.full / memcg.pressure.some)} {(memcg.pressure.full / memcg.pressure.some) of memcg.usage} "
       "{(memcg.pressure.full / memcg.pressure.some) of memcg.pressure.full}\"\n");
  EXPECT_EQ(logged(10 * kSec, 1, {{"memcg.usage", kGiB}, {"memcg.pressure.some", 0}, {"memcg.pressure.full", 0}}),
            (Values{kUnl, kUnl, kUnl, kUnl}));
  EXPECT_EQ(logged(10 * kSec, 2,
                   {{"memcg.usage", kGiB}, {"memcg.pressure.some", 40 * kPct}, {"memcg.pressure.full", 10 * kPct}}),
            (Values{25 * kPct, 12500, kGiB / 4, 2500}));
}

TEST_F(ReplayExpr, PercentTimesCountSaturatesAtUnlimited) {
  LOAD("policy p\nwhen memcg.usage > 0B log \"{memcg.pressure * memcg.events.oom} {memcg.events.oom * memcg.pressure}\"\n");
  EXPECT_EQ(logged(10 * kSec, 1, {{"memcg.usage", 1}, {"memcg.pressure", 50 * kPct}, {"memcg.events.oom", 1ULL << 60}}),
            (Values{kUnl, kUnl}));
  EXPECT_EQ(logged(10 * kSec, 2, {{"memcg.usage", 1}, {"memcg.pressure", 50 * kPct}, {"memcg.events.oom", 7}}),
            (Values{350 * kPct, 350 * kPct}));
}

TEST_F(ReplayExpr, SenpaiStepShrinksAsPressureNearsTheTarget) {
  // The docs' senpai-like rule, with the stall share given as avg10 so that
  // one snapshot shows each step: 1% of usage at no pressure, half of that
  // at half the target, none at the target (the rule stops).
  LOAD("policy p\nlet target = 0.2%\nwhen memcg.usage > 100MiB and memcg.pressure.some < target\n"
       "  reclaim min(1% of (100% - memcg.pressure.some / target) of memcg.usage, memcg.usage - 100MiB)\n");
  auto arg = [&](uint64_t cgroup, uint64_t usage, uint64_t pressure) {
    auto d = run(10 * kSec, cgroup, {{"memcg.usage", usage}, {"memcg.pressure.some", pressure}});
    return d.empty() ? UINT64_MAX : d[0].arg;
  };
  EXPECT_EQ(arg(1, 10 * kGiB, 0), 10 * kGiB / 100);
  EXPECT_EQ(arg(2, 10 * kGiB, 100), 10 * kGiB / 200);      // 0.1% of a 0.2% target: half a step
  EXPECT_EQ(arg(3, 10 * kGiB, 150), 10 * kGiB / 400);      // three quarters of the target: a quarter
  EXPECT_EQ(arg(4, 10 * kGiB, 200), UINT64_MAX);           // at the target: no reclaim
  EXPECT_EQ(arg(5, 100 * kMiB + 64 * kKiB, 0), 64 * kKiB);  // the floor
}

// ---- rate() of a duration field ----

TEST_F(ReplayExpr, RateOfAPsiTotalIsTheShareOfTimeStalled) {
  LOAD("policy p\nwhen memcg.usage > 0B log \"{rate(memcg.pressure.some.total)} {rate(memcg.pressure.full.total)}\" "
       "cooldown 0s\n");
  auto at = [&](uint64_t t, uint64_t some, uint64_t full) {
    return logged(t, 1, {{"memcg.usage", kGiB}, {"memcg.pressure.some.total", some}, {"memcg.pressure.full.total", full}});
  };
  EXPECT_EQ(at(10 * kSec, 5 * kSec, kSec), (Values{0, 0}));                       // the first sample: 0
  EXPECT_EQ(at(16 * kSec, 5 * kSec + 6 * kMs, kSec), (Values{100, 0}));           // 6ms in 6s: 0.1%
  EXPECT_EQ(at(18 * kSec, 6 * kSec + 6 * kMs, kSec + 500 * kMs), (Values{50 * kPct, 25 * kPct}));
  EXPECT_EQ(at(18 * kSec + kMs / 2, 7 * kSec, 2 * kSec), (Values{0, 0}));         // under 1ms later: 0, sample kept
  // From the sample at 18s: 994ms and 500ms in 2s.
  EXPECT_EQ(at(20 * kSec, 7 * kSec, 2 * kSec), (Values{49700, 25 * kPct}));
  EXPECT_EQ(at(21 * kSec, 1 * kSec, 2 * kSec), (Values{0, 0}));                   // a total that shrank: 0%
  EXPECT_EQ(at(22 * kSec, 1 * kSec + 333333, 2 * kSec + 1), (Values{33, 0}));     // truncated to 0.001%
}

TEST_F(ReplayExpr, RateOfAPsiTotalAgainstATarget) {
  LOAD("policy p\nwhen rate(memcg.pressure.some.total) < 0.2% and memcg.usage > 100MiB reclaim 1MiB\n");
  Fields f = {{"memcg.usage", kGiB}, {"memcg.pressure.some.total", 10 * kSec}};
  // The first evaluation's rate is 0%, under the target. Values: the rate,
  // the field it reads, then memcg.usage.
  expectDecisions(run(10 * kSec, 1, f), {{.action = MMP_ACTION_RECLAIM, .cgroup = 1, .time = 10 * kSec, .arg = kMiB,
                                           .values = {0, 10 * kSec, kGiB}}});
  f["memcg.pressure.some.total"] = 10 * kSec + 12 * kMs;  // 12ms in 6s: exactly 0.2%, not under it
  expectDecisions(run(16 * kSec, 1, f), {});
  f["memcg.pressure.some.total"] = 10 * kSec + 23 * kMs;  // 11ms in 6s: 0.183%
  expectDecisions(run(22 * kSec, 1, f), {{.action = MMP_ACTION_RECLAIM, .cgroup = 1, .time = 22 * kSec, .arg = kMiB,
                                           .values = {183, 10 * kSec + 23 * kMs, kGiB}}});
}

// ---- rate() of a count field ----

TEST_F(ReplayExpr, RateOfACountIsPerSecondInThousandthsAndSigned) {
  LOAD("policy p\nwhen memcg.usage > 0B log \"{rate(memcg.refault.file)} {rate(memcg.events.high)}\" cooldown 0s\n");
  auto at = [&](uint64_t t, uint64_t refaults, uint64_t high) {
    return logged(t, 1, {{"memcg.usage", kGiB}, {"memcg.refault.file", refaults}, {"memcg.events.high", high}});
  };
  EXPECT_EQ(at(10 * kSec, 5000, 7), (Values{0, 0}));              // the first sample: 0
  EXPECT_EQ(at(12 * kSec, 7000, 8), (Values{1'000'000, 500}));    // 2000 in 2s: 1000/s; 1 in 2s: 0.5/s
  EXPECT_EQ(at(15 * kSec, 7001, 8), (Values{333, 0}));            // 1 in 3s: 0.333/s, not 0
  EXPECT_EQ(at(15 * kSec + kMs / 2, 9000, 9), (Values{0, 0}));    // under 1ms later: 0, sample kept
  EXPECT_EQ(at(16 * kSec, 6001, 8), (Values{neg(1'000'000), 0}));  // 1000 fewer in 1s: a counter that restarted
}

TEST_F(ReplayExpr, RateOfACountAgainstALiteral) {
  LOAD("policy p\nwhen rate(memcg.refault.anon) > 100 / 1s log \"{rate(memcg.refault.anon)}\" cooldown 0s\n");
  Fields f = {{"memcg.refault.anon", 1000}};
  expectDecisions(run(10 * kSec, 1, f), {});
  f["memcg.refault.anon"] = 1300;  // 300 in 3s: exactly 100/s, not over it
  expectDecisions(run(13 * kSec, 1, f), {});
  f["memcg.refault.anon"] = 1601;  // 301 in 3s: 100.333/s
  auto d = run(16 * kSec, 1, f);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].values[0], 100'333u);
}

// A count over a duration computed at run time (not folded): thousandths
// per second, as `rate()` gives them.
TEST_F(ReplayExpr, ACountOverADurationIsACountRate) {
  LOAD("policy p\nwhen memcg.usage > 0B log \"{memcg.events.high / 2s} {memcg.events.max / 1min}\" cooldown 0s\n");
  EXPECT_EQ(logged(10 * kSec, 1, {{"memcg.usage", kGiB}, {"memcg.events.high", 3}, {"memcg.events.max", 1}}),
            (Values{1'500, 16}));  // 1.5/s; 1 a minute: 0.016/s, truncated
}

TEST_F(ReplayExpr, RateOfTheSystemPsiTotal) {
  LOAD("policy p\nwhen rate(system.pressure.full.total) > 10% log \"{rate(system.pressure.full.total)}\"\n");
  expectDecisions(policy_->replay(10 * kSec, 0, 1, {{"system.pressure.full.total", 3 * kSec}}), {});
  expectDecisions(policy_->replay(12 * kSec, 0, 1, {{"system.pressure.full.total", 3 * kSec + 300 * kMs}}),
                  {{.action = MMP_ACTION_LOG, .cgroup = 0, .time = 12 * kSec, .flags = MMP_SUBJECT_SYSTEM,
                    .values = {15 * kPct}}});
}

}  // namespace
}  // namespace mmp::test

namespace mmp::test {
namespace {

// Seven rate()s in one rule: inline, each multiplied the verifier's paths
// (property seed 5226 was refused, over 1 M instructions); in their
// subprograms the paths join. The values are still right.
TEST_F(ReplayExpr, SevenRatesInOneRuleLoadAndStayCheap) {
  LOAD("policy p\nwhen memcg.usage > 0B log \"{rate(memcg.pressure.some.total)} {rate(memcg.pressure.full.total)} "
       "{rate(system.pressure.some.total)} {rate(system.pressure.full.total)} {rate(memcg.usage)} "
       "{rate(memcg.swap)}\", log \"{rate(system.memory.free)}\" cooldown 0s\n");
  for (const auto& [program, verified] : policy_->programSizes()) EXPECT_LT(verified, 20'000u) << program;
  Fields f = {{"memcg.usage", kGiB}, {"memcg.swap", 0}, {"system.memory.free", kGiB},
              {"memcg.pressure.some.total", 0}, {"memcg.pressure.full.total", 0},
              {"system.pressure.some.total", 0}, {"system.pressure.full.total", 0}};
  run(10 * kSec, 1, f);
  f["memcg.pressure.some.total"] = 60 * kMs;  // 60 ms in 6 s: 1%
  f["memcg.usage"] = kGiB + 6 * kMiB;         // 1 MiB/s
  auto d = run(16 * kSec, 1, f);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].values[0], 1 * kPct);
  EXPECT_EQ(d[0].values[4], kMiB);
  EXPECT_EQ(d[0].values[1], 0u);
}

}  // namespace
}  // namespace mmp::test

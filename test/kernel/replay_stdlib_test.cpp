// The standard library's policies decide as the tools they reproduce do
// (the comment at the top of each stdlib/std file): their thresholds,
// escalation, hold times and feedback step, replayed on snapshots in the
// kernel with BPF_PROG_TEST_RUN.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <fstream>
#include <sstream>

#include "replay_fixture.h"

namespace mmp::test {
namespace {

std::string stdlibPolicy(const std::string& name) {
  std::ifstream in(std::string(MMP_TEST_SOURCE_DIR) + "/stdlib/std/" + name + ".mmp");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Stdlib : public ReplayFixture {
protected:
  // A system evaluation (cgroup 0).
  std::vector<struct mmp_decision> system(uint64_t t, const Fields& f) { return policy_->replay(t, 0, ~0ULL, f); }
};

// MemAvailable as a share of 16 GiB (of MemTotal for earlyoom 1.7, whose
// measure it is), and free swap; MemTotal itself is `total`.
Fields memory(double availPct, double swapFreePct, uint64_t swapTotal = 8 * kGiB, uint64_t total = 16 * kGiB) {
  auto avail = static_cast<uint64_t>(static_cast<double>(16 * kGiB) * availPct / 100);
  return {{"system.memory.available", avail},
          {"system.memory.total", total},
          {"system.swap.total", swapTotal},
          {"system.swap.free", static_cast<uint64_t>(static_cast<double>(swapTotal) * swapFreePct / 100)}};
}

TEST_F(Stdlib, EarlyoomTermsAtTenPercentAndKillsAtFive) {
  LOAD(stdlibPolicy("earlyoom"));
  EXPECT_TRUE(system(1 * kSec, memory(10.5, 50)).empty());
  EXPECT_TRUE(system(2 * kSec, memory(9, 10.5)).empty()) << "swap must be low too";
  auto term = system(3 * kSec, memory(10, 10));  // `<=`, as earlyoom compares
  ASSERT_EQ(term.size(), 1u);
  EXPECT_EQ(term[0].rule, 1u);
  EXPECT_EQ(term[0].action, MMP_ACTION_KILL);
  EXPECT_EQ(term[0].flags & (MMP_KILL_OOM_SCORE | MMP_KILL_CGROUP), MMP_KILL_OOM_SCORE);
  EXPECT_EQ(MMP_KILL_SIGNAL(term[0].flags), static_cast<uint32_t>(SIGTERM));
  auto kill = system(10 * kSec, memory(5, 4));
  ASSERT_EQ(kill.size(), 1u) << "SIGKILL alone, not SIGTERM as well";
  EXPECT_EQ(kill[0].rule, 0u);
  EXPECT_EQ(MMP_KILL_SIGNAL(kill[0].flags), 0u);
  EXPECT_TRUE(kill[0].flags & MMP_KILL_OOM_SCORE);
}

TEST_F(Stdlib, EarlyoomWithoutSwapGoesByMemoryAlone) {
  LOAD(stdlibPolicy("earlyoom"));
  EXPECT_TRUE(system(1 * kSec, memory(20, 0, 0)).empty());
  auto term = system(2 * kSec, memory(8, 0, 0));
  ASSERT_EQ(term.size(), 1u);
  EXPECT_EQ(MMP_KILL_SIGNAL(term[0].flags), static_cast<uint32_t>(SIGTERM));
}

Fields pressure(uint64_t fullPct, uint64_t sinceReclaim) {
  return {{"memcg.pressure.full", fullPct * kPct}, {"memcg.since_reclaim", sinceReclaim}};
}

TEST_F(Stdlib, SystemdOomdKillsAfterThirtySecondsAboveSixtyWithRecentReclaim) {
  LOAD(stdlibPolicy("systemd_oomd"));
  // Above 60% from t=10s; reclaim seen 5 s ago: the kill comes at t=40s.
  for (uint64_t t = 10; t < 40; ++t) EXPECT_TRUE(run(t * kSec, 7, pressure(61, 5 * kSec)).empty()) << t;
  auto d = run(40 * kSec, 7, pressure(61, 5 * kSec));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].flags & (MMP_KILL_CGROUP | MMP_KILL_RECLAIM), static_cast<uint32_t>(MMP_KILL_CGROUP | MMP_KILL_RECLAIM));
  // Exactly 60% is not above: the count starts again.
  EXPECT_TRUE(run(41 * kSec, 8, pressure(60, 0)).empty());
  // No reclaim in the last 30 s (or never seen): no kill, however long.
  for (uint64_t t = 100; t <= 140; t += 5) EXPECT_TRUE(run(t * kSec, 9, pressure(90, 31 * kSec)).empty()) << t;
  EXPECT_TRUE(run(141 * kSec, 9, pressure(90, kUnl)).empty());
  // The count went on meanwhile (`unless` does not reset it): reclaim now, kill now.
  EXPECT_EQ(run(142 * kSec, 9, pressure(90, 1 * kSec)).size(), 1u);
}

TEST_F(Stdlib, SystemdOomdSwapKillsTheLargestSwapUserOverFivePercent) {
  LOAD(stdlibPolicy("systemd_oomd"));
  // MemAvailable 9% of MemTotal (32 GiB).
  auto mem = [](double swapFreePct, uint64_t swapTotal = 8 * kGiB) {
    auto f = memory(18, swapFreePct, swapTotal, 32 * kGiB);  // systemd-oomd's MemTotal
    return f;
  };
  EXPECT_TRUE(system(1 * kSec, mem(11)).empty());
  EXPECT_TRUE(system(2 * kSec, mem(0, 0)).empty()) << "no swap: never";
  auto high = mem(9);
  high["system.memory.available"] = 32 * kGiB / 10;  // exactly 10%: not below
  EXPECT_TRUE(system(3 * kSec, high).empty());
  auto d = system(4 * kSec, mem(9));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].flags & (MMP_KILL_SWAP | MMP_KILL_ABOVE | MMP_KILL_CGROUP),
            static_cast<uint32_t>(MMP_KILL_SWAP | MMP_KILL_ABOVE | MMP_KILL_CGROUP));
  EXPECT_EQ(d[0].arg, 8 * kGiB * 5 / 100);
}

TEST_F(Stdlib, OomdDesktopWantsReclaimInTheLastTenSeconds) {
  LOAD(stdlibPolicy("oomd_desktop"));
  for (uint64_t t = 0; t < 30; ++t) EXPECT_TRUE(run(t * kSec, 5, pressure(61, 11 * kSec)).empty()) << t;
  EXPECT_TRUE(run(30 * kSec, 5, pressure(61, 11 * kSec)).empty());
  auto d = run(31 * kSec, 5, pressure(61, 10 * kSec));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(d[0].flags & MMP_KILL_SIZE_OR_GROWTH);
}

// senpai.py's probe: min(max_probe * (target / stall / coeff_probe)^2, max_probe).
double senpaiStep(double stallShare) {
  double target = 0.010 / 6;
  if (stallShare <= 0) return 0.01;
  return std::min(0.01 * std::pow(target / stallShare / 10, 2), 0.01);
}

TEST_F(Stdlib, SenpaiProbesByItsFormulaAndBacksOff) {
  LOAD(stdlibPolicy("senpai"));
  const uint64_t usage = 8 * kGiB;
  auto reclaimed = [&](uint64_t t, uint64_t cgroup, uint64_t stallNs, uint64_t u) -> int64_t {
    auto d = run(t, cgroup, {{"memcg.usage", u}, {"memcg.pressure.some.total", stallNs}});
    if (d.empty()) return -1;
    EXPECT_EQ(d[0].action, MMP_ACTION_RECLAIM);
    return static_cast<int64_t>(d[0].arg);
  };
  // The first look has no earlier sample: no pressure, a full 1% step.
  EXPECT_EQ(reclaimed(6 * kSec, 1, 0, usage), static_cast<int64_t>(usage / 100));
  // Stall shares over 6 s under the 10 ms target: the step follows the formula.
  uint64_t total = 0, t = 6;
  for (uint64_t stallUs : {200, 1000, 3000, 6000}) {
    total += stallUs * 1000;
    t += 6;
    int64_t got = reclaimed(t * kSec, 1, total, usage);
    double want = senpaiStep(static_cast<double>(stallUs) / 6e6) * static_cast<double>(usage);
    EXPECT_NEAR(static_cast<double>(got), want, want * 0.02 + 64 * 1024) << stallUs << " us";
  }
  // At or over the target: no reclaim (it backs off).
  total += 10'000'000;
  t += 6;
  EXPECT_EQ(reclaimed(t * kSec, 1, total, usage), -1);
  // Never below --min-size=100M: at 101 MiB the step is what is above it.
  EXPECT_EQ(reclaimed(6 * kSec, 2, 0, 101 * kMiB), static_cast<int64_t>(kMiB));
  EXPECT_EQ(reclaimed(6 * kSec, 3, 0, 100 * kMiB), -1);
}

// std/proactive's probe: 3% of the usage times (1 - stall / target)^2, with
// target 0.2% of the time; nothing at the target, while some avg10 is 1% or
// more, or while free swap is under 10%; never below 64 MiB.
TEST_F(Stdlib, ProactiveProbesByItsCurveAndHoldsBack) {
  LOAD(stdlibPolicy("proactive"));
  const uint64_t usage = 4 * kGiB;
  auto reclaimed = [&](uint64_t t, uint64_t cgroup, uint64_t stallNs, uint64_t u, uint64_t avg10 = 0,
                       double swapFreePct = 50) -> int64_t {
    const uint64_t swap = 8 * kGiB;
    auto d = run(t, cgroup,
                 {{"memcg.usage", u},
                  {"memcg.pressure.some.total", stallNs},
                  {"memcg.pressure.some.avg10", avg10},
                  {"system.swap.total", swap},
                  {"system.swap.free", static_cast<uint64_t>(static_cast<double>(swap) * swapFreePct / 100)}});
    if (d.empty()) return -1;
    EXPECT_EQ(d[0].action, MMP_ACTION_RECLAIM);
    return static_cast<int64_t>(d[0].arg);
  };
  // The first look has no earlier sample: no stall, the full 3% step.
  EXPECT_EQ(reclaimed(3 * kSec, 1, 0, usage), static_cast<int64_t>(usage * 3 / 100));
  // Stall shares over 3 s under the 0.2% target: the step follows the curve.
  uint64_t total = 0, t = 3;
  for (uint64_t stallUs : {0, 600, 1500, 3000, 4500}) {
    total += stallUs * 1000;
    t += 3;
    double share = static_cast<double>(stallUs) / 3e6 / 0.002;
    double want = 0.03 * (1 - share) * (1 - share) * static_cast<double>(usage);
    int64_t got = reclaimed(t * kSec, 1, total, usage);
    EXPECT_NEAR(static_cast<double>(got), want, want * 0.01 + 64 * 1024) << stallUs << " us";
  }
  // At the target (6 ms in 3 s): no reclaim.
  total += 6'000'000;
  t += 3;
  EXPECT_EQ(reclaimed(t * kSec, 1, total, usage), -1);
  // No stall since the last look, but some avg10 still at 1%: it waits.
  t += 3;
  EXPECT_EQ(reclaimed(t * kSec, 1, total, usage, 1 * kPct), -1);
  t += 3;
  EXPECT_GT(reclaimed(t * kSec, 1, total, usage, 1 * kPct - 1), 0);
  // Free swap under 10%: it waits; above it, it goes on.
  EXPECT_EQ(reclaimed(3 * kSec, 2, 0, usage, 0, 9.9), -1);
  EXPECT_GT(reclaimed(3 * kSec, 3, 0, usage, 0, 11), 0);
  // Never below 64 MiB: at 65 MiB the step is what is above it.
  EXPECT_EQ(reclaimed(3 * kSec, 4, 0, 65 * kMiB), static_cast<int64_t>(kMiB));
  EXPECT_EQ(reclaimed(3 * kSec, 5, 0, 64 * kMiB), -1);
}

}  // namespace
}  // namespace mmp::test

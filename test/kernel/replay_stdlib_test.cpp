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

// A node of 16 GiB with `availPct` of it available (std/kubernetes reads
// no swap), and a pod's memcg on it.
Fields node(double availPct) {
  return {{"system.memory.available", static_cast<uint64_t>(static_cast<double>(16 * kGiB) * availPct / 100)},
          {"system.memory.total", 16 * kGiB}};
}

Fields pod(double availPct, uint64_t usage, uint64_t request) {
  Fields f = node(availPct);
  f["memcg.usage"] = usage;
  f["memcg.min"] = request;
  return f;
}

TEST_F(Stdlib, KubernetesReclaimsFromPodsAboveTheirRequestFirst) {
  LOAD(stdlibPolicy("kubernetes"));
  EXPECT_TRUE(run(1 * kSec, 7, pod(10.5, 600 * kMiB, 256 * kMiB)).empty()) << "10% of MemTotal is the line";
  auto d = run(2 * kSec, 7, pod(9, 600 * kMiB, 256 * kMiB));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].action, MMP_ACTION_RECLAIM);
  EXPECT_EQ(d[0].flags & (MMP_RECLAIM_FILE | MMP_RECLAIM_FIRST | MMP_ARG_SHARE),
            static_cast<uint32_t>(MMP_RECLAIM_FILE | MMP_RECLAIM_FIRST | MMP_ARG_SHARE));
  EXPECT_EQ(d[0].arg, 2 * kPct) << "2% of its usage";
  EXPECT_TRUE(run(3 * kSec, 7, pod(9, 600 * kMiB, 256 * kMiB)).empty()) << "cooldown 2s";
  EXPECT_EQ(run(4 * kSec, 7, pod(9, 600 * kMiB, 256 * kMiB)).size(), 1u);
  EXPECT_TRUE(run(5 * kSec, 8, pod(5, 256 * kMiB, 256 * kMiB)).empty()) << "at its request: left alone";
  EXPECT_EQ(run(6 * kSec, 9, pod(5, 100 * kMiB, 0)).size(), 1u) << "no request (BestEffort): above it";
}

TEST_F(Stdlib, KubernetesKillsOnePodByOverRequestAfterTwoSecondsUnderFivePercent) {
  LOAD(stdlibPolicy("kubernetes"));
  EXPECT_TRUE(system(1 * kSec, node(5.5)).empty());
  EXPECT_TRUE(system(2 * kSec, node(4.5)).empty());
  EXPECT_TRUE(system(3 * kSec, node(4.5)).empty());
  auto kill = system(4 * kSec, node(4.5));
  ASSERT_EQ(kill.size(), 1u) << "under 5% for 2 s";
  EXPECT_EQ(kill[0].action, MMP_ACTION_KILL);
  EXPECT_EQ(kill[0].flags & (MMP_KILL_CGROUP | MMP_KILL_OVER_REQUEST | MMP_KILL_ABOVE),
            static_cast<uint32_t>(MMP_KILL_CGROUP | MMP_KILL_OVER_REQUEST));
  for (uint64_t t = 5; t < 9; ++t) EXPECT_TRUE(system(t * kSec, node(4.5)).empty()) << "cooldown 5s: " << t;
  EXPECT_EQ(system(9 * kSec, node(4.5)).size(), 1u);
}

TEST_F(Stdlib, KubernetesAtTheImportersThresholds) {
  LOAD("policy node\nimport \"std/kubernetes\" with evict_below = 8%, evict_for = 1s, reclaim_share = 5%\n");
  EXPECT_TRUE(system(1 * kSec, node(8.5)).empty());
  EXPECT_TRUE(system(2 * kSec, node(7.5)).empty());
  EXPECT_EQ(system(3 * kSec, node(7.5)).size(), 1u) << "under 8% for 1 s";
  auto d = run(4 * kSec, 7, pod(9, 600 * kMiB, 256 * kMiB));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].arg, 5 * kPct);
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

// The replicas at other values than their defaults, set by the importer
// (docs/migrating.md's one-line forms of the tools' flags).

TEST_F(Stdlib, SystemdOomdAtFedorasDefaults) {
  LOAD("policy fedora\nimport \"std/systemd_oomd\" with pressure_limit = 50%, pressure_duration = 20s\n");
  // 55% is over Fedora's 50% (never over systemd's own 60%): the kill
  // comes 20 s after it began, not 30.
  for (uint64_t t = 10; t < 30; ++t) EXPECT_TRUE(run(t * kSec, 7, pressure(55, 5 * kSec)).empty()) << t;
  EXPECT_EQ(run(30 * kSec, 7, pressure(55, 5 * kSec)).size(), 1u);
  EXPECT_TRUE(run(31 * kSec, 8, pressure(50, 0)).empty()) << "50% is not above 50%";
}

TEST_F(Stdlib, SystemdOomdSwapUsedLimit) {
  LOAD("policy swap\nimport \"std/systemd_oomd\" with swap_used_limit = 80%, swap_candidate = 10%\n");
  EXPECT_TRUE(system(1 * kSec, memory(25, 15)).empty()) << "memory is not 80% used";
  auto d = system(2 * kSec, memory(15, 15));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].arg, 8 * kGiB * 10 / 100) << "candidates use over 10% of swap";
}

TEST_F(Stdlib, EarlyoomWithMinus15AndAKillLevelOfItsOwn) {
  // `earlyoom -m 15,3 -s 50`: SIGKILL at half of -s (25%) for swap.
  LOAD("policy e\nimport \"std/earlyoom\" with mem_term = 15%, swap_term = 50%, mem_kill = 3%\n");
  EXPECT_TRUE(system(1 * kSec, memory(15.5, 40)).empty());
  auto term = system(2 * kSec, memory(14, 40));
  ASSERT_EQ(term.size(), 1u);
  EXPECT_EQ(MMP_KILL_SIGNAL(term[0].flags), static_cast<uint32_t>(SIGTERM));
  auto stillTerm = system(3 * kSec, memory(5, 20));
  ASSERT_EQ(stillTerm.size(), 1u) << "5% is over the 3% SIGKILL level";
  EXPECT_EQ(MMP_KILL_SIGNAL(stillTerm[0].flags), static_cast<uint32_t>(SIGTERM));
  auto kill = system(10 * kSec, memory(3, 25));
  ASSERT_EQ(kill.size(), 1u);
  EXPECT_EQ(MMP_KILL_SIGNAL(kill[0].flags), 0u);
}

TEST_F(Stdlib, OomdDesktopAtALowerUserPressure) {
  LOAD("policy o\nimport \"std/oomd_desktop\" with user_pressure = 40%, user_duration = 10s, reclaim_within = 5s\n");
  for (uint64_t t = 0; t < 10; ++t) EXPECT_TRUE(run(t * kSec, 5, pressure(45, 1 * kSec)).empty()) << t;
  EXPECT_TRUE(run(11 * kSec, 5, pressure(45, 6 * kSec)).empty()) << "no reclaim in the last 5 s";
  EXPECT_EQ(run(12 * kSec, 5, pressure(45, 5 * kSec)).size(), 1u);
}

TEST_F(Stdlib, SenpaiWithAFloorOfItsOwn) {
  LOAD("policy s\nimport \"std/senpai\" with min_size = 200MiB, max_probe = 2%\n");
  auto d = run(6 * kSec, 2, {{"memcg.usage", 8 * kGiB}, {"memcg.pressure.some.total", 0}});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].arg, 8 * kGiB * 2 / 100);
  auto floor = run(6 * kSec, 3, {{"memcg.usage", 201 * kMiB}, {"memcg.pressure.some.total", 0}});
  ASSERT_EQ(floor.size(), 1u);
  EXPECT_EQ(floor[0].arg, kMiB);
  EXPECT_TRUE(run(6 * kSec, 4, {{"memcg.usage", 200 * kMiB}, {"memcg.pressure.some.total", 0}}).empty());
}

// std/oom_guard (mmp-best in the arena): out of memory and swap kills at
// once; with swap left, a process over 40% of RAM is killed at once (its
// size is mmrun's to check: the decision carries the threshold), and a
// leak into swap once it has grown on for leak_for (2 s) past the
// threshold, so a burst that peaks and stops is spared.
Fields guard(double availPct, double swapFreePct, uint64_t anon) {
  Fields f = memory(availPct, swapFreePct);
  f["system.memory.anon"] = anon;
  return f;
}

TEST_F(Stdlib, OomGuardKillsAtOnceWithoutMemoryOrSwap) {
  LOAD(stdlibPolicy("oom_guard"));
  EXPECT_TRUE(system(1 * kSec, guard(11, 5, 8 * kGiB)).empty());
  auto d = system(2 * kSec, guard(10, 10, 8 * kGiB));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].rule, 0u);
  EXPECT_EQ(d[0].flags & (MMP_KILL_LARGEST | MMP_KILL_CGROUP), static_cast<uint32_t>(MMP_KILL_LARGEST | MMP_KILL_CGROUP));
}

TEST_F(Stdlib, OomGuardAsksForARunawayProcessWhileSwapIsLeft) {
  LOAD(stdlibPolicy("oom_guard"));
  EXPECT_TRUE(system(1 * kSec, guard(11, 50, 8 * kGiB)).empty());
  auto d = system(2 * kSec, guard(10, 50, 8 * kGiB));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].rule, 1u);
  EXPECT_EQ(d[0].flags & (MMP_KILL_CGROUP | MMP_KILL_ABOVE), static_cast<uint32_t>(MMP_KILL_ABOVE))
      << "a process, and only one above the threshold";
  EXPECT_EQ(d[0].arg, 16 * kGiB * 40 / 100) << "40% of MemTotal";
  d = system(3 * kSec, guard(10, 10, 8 * kGiB));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].rule, 0u) << "swap short too: rule 1 alone, the largest cgroup";
}

// A system evaluation every 100 ms, anonymous memory grown by `by` since
// the last, available memory at `availPct`, swap half free; the decisions
// of the leak rule (the runaway rule asks at every one: no process is
// that large in these, and mmrun would find no victim).
class OomGuard : public Stdlib {
protected:
  std::vector<struct mmp_decision> grow(uint64_t by, double availPct) {
    t_ += 100'000'000;
    anon_ += by;
    auto all = system(t_, guard(availPct, 50, anon_));
    std::vector<struct mmp_decision> leak;
    for (const auto& d : all)
      if (d.rule == 2) leak.push_back(d);
    return leak;
  }
  uint64_t t_ = 10 * kSec, anon_ = 8 * kGiB;
};

TEST_F(OomGuard, KillsALeakIntoSwapAfterTwoSecondsOfGrowth) {
  LOAD(stdlibPolicy("oom_guard"));
  EXPECT_TRUE(grow(0, 9).empty());  // the first sample
  // 100 MiB/s from t=10.2 s on (the first rate): held 1.9 s at t=12.1 s...
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(grow(10 * kMiB, 9).empty()) << "at " << i;
  auto d = grow(10 * kMiB, 9);  // ...and 2 s at t=12.2 s
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].rule, 2u);
}

TEST_F(OomGuard, SparesABurstThatStopsGrowing) {
  LOAD(stdlibPolicy("oom_guard"));
  EXPECT_TRUE(grow(0, 5).empty());
  // 1.5 s of fast growth past the threshold, then a plateau: never a kill.
  for (int i = 0; i < 15; ++i) EXPECT_TRUE(grow(28 * kMiB, 5).empty()) << i;
  for (int i = 0; i < 30; ++i) EXPECT_TRUE(grow(0, 5).empty()) << i;
}

// std/proactive's probe: 8% of the usage times (1 - stall / target)^2, with
// target 0.2% of the time, once stalls (some avg10 under 1%) and refaults
// (under 50 a second) have been quiet for 10 s; nothing while free swap is
// under 10%; never below 64 MiB.
TEST_F(Stdlib, ProactiveProbesByItsCurveAndHoldsBack) {
  LOAD(stdlibPolicy("proactive"));
  const uint64_t usage = 4 * kGiB;
  struct Look {
    uint64_t stallNs = 0, avg10 = 0, refaults = 0, u = 4 * kGiB;
    double swapFreePct = 50;
  };
  auto reclaimed = [&](uint64_t t, uint64_t cgroup, const Look& l) -> int64_t {
    const uint64_t swap = 8 * kGiB;
    auto d = run(t, cgroup,
                 {{"memcg.usage", l.u},
                  {"memcg.pressure.some.total", l.stallNs},
                  {"memcg.pressure.some.avg10", l.avg10},
                  {"memcg.refault.anon", l.refaults},
                  {"memcg.refault.file", 0},
                  {"system.swap.total", swap},
                  {"system.swap.free", static_cast<uint64_t>(static_cast<double>(swap) * l.swapFreePct / 100)}});
    if (d.empty()) return -1;
    EXPECT_EQ(d[0].action, MMP_ACTION_RECLAIM);
    return static_cast<int64_t>(d[0].arg);
  };
  // Looks every 2 s from t=2: quiet for 10 s first, then the full 8% step.
  Look l;
  for (uint64_t t = 2; t < 12; t += 2) EXPECT_EQ(reclaimed(t * kSec, 1, l), -1) << t;
  EXPECT_EQ(reclaimed(12 * kSec, 1, l), static_cast<int64_t>(usage * 8 / 100));
  // Stall shares over 2 s under the 0.2% target: the step follows the curve.
  uint64_t t = 12;
  for (uint64_t stallUs : {0, 400, 1000, 2000, 3000}) {
    l.stallNs += stallUs * 1000;
    t += 2;
    double share = static_cast<double>(stallUs) / 2e6 / 0.002;
    double want = 0.08 * (1 - share) * (1 - share) * static_cast<double>(usage);
    int64_t got = reclaimed(t * kSec, 1, l);
    EXPECT_NEAR(static_cast<double>(got), want, want * 0.01 + 64 * 1024) << stallUs << " us";
  }
  // At the target (4 ms in 2 s): no reclaim, and 10 s of quiet before the next.
  l.stallNs += 4'000'000;
  t += 2;
  EXPECT_EQ(reclaimed(t * kSec, 1, l), -1);
  const uint64_t stalled = t;
  for (t += 2; t < stalled + 12; t += 2) EXPECT_EQ(reclaimed(t * kSec, 1, l), -1) << t;
  EXPECT_GT(reclaimed(t * kSec, 1, l), 0);
  // 100 refaults in 2 s (50 a second): reclaim took what is used; it stops,
  // and probes again after 10 s without.
  l.refaults += 100;
  t += 2;
  EXPECT_EQ(reclaimed(t * kSec, 1, l), -1);
  l.refaults += 99;  // 49.5 a second: under the limit, the quiet begins
  const uint64_t refaulted = t;
  for (t += 2; t < refaulted + 12; t += 2) EXPECT_EQ(reclaimed(t * kSec, 1, l), -1) << t;
  EXPECT_GT(reclaimed(t * kSec, 1, l), 0);
  // No stall since the last look, but some avg10 still at 1%: it waits.
  Look busy;
  busy.avg10 = 1 * kPct;
  for (uint64_t s = 2; s <= 20; s += 2) EXPECT_EQ(reclaimed(s * kSec, 2, busy), -1) << s;
  busy.avg10 = 1 * kPct - 1;
  for (uint64_t s = 22; s < 32; s += 2) EXPECT_EQ(reclaimed(s * kSec, 2, busy), -1) << s;
  EXPECT_GT(reclaimed(32 * kSec, 2, busy), 0);
  // Free swap under 10%: it waits; above it, it goes on, without a new
  // quiet (`unless` keeps the `for` clock).
  Look lowSwap;
  for (uint64_t s = 2; s <= 12; s += 2) {
    lowSwap.swapFreePct = 9.9;
    EXPECT_EQ(reclaimed(s * kSec, 3, lowSwap), -1) << s;
  }
  lowSwap.swapFreePct = 11;
  EXPECT_GT(reclaimed(14 * kSec, 3, lowSwap), 0);
  // Never below 64 MiB: at 65 MiB the step is what is above it.
  Look small;
  small.u = 65 * kMiB;
  for (uint64_t s = 2; s < 12; s += 2) EXPECT_EQ(reclaimed(s * kSec, 4, small), -1) << s;
  EXPECT_EQ(reclaimed(12 * kSec, 4, small), static_cast<int64_t>(kMiB));
}

}  // namespace
}  // namespace mmp::test

// The victim of a kill (runtime/actions/victims.cpp): every key, ties, the
// threshold, oomd's size-or-growth rule, and no candidates.
#include "actions/victims.h"

#include <gtest/gtest.h>

#include "abi/mmp_abi.h"

namespace mmp::runtime {
namespace {

constexpr uint64_t MiB = 1ull << 20, GiB = 1ull << 30;

ProcessCandidate proc(int pid, uint64_t rss, double age = 100, uint64_t oomScore = 0, uint64_t swap = 0) {
  return {pid, rss, swap, oomScore, age};
}

CgroupCandidate cg(std::string path, uint64_t usage, double age = 100) {
  return {std::move(path), usage, std::nullopt, age, std::nullopt, std::nullopt};
}

int pidOf(const std::vector<ProcessCandidate>& c, const Pick& p) { return p.victim ? c[*p.victim].pid : -1; }
std::string pathOf(const std::vector<CgroupCandidate>& c, const Pick& p) { return p.victim ? c[*p.victim].path : ""; }

// Processes.

TEST(PickProcess, NoCandidatesNoVictim) {
  Pick p = pickProcess({}, 0, 0);
  EXPECT_FALSE(p.victim);
  EXPECT_EQ(p.detail, "no process to kill in the subject");
  EXPECT_FALSE(p.noneQualified()) << "no candidate at all is a failure, not the policy's choice";
  EXPECT_FALSE(pickProcess({}, MMP_KILL_OOM_SCORE | MMP_KILL_ABOVE, 10).victim);
}

TEST(PickProcess, WithoutAKeyTheLargestRss) {
  std::vector<ProcessCandidate> c{proc(1, 10 * MiB), proc(2, 200 * MiB), proc(3, 50 * MiB)};
  Pick p = pickProcess(c, MMP_KILL_LARGEST, 0);
  EXPECT_EQ(pidOf(c, p), 2);
  EXPECT_EQ(p.detail, "rss 200MiB");
  EXPECT_EQ(pidOf(c, pickProcess(c, 0, 0)), 2) << "no pick word: largest";
}

TEST(PickProcess, EqualRssGoesToTheFirstListed) {
  std::vector<ProcessCandidate> c{proc(1, 10 * MiB), proc(2, 64 * MiB), proc(3, 64 * MiB)};
  EXPECT_EQ(pidOf(c, pickProcess(c, 0, 0)), 2);
}

TEST(PickProcess, OldestYoungestGrowing) {
  // An old large steady process and a young smaller one that grew fast.
  std::vector<ProcessCandidate> c{proc(1, 400 * MiB, 1000), proc(2, 100 * MiB, 2)};
  EXPECT_EQ(pidOf(c, pickProcess(c, MMP_KILL_OLDEST, 0)), 1);
  EXPECT_EQ(pidOf(c, pickProcess(c, MMP_KILL_YOUNGEST, 0)), 2);
  Pick g = pickProcess(c, MMP_KILL_GROWING, 0);
  EXPECT_EQ(pidOf(c, g), 2);
  EXPECT_EQ(g.detail, "rss 100MiB, 50MiB/s over its life");
}

TEST(PickProcess, GrowingCountsANewbornAsOneSecondOld) {
  // 10 MiB in 0.01 s would be 1 GiB/s; as one second, 10 MiB/s < 20 MiB/s.
  std::vector<ProcessCandidate> c{proc(1, 10 * MiB, 0.01), proc(2, 40 * MiB, 2)};
  EXPECT_EQ(pidOf(c, pickProcess(c, MMP_KILL_GROWING, 0)), 2);
}

TEST(PickProcess, OomScoreBeatsSize) {
  // The smaller process with oom_score_adj=1000 has the highest score.
  std::vector<ProcessCandidate> c{proc(1, 400 * MiB, 100, 60), proc(2, 200 * MiB, 100, 1012)};
  Pick p = pickProcess(c, MMP_KILL_OOM_SCORE, 0);
  EXPECT_EQ(pidOf(c, p), 2);
  EXPECT_EQ(p.detail, "oom_score 1012, rss 200MiB");
}

TEST(PickProcess, EqualOomScoresGoToTheLargerRss) {
  std::vector<ProcessCandidate> c{proc(1, 100 * MiB, 100, 500), proc(2, 300 * MiB, 100, 500),
                                  proc(3, 900 * MiB, 100, 499)};
  EXPECT_EQ(pidOf(c, pickProcess(c, MMP_KILL_OOM_SCORE, 0)), 2);
}

TEST(PickProcess, SwapKeyTheLargestVmSwapThenRss) {
  std::vector<ProcessCandidate> c{proc(1, 900 * MiB, 100, 0, 0), proc(2, 10 * MiB, 100, 0, GiB),
                                  proc(3, 20 * MiB, 100, 0, GiB)};
  Pick p = pickProcess(c, MMP_KILL_SWAP, 0);
  EXPECT_EQ(pidOf(c, p), 3) << "equal swap: the larger RSS";
  EXPECT_EQ(p.detail, "swap 1GiB, rss 20MiB");
}

TEST(PickProcess, AboveKeepsOnlyCandidatesOverTheThreshold) {
  std::vector<ProcessCandidate> c{proc(1, 900 * MiB, 1000, 300), proc(2, 10 * MiB, 10, 850),
                                  proc(3, 20 * MiB, 50, 900)};
  EXPECT_EQ(pidOf(c, pickProcess(c, MMP_KILL_OOM_SCORE | MMP_KILL_ABOVE, 800)), 3);
  // oldest among those above 800: not the oldest of all.
  EXPECT_EQ(pidOf(c, pickProcess(c, MMP_KILL_OLDEST | MMP_KILL_OOM_SCORE | MMP_KILL_ABOVE, 800)), 3);
  EXPECT_EQ(pidOf(c, pickProcess(c, MMP_KILL_YOUNGEST | MMP_KILL_OOM_SCORE | MMP_KILL_ABOVE, 800)), 2);
  // Bytes: RSS above 15 MiB, the youngest of them.
  EXPECT_EQ(pidOf(c, pickProcess(c, MMP_KILL_YOUNGEST | MMP_KILL_ABOVE, 15 * MiB)), 3);
}

TEST(PickProcess, NothingAboveTheThresholdIsNoVictimWithAReason) {
  std::vector<ProcessCandidate> c{proc(1, 100 * MiB, 100, 800, 0), proc(2, 200 * MiB, 100, 10, GiB)};
  Pick p = pickProcess(c, MMP_KILL_OOM_SCORE | MMP_KILL_ABOVE, 800);
  EXPECT_FALSE(p.victim) << "800 is not above 800";
  EXPECT_TRUE(p.noneQualified()) << "the threshold left both out: no victim, not a failure";
  EXPECT_EQ(p.detail, "no process has an oom_score above 800");
  p = pickProcess(c, MMP_KILL_SWAP | MMP_KILL_ABOVE, 5 * GiB);
  EXPECT_FALSE(p.victim);
  EXPECT_EQ(p.detail, "no process uses more than 5GiB of swap");
  p = pickProcess(c, MMP_KILL_ABOVE, GiB);
  EXPECT_FALSE(p.victim);
  EXPECT_EQ(p.detail, "no process uses more than 1GiB of RSS");
}

TEST(PickProcess, SignalBitsDoNotChangeThePick) {
  std::vector<ProcessCandidate> c{proc(1, 10 * MiB), proc(2, 20 * MiB)};
  EXPECT_EQ(pidOf(c, pickProcess(c, 15u << MMP_KILL_SIGNAL_SHIFT, 0)), 2);
}

// Cgroups.

TEST(PickCgroup, NoCandidatesNoVictim) {
  EXPECT_FALSE(pickCgroup({}, MMP_KILL_CGROUP, 0).victim);
  EXPECT_FALSE(pickCgroup({}, MMP_KILL_CGROUP | MMP_KILL_SIZE_OR_GROWTH, 0).victim);
  EXPECT_FALSE(pickCgroup({}, MMP_KILL_CGROUP | MMP_KILL_RECLAIM, 0).victim);
}

TEST(PickCgroup, WithoutAKeyTheLargestUsageThenTheFirst) {
  std::vector<CgroupCandidate> c{cg("/a", GiB), cg("/b", 3 * GiB), cg("/c", 3 * GiB)};
  Pick p = pickCgroup(c, MMP_KILL_CGROUP, 0);
  EXPECT_EQ(pathOf(c, p), "/b");
  EXPECT_EQ(p.detail, "usage 3GiB");
  EXPECT_EQ(pathOf(c, pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_OLDEST, 0)), "/b") << "equal ages: the larger";
}

TEST(PickCgroup, OldestYoungestGrowing) {
  std::vector<CgroupCandidate> c{cg("/old", 4 * GiB, 3600), cg("/young", 512 * MiB, 4), cg("/mid", GiB, 60)};
  EXPECT_EQ(pathOf(c, pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_OLDEST, 0)), "/old");
  EXPECT_EQ(pathOf(c, pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_YOUNGEST, 0)), "/young");
  EXPECT_EQ(pathOf(c, pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_GROWING, 0)), "/young");
}

TEST(PickCgroup, SwapKeyAndItsThreshold) {
  std::vector<CgroupCandidate> c{cg("/a", 8 * GiB), cg("/b", GiB), cg("/c", GiB)};
  c[0].swap = 0;
  c[1].swap = 2 * GiB;
  c[2].swap = 2 * GiB;
  c[2].usage = 2 * GiB;
  Pick p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_SWAP, 0);
  EXPECT_EQ(pathOf(c, p), "/c") << "equal swap: the larger usage";
  EXPECT_EQ(p.detail, "swap 2GiB, usage 2GiB");
  EXPECT_EQ(pathOf(c, pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_SWAP | MMP_KILL_ABOVE, GiB)), "/c");
  p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_SWAP | MMP_KILL_ABOVE, 5 * GiB);
  EXPECT_FALSE(p.victim);
  EXPECT_EQ(p.detail, "no cgroup uses more than 5GiB of swap");
}

TEST(PickCgroup, SwapNotAccountedFallsBackToUsageAndSaysSo) {
  std::vector<CgroupCandidate> c{cg("/a", 8 * GiB), cg("/b", GiB)};
  c[1].swap = 4 * GiB;  // one without: every candidate by usage
  Pick p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_SWAP, 0);
  EXPECT_EQ(pathOf(c, p), "/a");
  EXPECT_NE(p.detail.find("swap is not accounted"), std::string::npos) << p.detail;
  p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_SWAP | MMP_KILL_ABOVE, 16 * GiB);
  EXPECT_FALSE(p.victim);
  EXPECT_NE(p.detail.find("no cgroup uses more than 16GiB; swap is not accounted"), std::string::npos) << p.detail;
}

TEST(PickCgroup, ReclaimTheHighestPgscanRateThenUsage) {
  std::vector<CgroupCandidate> c{cg("/big", 8 * GiB), cg("/scanned", GiB), cg("/also", 2 * GiB)};
  for (auto& x : c) x.pgscan = 1000000;
  c[0].pgscanRate = 10;
  c[1].pgscanRate = 5000;
  c[2].pgscanRate = 5000;
  Pick p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_RECLAIM, 0);
  EXPECT_EQ(pathOf(c, p), "/also") << "equal rates: the larger usage";
  EXPECT_EQ(p.detail, "pgscan 5000.0/s since the previous sample, usage 2GiB");
}

TEST(PickCgroup, ReclaimWithoutAnEarlierSampleUsesTheRateOverItsLife) {
  std::vector<CgroupCandidate> c{cg("/a", GiB, 100), cg("/b", GiB, 10)};
  c[0].pgscan = 50000;  // 500/s over its life
  c[1].pgscan = 20000;  // 2000/s
  Pick p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_RECLAIM, 0);
  EXPECT_EQ(pathOf(c, p), "/b");
  EXPECT_EQ(p.detail, "pgscan 2000.0/s over its life (no earlier sample), usage 1GiB");
  c[0].pgscanRate = 3000;  // one with a sample: its measured rate wins
  EXPECT_EQ(pathOf(c, pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_RECLAIM, 0)), "/a");
}

TEST(PickCgroup, ReclaimWithoutPgscanFallsBackToUsageAndSaysSo) {
  std::vector<CgroupCandidate> c{cg("/a", GiB), cg("/b", 2 * GiB)};
  Pick p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_RECLAIM, 0);
  EXPECT_EQ(pathOf(c, p), "/b");
  EXPECT_EQ(p.detail, "usage 2GiB; memory.stat has no pgscan here (cgroup v1): by usage");
}

// by pressure: oomd's kill_by_pressure, the cgroup stalling most.
TEST(PickCgroup, PressureTheMostStalledThenUsage) {
  std::vector<CgroupCandidate> c{cg("/big", 8 * GiB), cg("/stalled", GiB), cg("/also", 2 * GiB)};
  c[0].pressure = 0.5;
  c[1].pressure = 42.25;
  c[2].pressure = 42.25;
  Pick p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_PRESSURE, 0);
  EXPECT_EQ(pathOf(c, p), "/also") << "equal pressure: the larger usage";
  EXPECT_EQ(p.detail, "memory pressure full 42.25% (avg10 and avg60 averaged), usage 2GiB");
  EXPECT_EQ(p.key, "pressure");
  ASSERT_EQ(p.ranking.size(), 3u);
  EXPECT_EQ(p.ranking[0].value, "42.25%");
  EXPECT_EQ(p.ranking[2].value, "0.50%");
}

TEST(PickCgroup, PressureWithoutPsiFallsBackToUsageAndSaysSo) {
  std::vector<CgroupCandidate> c{cg("/a", GiB), cg("/b", 2 * GiB)};
  c[0].pressure = 90;  // one without it (v1, no PSI): usage decides for all
  Pick p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_PRESSURE, 0);
  EXPECT_EQ(pathOf(c, p), "/b");
  EXPECT_EQ(p.detail, "usage 2GiB; no memory.pressure here (cgroup v1, or a kernel without PSI): by usage");
}

TEST(PickCgroup, ReclaimThreshold) {
  std::vector<CgroupCandidate> c{cg("/a", GiB), cg("/b", 2 * GiB)};
  for (auto& x : c) x.pgscan = 0;
  c[0].pgscanRate = 100;
  c[1].pgscanRate = 50;
  EXPECT_EQ(pathOf(c, pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_RECLAIM | MMP_KILL_ABOVE, 60)), "/a");
  Pick p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_RECLAIM | MMP_KILL_ABOVE, 100);
  EXPECT_FALSE(p.victim);
  EXPECT_EQ(p.detail, "no cgroup scans more than 100 pages/s");
}

TEST(PickCgroup, UsageThreshold) {
  std::vector<CgroupCandidate> c{cg("/a", GiB, 1000), cg("/b", 3 * GiB, 10)};
  EXPECT_EQ(pathOf(c, pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_OLDEST | MMP_KILL_ABOVE, 2 * GiB)), "/b");
  Pick p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_ABOVE, 3 * GiB);
  EXPECT_FALSE(p.victim);
  EXPECT_EQ(p.detail, "no cgroup uses more than 3GiB");
}

constexpr uint32_t kSizeOrGrowth = MMP_KILL_CGROUP | MMP_KILL_SIZE_OR_GROWTH;

TEST(PickCgroup, SizeOrGrowthOneOverHalfOfAllIsTheVictim) {
  // /big uses 6 of 10 GiB; /fast grows faster but is not considered.
  std::vector<CgroupCandidate> c{cg("/fast", 2 * GiB, 1), cg("/big", 6 * GiB, 3600), cg("/c", GiB), cg("/d", GiB)};
  Pick p = pickCgroup(c, kSizeOrGrowth, 0);
  EXPECT_EQ(pathOf(c, p), "/big");
  EXPECT_NE(p.detail.find("60% of the candidates' 10GiB"), std::string::npos) << p.detail;
}

TEST(PickCgroup, SizeOrGrowthExactlyHalfIsNotOver) {
  // /big uses exactly 50%: the growth rule. Of five, the 80th percentile
  // by nearest rank is the 4th smallest: /b and /big are considered, and
  // /b grows faster (/c and /d faster still, but they are small).
  std::vector<CgroupCandidate> c{cg("/big", 10 * GiB, 3600), cg("/b", 6 * GiB, 10), cg("/c", 2 * GiB, 1),
                                 cg("/d", GiB, 1), cg("/e", GiB, 1)};
  Pick p = pickCgroup(c, kSizeOrGrowth, 0);
  EXPECT_EQ(pathOf(c, p), "/b");
  EXPECT_NE(p.detail.find("80th percentile"), std::string::npos) << p.detail;
}

TEST(PickCgroup, SizeOrGrowthTheFastestGrowingAtOrAboveThe80thPercentile) {
  // Ten candidates: by nearest rank the 80th percentile is the 8th smallest
  // usage (800 MiB), so /h, /i and /j are considered; /a grows fastest of
  // all but is small; of the three, /i grows fastest.
  std::vector<CgroupCandidate> c;
  for (int i = 0; i < 10; ++i) c.push_back(cg(std::string("/") + char('a' + i), (i + 1) * 100 * MiB, 1000));
  c[0].age = 1;    // 100 MiB/s
  c[8].age = 100;  // 9 MiB/s
  c[9].age = 500;  // 2 MiB/s
  Pick p = pickCgroup(c, kSizeOrGrowth, 0);
  EXPECT_EQ(pathOf(c, p), "/i");
  EXPECT_NE(p.detail.find("80th percentile of usage (800MiB)"), std::string::npos) << p.detail;
  c[7].age = 10;  // /h, exactly at the percentile: 80 MiB/s
  EXPECT_EQ(pathOf(c, pickCgroup(c, kSizeOrGrowth, 0)), "/h");
}

TEST(PickCgroup, SizeOrGrowthSmallSets) {
  std::vector<CgroupCandidate> one{cg("/only", MiB)};
  EXPECT_EQ(pathOf(one, pickCgroup(one, kSizeOrGrowth, 0)), "/only");
  // Nothing used: no one over half; all at the percentile, none growing: the first.
  std::vector<CgroupCandidate> idle{cg("/a", 0), cg("/b", 0)};
  EXPECT_EQ(pathOf(idle, pickCgroup(idle, kSizeOrGrowth, 0)), "/a");
  // Two equal halves: the faster growing.
  std::vector<CgroupCandidate> two{cg("/a", GiB, 100), cg("/b", GiB, 10)};
  EXPECT_EQ(pathOf(two, pickCgroup(two, kSizeOrGrowth, 0)), "/b");
}

TEST(PickCgroup, SizeOrGrowthAmongThoseAboveTheThreshold) {
  // Only /b and /c use more than 1 GiB; of them /c uses over half.
  std::vector<CgroupCandidate> c{cg("/a", GiB / 2), cg("/b", 2 * GiB), cg("/c", 3 * GiB)};
  EXPECT_EQ(pathOf(c, pickCgroup(c, kSizeOrGrowth | MMP_KILL_ABOVE, GiB)), "/c");
  EXPECT_FALSE(pickCgroup(c, kSizeOrGrowth | MMP_KILL_ABOVE, 4 * GiB).victim);
}

// The candidate table: why this victim.

std::vector<std::string> verdicts(const Pick& p) {
  std::vector<std::string> out;
  for (const auto& r : p.ranking) out.push_back(std::to_string(r.index) + " " + r.value + " " + r.verdict);
  return out;
}

TEST(Ranking, VictimFirstThenByKeyThenUnderTheThreshold) {
  std::vector<ProcessCandidate> c{proc(1, 10 * MiB), proc(2, 200 * MiB), proc(3, 50 * MiB), proc(4, 150 * MiB)};
  Pick p = pickProcess(c, MMP_KILL_ABOVE, 40 * MiB);
  EXPECT_EQ(p.key, "rss");
  EXPECT_EQ(verdicts(p), (std::vector<std::string>{"1 200MiB victim", "3 150MiB ranked lower", "2 50MiB ranked lower",
                                                   "0 10MiB under the threshold"}));
}

TEST(Ranking, NoVictimStillShowsWhy) {
  std::vector<ProcessCandidate> c{proc(1, 10 * MiB, 100, 300), proc(2, 20 * MiB, 100, 500)};
  Pick p = pickProcess(c, MMP_KILL_OOM_SCORE | MMP_KILL_ABOVE, 800);
  EXPECT_FALSE(p.victim);
  EXPECT_EQ(p.key, "oom_score");
  EXPECT_EQ(verdicts(p), (std::vector<std::string>{"0 300 under the threshold", "1 500 under the threshold"}));
}

TEST(Ranking, TiesRankAsThePickBreaksThem) {
  // Equal oom_score: the larger RSS first, then the first listed.
  std::vector<ProcessCandidate> c{proc(1, 10 * MiB, 100, 700), proc(2, 30 * MiB, 100, 700),
                                  proc(3, 30 * MiB, 100, 700)};
  Pick p = pickProcess(c, MMP_KILL_OOM_SCORE, 0);
  EXPECT_EQ(pidOf(c, p), 2);
  EXPECT_EQ(verdicts(p), (std::vector<std::string>{"1 700 victim", "2 700 ranked lower", "0 700 ranked lower"}));
}

TEST(Ranking, TheKeyFollowsThePick) {
  std::vector<ProcessCandidate> c{proc(1, 400 * MiB, 1024), proc(2, 100 * MiB, 2)};
  Pick oldest = pickProcess(c, MMP_KILL_OLDEST, 0);
  EXPECT_EQ(oldest.key, "age");
  EXPECT_EQ(verdicts(oldest), (std::vector<std::string>{"0 1024.0s victim", "1 2.0s ranked lower"}));
  Pick growing = pickProcess(c, MMP_KILL_GROWING, 0);
  EXPECT_EQ(growing.key, "rss/s");
  EXPECT_EQ(verdicts(growing), (std::vector<std::string>{"1 50MiB/s victim", "0 400KiB/s ranked lower"}));
}

TEST(Ranking, SizeOrGrowthPutsItsVictimFirst) {
  // None over half; of the top 20% by usage (just "/b"), the fastest growing.
  std::vector<CgroupCandidate> c{cg("/a", 30 * MiB, 100), cg("/b", 40 * MiB, 1000), cg("/c", 35 * MiB, 10)};
  Pick p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_SIZE_OR_GROWTH, 0);
  ASSERT_TRUE(p.victim);
  EXPECT_EQ(p.key, "usage");
  ASSERT_EQ(p.ranking.size(), 3u);
  EXPECT_EQ(p.ranking[0].index, *p.victim);
  EXPECT_EQ(p.ranking[0].verdict, "victim");
  EXPECT_EQ(p.ranking[1].verdict, "ranked lower");
}

TEST(CandidateTable, TopRowsThenExcludedThenACount) {
  std::vector<ProcessCandidate> c;
  for (int i = 1; i <= 7; ++i) c.push_back(proc(i, static_cast<uint64_t>(i) * MiB));
  Pick p = pickProcess(c, 0, 0);
  std::vector<CandidateRow> excluded{{"pid 99", "", "", "gone"}, {"pid 98", "", "", "gone"},
                                     {"pid 97", "", "", "gone"}, {"pid 96", "", "", "gone"}};
  std::vector<CandidateRow> rows;
  size_t omitted = 0;
  candidateTable(p, [&](size_t i) { return "pid " + std::to_string(c[i].pid); }, excluded, rows, omitted);
  ASSERT_EQ(rows.size(), kTableRows);
  EXPECT_EQ(rows[0].who, "pid 7");
  EXPECT_EQ(rows[0].key, "rss");
  EXPECT_EQ(rows[0].value, "7MiB");
  EXPECT_EQ(rows[0].verdict, "victim");
  EXPECT_EQ(rows[kRankedRows - 1].who, "pid 3");
  EXPECT_EQ(rows[kRankedRows].who, "pid 99");
  EXPECT_EQ(rows[kRankedRows].verdict, "gone");
  EXPECT_EQ(omitted, 7 + 4 - kTableRows);
}

// by over_request: kubelet's order, BestEffort (no request) first, then
// Burstable by how far over its request, never a pod at or under it.

CgroupCandidate pod(std::string path, uint64_t usage, std::optional<uint64_t> request) {
  CgroupCandidate c = cg(std::move(path), usage);
  c.request = request;
  return c;
}

TEST(PickCgroup, OverRequestTakesNoRequestFirstThenTheFurthestOver) {
  std::vector<CgroupCandidate> c{pod("/burstable/a", 900 * MiB, 100 * MiB), pod("/besteffort/b", 50 * MiB, 0),
                                 pod("/burstable/c", 300 * MiB, 100 * MiB), pod("/burstable/d", 80 * MiB, 100 * MiB)};
  uint32_t flags = MMP_KILL_CGROUP | MMP_KILL_OVER_REQUEST;
  Pick p = pickCgroup(c, flags, 0);
  EXPECT_EQ(pathOf(c, p), "/besteffort/b");
  EXPECT_EQ(p.key, "over_request");
  EXPECT_EQ(p.detail, "usage 50MiB, 50MiB (no request)");
  EXPECT_EQ(verdicts(p), (std::vector<std::string>{"1 50MiB (no request) victim", "0 800MiB over 100MiB ranked lower",
                                                   "2 200MiB over 100MiB ranked lower",
                                                   "3 0B over 100MiB at or under its request"}));
  // The BestEffort pod gone: the Burstable pod furthest over its request.
  c.erase(c.begin() + 1);
  EXPECT_EQ(pathOf(c, pickCgroup(c, flags, 0)), "/burstable/a");
}

TEST(PickCgroup, OverRequestNeverTakesAPodAtOrUnderItsRequest) {
  std::vector<CgroupCandidate> c{pod("/burstable/a", 100 * MiB, 100 * MiB), pod("/guaranteed/g", 1 * GiB, MMP_UNLIMITED)};
  Pick p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_OVER_REQUEST, 0);
  EXPECT_FALSE(p.victim);
  EXPECT_EQ(p.detail, "no cgroup uses more than its request");
  EXPECT_EQ(verdicts(p), (std::vector<std::string>{"0 0B over 100MiB at or under its request",
                                                   "1 0B over max at or under its request"}));
}

TEST(PickCgroup, OverRequestWithAThreshold) {
  std::vector<CgroupCandidate> c{pod("/burstable/a", 150 * MiB, 100 * MiB), pod("/besteffort/b", 40 * MiB, 0)};
  uint32_t flags = MMP_KILL_CGROUP | MMP_KILL_OVER_REQUEST | MMP_KILL_ABOVE;
  EXPECT_EQ(pathOf(c, pickCgroup(c, flags, 32 * MiB)), "/besteffort/b");
  EXPECT_EQ(pathOf(c, pickCgroup(c, flags, 45 * MiB)), "/burstable/a");
  Pick none = pickCgroup(c, flags, 64 * MiB);
  EXPECT_FALSE(none.victim);
  EXPECT_EQ(none.detail, "no cgroup uses more than 64MiB over its request");
}

TEST(PickCgroup, OverRequestOnV1ByUsageAndSaysSo) {
  std::vector<CgroupCandidate> c{pod("/a", 10 * MiB, std::nullopt), pod("/b", 20 * MiB, std::nullopt)};
  Pick p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_OVER_REQUEST, 0);
  EXPECT_EQ(pathOf(c, p), "/b");
  EXPECT_NE(p.detail.find("cgroup v1 has no memory.min or memory.low"), std::string::npos) << p.detail;
}

TEST(SignalName, ByName) {
  EXPECT_EQ(signalName(0), "SIGKILL");
  EXPECT_EQ(signalName(9), "SIGKILL");
  EXPECT_EQ(signalName(15), "SIGTERM");
  EXPECT_EQ(signalName(1), "SIGHUP");
  EXPECT_EQ(signalName(200), "signal 200");
}

}  // namespace
}  // namespace mmp::runtime

// A kill's victim already on its way out is not killed again (docs/runtime.md, "Kills").
TEST(DyingStatus, SigkillPendingStoppedOrDead) {
  using mmp::runtime::dyingStatus;
  std::string live = "Name:\ttail\nState:\tR (running)\nThreads:\t1\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n";
  EXPECT_FALSE(dyingStatus(live));
  // The OOM killer's victim: SIGKILL queued to the thread group.
  EXPECT_TRUE(dyingStatus("State:\tD (disk sleep)\nThreads:\t1\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000100\n"));
  // Or to the thread itself.
  EXPECT_TRUE(dyingStatus("State:\tR (running)\nThreads:\t1\nSigPnd:\t0000000000000100\nShdPnd:\t0000000000000000\n"));
  // SIGTERM (bit 14) and SIGUSR1 (bit 9) pending are not a kill.
  EXPECT_FALSE(dyingStatus("State:\tS (sleeping)\nThreads:\t1\nSigPnd:\t0000000000000200\nShdPnd:\t0000000000004000\n"));
  EXPECT_TRUE(dyingStatus("State:\tZ (zombie)\nThreads:\t1\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n"));
  EXPECT_TRUE(dyingStatus("State:\tX (dead)\nThreads:\t1\n"));
  // A leader that called pthread_exit shows Z while its other threads run.
  EXPECT_FALSE(dyingStatus("State:\tZ (zombie)\nThreads:\t3\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n"));
}

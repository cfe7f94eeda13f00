// `prefer` and `avoid` as mmrun applies them (runtime/actions/preferences.cpp)
// and as the pick ranks by them (runtime/actions/victims.cpp): tiers before
// the key, avoid winning over prefer, the detail naming what decided.
#include "actions/preferences.h"

#include <gtest/gtest.h>

#include "abi/mmp_abi.h"
#include "actions/victims.h"

namespace mmp::runtime {
namespace {

constexpr uint64_t MiB = 1ull << 20;

Preferences compiled(const std::vector<ManifestPreference>& specs) {
  auto p = Preferences::compile(specs);
  EXPECT_TRUE(static_cast<bool>(p)) << (p ? "" : llvm::toString(p.takeError()));
  return p ? std::move(*p) : Preferences{};
}

ProcessCandidate proc(int pid, uint64_t rss, const PreferenceVerdict& v = {}) {
  ProcessCandidate p{pid, rss, 0, 0, 100};
  p.preference = v.rank;
  p.preferredBy = v.by;
  return p;
}

CgroupCandidate cg(std::string path, uint64_t usage, const Preferences& prefs) {
  CgroupCandidate c{path, usage, std::nullopt, 100, std::nullopt, std::nullopt};
  PreferenceVerdict v = prefs.ofCgroup(path);
  c.preference = v.rank;
  c.preferredBy = v.by;
  return c;
}

int pidOf(const std::vector<ProcessCandidate>& c, const Pick& p) { return p.victim ? c[*p.victim].pid : -1; }

TEST(Preferences, CgroupPatternsMatchTheCgroupAndBelow) {
  Preferences p = compiled({{false, "cgroup", "/user.slice/*/app-*.scope", "p.mmp:3"}});
  EXPECT_EQ(p.ofCgroup("/user.slice/user-1000.slice/app-firefox.scope").rank, 1);
  EXPECT_EQ(p.ofCgroup("/user.slice/user-1000.slice/app-firefox.scope/tab").rank, 1) << "below it, as protect";
  EXPECT_EQ(p.ofCgroup("/user.slice/user-1000.slice").rank, 0);
  EXPECT_EQ(p.ofCgroup("/system.slice/app-x.scope").rank, 0);
  EXPECT_EQ(p.ofCgroup("/user.slice/user-1000.slice/app-firefox.scope").by,
            "prefer \"/user.slice/*/app-*.scope\" (p.mmp:3)");
  EXPECT_FALSE(p.ranksProcesses());
}

TEST(Preferences, ProcessNamesAndCommandLinesByRegularExpression) {
  Preferences p = compiled({{false, "process", "^(chrome|firefox)$", "p.mmp:2"},
                            {true, "cmdline", "--role=primary", "p.mmp:3"},
                            {true, "cgroup", "/system.slice/db.service", "p.mmp:4"}});
  EXPECT_TRUE(p.ranksProcesses());
  EXPECT_TRUE(p.readsCommandLine());
  EXPECT_EQ(p.ofProcess("/user.slice", "firefox", "/usr/lib/firefox/firefox").rank, 1);
  EXPECT_EQ(p.ofProcess("/user.slice", "firefox-bin", "firefox-bin").rank, 0) << "anchored: the whole name";
  EXPECT_EQ(p.ofProcess("/user.slice", "postgres", "postgres --role=primary -D /var/lib").rank, -1);
  EXPECT_EQ(p.ofProcess("/system.slice/db.service", "sh", "sh -c x").rank, -1) << "a process by its cgroup";
  // Both: avoid wins, and names the avoid.
  PreferenceVerdict both = p.ofProcess("/user.slice", "chrome", "chrome --role=primary");
  EXPECT_EQ(both.rank, -1);
  EXPECT_EQ(both.by, "avoid cmdline \"--role=primary\" (p.mmp:3)");
}

TEST(Preferences, RefusesWhatItCannotUseAndSaysWhere) {
  auto bad = Preferences::compile({{false, "process", "^(chrome", "p.mmp:7"}});
  ASSERT_FALSE(static_cast<bool>(bad));
  std::string why = llvm::toString(bad.takeError());
  EXPECT_NE(why.find("p.mmp:7"), std::string::npos) << why;
  EXPECT_NE(why.find("not a regular expression"), std::string::npos) << why;
  auto kind = Preferences::compile({{true, "uid", "1000", "p.mmp:8"}});
  ASSERT_FALSE(static_cast<bool>(kind));
  EXPECT_NE(llvm::toString(kind.takeError()).find("unknown kind of preference"), std::string::npos);
  auto pattern = Preferences::compile({{true, "cgroup", "/a//b", "p.mmp:9"}});
  ASSERT_FALSE(static_cast<bool>(pattern));
  llvm::consumeError(pattern.takeError());
}

TEST(PreferredVictim, APreferredProcessGoesFirstAndTheDetailSaysSo) {
  std::vector<ProcessCandidate> c{proc(1, 400 * MiB), proc(2, 100 * MiB, {1, "prefer process \"^chrome$\" (p.mmp:2)"})};
  Pick p = pickProcess(c, 0, 0);
  EXPECT_EQ(pidOf(c, p), 2);
  EXPECT_EQ(p.detail, "rss 100MiB; chosen by preference (prefer process \"^chrome$\" (p.mmp:2)) over a candidate the "
                      "key ranks first");
  ASSERT_EQ(p.ranking.size(), 2u);
  EXPECT_EQ(p.ranking[0].verdict, "victim");
  EXPECT_EQ(p.ranking[1].verdict, "ranked lower");
}

TEST(PreferredVictim, AnAvoidedProcessOnlyWhenNoOtherIsLeft) {
  PreferenceVerdict avoid{-1, "avoid process \"^postgres$\" (p.mmp:3)"};
  std::vector<ProcessCandidate> c{proc(1, 800 * MiB, avoid), proc(2, 100 * MiB), proc(3, 50 * MiB)};
  Pick p = pickProcess(c, 0, 0);
  EXPECT_EQ(pidOf(c, p), 2);
  EXPECT_EQ(p.detail, "rss 100MiB; the key's first choice is avoided (avoid process \"^postgres$\" (p.mmp:3)): taken "
                      "only when no other is left");
  ASSERT_EQ(p.ranking.size(), 3u);
  EXPECT_EQ(p.ranking[2].verdict, "avoided: avoid process \"^postgres$\" (p.mmp:3)") << "ranked last";
  // Alone, it goes.
  std::vector<ProcessCandidate> alone{proc(1, 800 * MiB, avoid)};
  Pick last = pickProcess(alone, 0, 0);
  EXPECT_EQ(pidOf(alone, last), 1);
  EXPECT_EQ(last.detail, "rss 800MiB; avoided (avoid process \"^postgres$\" (p.mmp:3)), and no other candidate was left");
}

TEST(PreferredVictim, APreferenceTheKeyAgreesWithIsNamedNotCredited) {
  std::vector<ProcessCandidate> c{proc(1, 400 * MiB, {1, "prefer process \"^java$\" (p.mmp:2)"}), proc(2, 100 * MiB)};
  EXPECT_EQ(pickProcess(c, 0, 0).detail, "rss 400MiB; preferred (prefer process \"^java$\" (p.mmp:2))");
  std::vector<ProcessCandidate> plain{proc(1, 400 * MiB), proc(2, 100 * MiB)};
  EXPECT_EQ(pickProcess(plain, 0, 0).detail, "rss 400MiB") << "no preference, no note";
}

TEST(PreferredVictim, ThresholdsStillDecideWhoIsACandidate) {
  // A preferred process under the key's threshold is no candidate.
  std::vector<ProcessCandidate> c{proc(1, 400 * MiB), proc(2, 10 * MiB, {1, "prefer \"/x\" (p.mmp:2)"})};
  EXPECT_EQ(pidOf(c, pickProcess(c, MMP_KILL_ABOVE, 64 * MiB)), 1);
}

TEST(PreferredVictim, CgroupsAvoidedAsSystemdOomdsManagedOOMPreferenceAvoid) {
  Preferences prefs = compiled({{true, "cgroup", "/system.slice/postgresql.service", "p.mmp:2"}});
  std::vector<CgroupCandidate> c{cg("/system.slice/postgresql.service", 900 * MiB, prefs),
                                 cg("/user.slice/build.scope", 300 * MiB, prefs)};
  Pick p = pickCgroup(c, MMP_KILL_CGROUP, 0);
  ASSERT_TRUE(p.victim);
  EXPECT_EQ(c[*p.victim].path, "/user.slice/build.scope");
  // With over_request, the preference ranks before the request's tier.
  Preferences first = compiled({{false, "cgroup", "/kubepods.slice/*burstable*", "p.mmp:3"}});
  std::vector<CgroupCandidate> pods{cg("/kubepods.slice/besteffort-pod1", 100 * MiB, first),
                                    cg("/kubepods.slice/burstable-pod2", 300 * MiB, first)};
  pods[0].request = 0;
  pods[1].request = 64 * MiB;
  Pick q = pickCgroup(pods, MMP_KILL_CGROUP | MMP_KILL_OVER_REQUEST, 0);
  ASSERT_TRUE(q.victim);
  EXPECT_EQ(pods[*q.victim].path, "/kubepods.slice/burstable-pod2");
  EXPECT_NE(q.detail.find("chosen by preference"), std::string::npos) << q.detail;
}

TEST(PreferredVictim, SizeOrGrowthAmongTheBestPreferenceOnly) {
  Preferences prefs = compiled({{true, "cgroup", "/big", "p.mmp:2"}});
  std::vector<CgroupCandidate> c{cg("/big", 900 * MiB, prefs), cg("/a", 60 * MiB, prefs), cg("/b", 40 * MiB, prefs)};
  Pick p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_SIZE_OR_GROWTH, 0);
  ASSERT_TRUE(p.victim);
  EXPECT_EQ(c[*p.victim].path, "/a") << p.detail;
  EXPECT_NE(p.detail.find("the key's first choice is avoided"), std::string::npos) << p.detail;
}

}  // namespace
}  // namespace mmp::runtime

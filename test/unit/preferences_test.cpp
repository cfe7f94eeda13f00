// `prefer` and `avoid` as mmrun applies them (runtime/actions/preferences.cpp)
// and as the pick ranks by them (runtime/actions/victims.cpp): tiers before
// the key, avoid winning over prefer, the detail naming what decided.
#include "actions/preferences.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

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

ProcessTexts texts(std::string name, std::string cmdline) {
  ProcessTexts t;
  t.name = std::move(name);
  t.cmdline = std::move(cmdline);
  return t;
}

int pidOf(const std::vector<ProcessCandidate>& c, const Pick& p) { return p.victim ? c[*p.victim].pid : -1; }

TEST(Preferences, CgroupPatternsMatchTheCgroupAndBelow) {
  Preferences p = compiled({{PreferenceMode::Prefer, "cgroup", "/user.slice/*/app-*.scope", "p.mmp:3"}});
  EXPECT_EQ(p.ofCgroup("/user.slice/user-1000.slice/app-firefox.scope").rank, 1);
  EXPECT_EQ(p.ofCgroup("/user.slice/user-1000.slice/app-firefox.scope/tab").rank, 1) << "below it, as protect";
  EXPECT_EQ(p.ofCgroup("/user.slice/user-1000.slice").rank, 0);
  EXPECT_EQ(p.ofCgroup("/system.slice/app-x.scope").rank, 0);
  EXPECT_EQ(p.ofCgroup("/user.slice/user-1000.slice/app-firefox.scope").by,
            "prefer \"/user.slice/*/app-*.scope\" (p.mmp:3)");
  EXPECT_FALSE(p.ranksProcesses());
}

TEST(Preferences, ProcessNamesAndCommandLinesByRegularExpression) {
  Preferences p = compiled({{PreferenceMode::Prefer, "process", "^(chrome|firefox)$", "p.mmp:2"},
                            {PreferenceMode::Avoid, "cmdline", "--role=primary", "p.mmp:3"},
                            {PreferenceMode::Avoid, "cgroup", "/system.slice/db.service", "p.mmp:4"}});
  EXPECT_TRUE(p.ranksProcesses());
  EXPECT_EQ(p.ofProcess("/user.slice", texts("firefox", "/usr/lib/firefox/firefox")).rank, 1);
  EXPECT_EQ(p.ofProcess("/user.slice", texts("firefox-bin", "firefox-bin")).rank, 0) << "anchored: the whole name";
  EXPECT_EQ(p.ofProcess("/user.slice", texts("postgres", "postgres --role=primary -D /var/lib")).rank, -1);
  EXPECT_EQ(p.ofProcess("/system.slice/db.service", texts("sh", "sh -c x")).rank, -1) << "a process by its cgroup";
  // Both: avoid wins, and names the avoid.
  PreferenceVerdict both = p.ofProcess("/user.slice", texts("chrome", "chrome --role=primary"));
  EXPECT_EQ(both.rank, -1);
  EXPECT_EQ(both.by, "avoid cmdline \"--role=primary\" (p.mmp:3)");
}

TEST(Preferences, TheOtherTextsOfAProcess) {
  Preferences p = compiled({{PreferenceMode::Prefer, "exe", "^/usr/bin/stress(-ng)?$", "p.mmp:2"},
                            {PreferenceMode::Prefer, "cwd", "^/home/", "p.mmp:3"},
                            {PreferenceMode::Avoid, "uid", "^0$", "p.mmp:4"},
                            {PreferenceMode::Avoid, "environ", "^KEEP=1$", "p.mmp:5"}});
  ProcessTexts t;
  t.exe = "/usr/bin/stress-ng";
  EXPECT_EQ(p.ofProcess("/", t).rank, 1);
  t = {};
  t.cwd = "/home/ann/build";
  EXPECT_EQ(p.ofProcess("/", t).rank, 1);
  t.uid = "0";
  EXPECT_EQ(p.ofProcess("/", t).by, "avoid uid \"^0$\" (p.mmp:4)");
  t = {};
  t.uid = "1000";
  EXPECT_EQ(p.ofProcess("/", t).rank, 0) << "anchored: 1000 is not 0";
  // ^ and $ at each variable of the environment.
  t.environ = "PATH=/bin\nKEEP=1\nHOME=/root";
  EXPECT_EQ(p.ofProcess("/", t).rank, -1);
  t.environ = "PATH=/bin\nKEEP=10";
  EXPECT_EQ(p.ofProcess("/", t).rank, 0);
}

TEST(Preferences, AProtectedProcessIsNoCandidateWhateverElseMatches) {
  Preferences p = compiled({{PreferenceMode::Prefer, "process", "^sshd$", "p.mmp:2"},
                            {PreferenceMode::Protect, "cmdline", "^/usr/sbin/sshd", "p.mmp:3"},
                            {PreferenceMode::Avoid, "process", "^ssh", "p.mmp:4"}});
  EXPECT_TRUE(p.protectsProcesses());
  PreferenceVerdict v = p.ofProcess("/system.slice/ssh.service", texts("sshd", "/usr/sbin/sshd -D"));
  EXPECT_TRUE(v.isProtected);
  EXPECT_EQ(v.by, "protect cmdline \"^/usr/sbin/sshd\" (p.mmp:3)");
  EXPECT_FALSE(p.ofProcess("/", texts("sshd", "sshd: ann [priv]")).isProtected) << "another command line";
  EXPECT_FALSE(compiled({{PreferenceMode::Prefer, "process", "x", "p.mmp:2"}}).protectsProcesses());
  // A cgroup is protected by the manifest's `protect`, never here.
  auto cgroup = Preferences::compile({{PreferenceMode::Protect, "cgroup", "/a", "p.mmp:5"}});
  ASSERT_FALSE(static_cast<bool>(cgroup));
  llvm::consumeError(cgroup.takeError());
}

TEST(Preferences, ReadsTheTextsOfALiveProcess) {
  Preferences p = compiled({{PreferenceMode::Protect, "exe", ".", "p.mmp:2"},
                            {PreferenceMode::Prefer, "cwd", ".", "p.mmp:3"},
                            {PreferenceMode::Prefer, "uid", ".", "p.mmp:4"},
                            {PreferenceMode::Prefer, "environ", ".", "p.mmp:5"}});
  ProcessTexts t = p.readTexts(getpid(), "me");
  EXPECT_EQ(t.exe, std::filesystem::read_symlink("/proc/self/exe").string());
  EXPECT_EQ(t.cwd, std::filesystem::current_path().string());
  EXPECT_EQ(t.uid, std::to_string(geteuid()));
  EXPECT_NE(t.environ.find("PATH="), std::string::npos) << "the environment it started with";
  EXPECT_EQ(t.environ.find('\0'), std::string::npos);
  EXPECT_TRUE(t.cmdline.empty()) << "no `cmdline` preference: not read";
  auto why = p.protectedAmong({getpid()});
  ASSERT_TRUE(why);
  EXPECT_EQ(why->rfind(fmt::format("pid {} (", getpid()), 0), 0u) << *why;
  EXPECT_FALSE(p.protectedAmong({}));
}

TEST(Preferences, RefusesWhatItCannotUseAndSaysWhere) {
  auto bad = Preferences::compile({{PreferenceMode::Prefer, "process", "^(chrome", "p.mmp:7"}});
  ASSERT_FALSE(static_cast<bool>(bad));
  std::string why = llvm::toString(bad.takeError());
  EXPECT_NE(why.find("p.mmp:7"), std::string::npos) << why;
  EXPECT_NE(why.find("not a regular expression"), std::string::npos) << why;
  auto kind = Preferences::compile({{PreferenceMode::Avoid, "shoe", "1000", "p.mmp:8"}});
  ASSERT_FALSE(static_cast<bool>(kind));
  EXPECT_NE(llvm::toString(kind.takeError()).find("unknown kind of preference"), std::string::npos);
  auto pattern = Preferences::compile({{PreferenceMode::Avoid, "cgroup", "/a//b", "p.mmp:9"}});
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
  Preferences prefs = compiled({{PreferenceMode::Avoid, "cgroup", "/system.slice/postgresql.service", "p.mmp:2"}});
  std::vector<CgroupCandidate> c{cg("/system.slice/postgresql.service", 900 * MiB, prefs),
                                 cg("/user.slice/build.scope", 300 * MiB, prefs)};
  Pick p = pickCgroup(c, MMP_KILL_CGROUP, 0);
  ASSERT_TRUE(p.victim);
  EXPECT_EQ(c[*p.victim].path, "/user.slice/build.scope");
  // With over_request, the preference ranks before the request's tier.
  Preferences first = compiled({{PreferenceMode::Prefer, "cgroup", "/kubepods.slice/*burstable*", "p.mmp:3"}});
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
  Preferences prefs = compiled({{PreferenceMode::Avoid, "cgroup", "/big", "p.mmp:2"}});
  std::vector<CgroupCandidate> c{cg("/big", 900 * MiB, prefs), cg("/a", 60 * MiB, prefs), cg("/b", 40 * MiB, prefs)};
  Pick p = pickCgroup(c, MMP_KILL_CGROUP | MMP_KILL_SIZE_OR_GROWTH, 0);
  ASSERT_TRUE(p.victim);
  EXPECT_EQ(c[*p.victim].path, "/a") << p.detail;
  EXPECT_NE(p.detail.find("the key's first choice is avoided"), std::string::npos) << p.detail;
}

}  // namespace
}  // namespace mmp::runtime

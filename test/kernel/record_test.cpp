// The snapshot channel in the running kernel: the periodic walk sends the
// snapshots its `when` rules evaluate (only when loaded to record), and
// the replay program, fed them, makes the decisions the walk made.
#include <bpf/bpf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "replay_fixture.h"

namespace mmp::test {
namespace {

// This process's memory cgroup directory (v1 here, v2 elsewhere).
std::string ownMemoryCgroup() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  bool v1 = access("/sys/fs/cgroup/memory/memory.usage_in_bytes", F_OK) == 0;
  while (std::getline(in, line)) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    std::string controllers = line.substr(a + 1, b - a - 1);
    if (v1 ? ("," + controllers + ",").find(",memory,") != std::string::npos : controllers.empty())
      return (v1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup") + line.substr(b + 1);
  }
  return "";
}

uint64_t inode(const std::string& dir) {
  struct stat st;
  return stat(dir.c_str(), &st) == 0 ? st.st_ino : 0;
}

class Record : public ::testing::Test {
protected:
  void SetUp() override {
    if (auto why = bpfUnavailable()) GTEST_SKIP() << "SKIPPED: " << *why;
    cgroup_ = ownMemoryCgroup();
    ASSERT_FALSE(cgroup_.empty()) << "no memory cgroup in /proc/self/cgroup";
  }
  void TearDown() override {
    if (snapshots_) ring_buffer__free(snapshots_);
  }

  std::unique_ptr<LoadedPolicy> load(const Compiled& c, bool recording) {
    EXPECT_FALSE(c.object.empty()) << c.diagnostics;
    std::string error;
    auto p = LoadedPolicy::load(c, error, recording);
    EXPECT_TRUE(p) << error;
    layout_ = nlohmann::json::parse(c.manifest)["snapshot"];
    return p;
  }
  int mapFd(LoadedPolicy& p, const char* name) { return bpf_map__fd(bpf_object__find_map_by_name(p.object(), name)); }

  // As mmrun does: the cgroup's scope mask, the system fields.
  void prepare(LoadedPolicy& p, uint64_t mask) {
    uint64_t id = inode(cgroup_);
    ASSERT_EQ(bpf_map_update_elem(mapFd(p, MMP_MAP_SCOPES), &id, &mask, BPF_ANY), 0);
    std::vector<uint64_t> system(layout_.size(), 0);
    for (size_t i = 0; i < layout_.size(); ++i)
      if (layout_[i]["field"] == "system.memory.available") system[i] = 5 * kGiB;
    uint32_t zero = 0;
    if (struct bpf_map* m = bpf_object__find_map_by_name(p.object(), "mmp_system")) {
      ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(m), &zero, system.data(), BPF_ANY), 0);
    }
    if (snapshots_) ring_buffer__free(snapshots_);
    snapshots_ = ring_buffer__new(mapFd(p, MMP_MAP_SNAPSHOTS), onSnapshot, &got_, nullptr);
    ASSERT_TRUE(snapshots_);
  }

  // One walk of this process's cgroup alone, as mmrun's tick runs it.
  void walk(LoadedPolicy& p) {
    int fd = open(cgroup_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    union bpf_iter_link_info info {};
    info.cgroup.cgroup_fd = fd;
    info.cgroup.order = BPF_CGROUP_ITER_SELF_ONLY;
    LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info, .link_info_len = sizeof info);
    struct bpf_link* link =
        bpf_program__attach_iter(bpf_object__find_program_by_name(p.object(), MMP_PROG_TICK), &opts);
    ASSERT_TRUE(link);
    int iter = bpf_iter_create(bpf_link__fd(link));
    char buf[64];
    while (iter >= 0 && read(iter, buf, sizeof buf) > 0) {
    }
    if (iter >= 0) close(iter);
    bpf_link__destroy(link);
    close(fd);
  }

  std::vector<std::vector<uint64_t>> drain() {
    got_.clear();
    ring_buffer__consume(snapshots_);
    return got_;
  }
  uint64_t lost(LoadedPolicy& p) {
    uint32_t zero = 0;
    uint64_t lost = 0;
    bpf_map_lookup_elem(mapFd(p, MMP_MAP_SNAPSHOTS_LOST), &zero, &lost);
    return lost;
  }
  size_t field(const std::string& name) {
    for (size_t i = 0; i < layout_.size(); ++i)
      if (layout_[i]["field"] == name) return 3 + i;
    ADD_FAILURE() << "no field " << name;
    return 0;
  }

  static int onSnapshot(void* ctx, void* data, size_t size) {
    std::vector<uint64_t> words(size / 8);
    std::memcpy(words.data(), data, words.size() * 8);
    static_cast<std::vector<std::vector<uint64_t>>*>(ctx)->push_back(words);
    return 0;
  }

  std::string cgroup_;
  nlohmann::json layout_;
  struct ring_buffer* snapshots_ = nullptr;
  std::vector<std::vector<uint64_t>> got_;
};

const char* kPolicy =
    "policy rec\n"
    "when memcg.usage < 1024TiB log \"usage {memcg.usage}\"\n"
    "when system.memory.available > 1B log \"available {system.memory.available}\"\n";

TEST_F(Record, TheWalkSendsNothingUnlessLoadedToRecord) {
  auto p = load(compilePolicy(kPolicy), false);
  ASSERT_TRUE(p);
  prepare(*p, 1);
  walk(*p);
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(p->drainDecisions().size(), 2u);  // it did evaluate
}

TEST_F(Record, ReplayingWhatTheWalkSentMakesItsDecisions) {
  Compiled c = compilePolicy(kPolicy);
  auto live = load(c, true);
  ASSERT_TRUE(live);
  prepare(*live, 1);
  walk(*live);
  auto sent = drain();
  ASSERT_EQ(sent.size(), 2u);
  ASSERT_EQ(sent[0].size(), 3 + layout_.size());
  // The system rules' snapshot first (the walk's first cgroup), then the cgroup's.
  EXPECT_EQ(sent[0][1], 0u);
  EXPECT_EQ(sent[0][2], ~0ULL);
  EXPECT_EQ(sent[0][field("system.memory.available")], 5 * kGiB);
  EXPECT_EQ(sent[0][field("memcg.usage")], 0u);
  EXPECT_EQ(sent[1][1], inode(cgroup_));
  EXPECT_EQ(sent[1][2], 1u);
  EXPECT_EQ(sent[1][field("system.memory.available")], 5 * kGiB);
  EXPECT_GT(sent[1][field("memcg.usage")], 0u);
  EXPECT_GE(sent[1][0], sent[0][0]);
  auto made = live->drainDecisions();
  ASSERT_EQ(made.size(), 2u);

  // A fresh load of the same object, fed the snapshots in order.
  auto replay = load(c, false);
  ASSERT_TRUE(replay);
  std::vector<std::string> want, got;
  for (const auto& d : made) want.push_back(show(d));
  for (const auto& s : sent)
    for (const auto& d : replay->replayWords(s)) got.push_back(show(d));
  EXPECT_EQ(got, want);
}

TEST_F(Record, AFullRingBufferCountsTheLostSnapshots) {
  auto p = load(compilePolicy(kPolicy), true);
  ASSERT_TRUE(p);
  prepare(*p, 1);
  constexpr int kWalks = 300;  // 600 snapshots of 64 bytes: more than the one-page ring holds
  for (int i = 0; i < kWalks; ++i) walk(*p);
  size_t received = drain().size();
  EXPECT_GT(lost(*p), 0u);
  EXPECT_EQ(received + lost(*p), 2u * kWalks);
}

TEST_F(Record, TheRecorderSendsEveryFieldAndActsOnNothing) {
  auto p = load(compileFile(std::string(MMP_TEST_SOURCE_DIR) + "/stdlib/recorder.mmp"), true);
  ASSERT_TRUE(p);
  prepare(*p, 0);  // mmrun record's mask: present, but no scope
  walk(*p);
  auto sent = drain();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1][1], inode(cgroup_));
  EXPECT_GT(sent[1][field("memcg.usage")], 0u);
  EXPECT_EQ(sent[1][field("system.memory.available")], 5 * kGiB);
  EXPECT_TRUE(p->drainDecisions().empty());
}

// memcg.dying_descendants: a child cgroup removed while memory is still
// charged to it (page cache a process in it wrote) stays dying, and its
// parent counts it; before the removal, it counts none.
TEST_F(Record, ARemovedCgroupStillChargedCountsAsDying) {
  const std::string parent = cgroup_ + "/mmp-dying-" + std::to_string(getpid()), child = parent + "/c";
  const std::string file = "/var/tmp/mmp-dying-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(parent.c_str(), 0755), 0) << parent;
  ASSERT_EQ(mkdir(child.c_str(), 0755), 0) << child;
  auto p = load(compileFile(std::string(MMP_TEST_SOURCE_DIR) + "/stdlib/recorder.mmp"), true);
  ASSERT_TRUE(p);
  cgroup_ = parent;  // walk the parent alone
  prepare(*p, 0);
  walk(*p);
  auto before = drain();
  // A process in the child writes 8 MiB of page cache and leaves.
  pid_t pid = fork();
  if (pid == 0) {
    std::ofstream(child + "/cgroup.procs") << getpid() << std::flush;
    std::ofstream out(file);
    std::string block(1 << 20, 'x');
    for (int i = 0; i < 8; ++i) out << block;
    out.flush();
    _exit(out ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(status, 0);
  ASSERT_EQ(rmdir(child.c_str()), 0) << child;
  walk(*p);
  auto after = drain();
  unlink(file.c_str());
  rmdir(parent.c_str());  // a cgroup with only dying children can go
  ASSERT_EQ(before.size(), 2u);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(before[1][field("memcg.dying_descendants")], 0u);
  EXPECT_EQ(after[1][field("memcg.dying_descendants")], 1u);
}

// memory.stat's counters (memcg.anon, memcg.file, memcg.refault.*): the
// programs read the running kernel's slot of each (runtime/stat_slots.h),
// so they read what memory.stat says. A process in a new cgroup holds
// 32 MiB of anonymous memory and 8 MiB of page cache; memory.stat is read
// (which flushes the kernel's counters) and the walk made right after.
TEST_F(Record, MemoryStatCountersReadTheRunningKernelsSlots) {
  const std::string dir = cgroup_ + "/mmp-stat-" + std::to_string(getpid());
  const std::string file = "/var/tmp/mmp-stat-" + std::to_string(getpid());
  const bool v1 = access("/sys/fs/cgroup/memory/memory.usage_in_bytes", F_OK) == 0;
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0) << dir;
  auto p = load(compileFile(std::string(MMP_TEST_SOURCE_DIR) + "/stdlib/recorder.mmp"), true);
  ASSERT_TRUE(p);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  if (pid == 0) {
    std::ofstream(dir + "/cgroup.procs") << getpid() << std::flush;
    constexpr size_t kAnon = 32 << 20;
    char* anon = static_cast<char*>(malloc(kAnon));
    for (size_t i = 0; i < kAnon; i += 4096) anon[i] = 1;
    {
      std::ofstream out(file);
      std::string block(1 << 20, 'x');
      for (int i = 0; i < 8; ++i) out << block;
    }
    char c = anon[kAnon / 2];
    if (write(ready[1], &c, 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  close(ready[1]);
  // memory.stat: v1 names the hierarchical counters total_*.
  std::map<std::string, uint64_t> stat;
  {
    std::ifstream in(dir + "/memory.stat");
    std::string name;
    uint64_t value;
    while (in >> name >> value) stat[name] = value;
  }
  cgroup_ = dir;
  prepare(*p, 0);
  walk(*p);
  auto sent = drain();
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  unlink(file.c_str());
  rmdir(dir.c_str());
  ASSERT_EQ(sent.size(), 2u);
  const std::string pre = v1 ? "total_" : "";
  auto want = [&](const std::string& name) {
    auto it = stat.find(pre + name);
    EXPECT_NE(it, stat.end()) << "memory.stat has no " << pre + name;
    return it == stat.end() ? 0 : it->second;
  };
  // The counters may move between the read and the walk by a few pages.
  constexpr uint64_t kSlack = 256 << 10;
  uint64_t anon = sent[1][field("memcg.anon")], file_ = sent[1][field("memcg.file")];
  EXPECT_GE(anon, 32ULL << 20);
  EXPECT_NEAR(static_cast<double>(anon), static_cast<double>(want(v1 ? "rss" : "anon")), kSlack);
  EXPECT_GE(file_, 8ULL << 20);
  EXPECT_NEAR(static_cast<double>(file_), static_cast<double>(want(v1 ? "cache" : "file")), kSlack);
  EXPECT_EQ(sent[1][field("memcg.refault.anon")], want("workingset_refault_anon"));
  EXPECT_EQ(sent[1][field("memcg.refault.file")], want("workingset_refault_file"));
}

}  // namespace
}  // namespace mmp::test

// `mmrun record --for D > TRACE.jsonl`: loads the recorder object (a
// policy that reads every memcg and system field, stdlib/recorder.mmp,
// compiled at build time and installed next to mmrun) with its snapshot
// channel on, and walks every cgroup each interval. Its rules never act:
// each cgroup's scope mask is 0, so the programs send the snapshot and no
// memcg rule runs; its system rules cannot hold. The values are those the
// BPF programs read, as for any policy.
#include <bpf/bpf.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <set>

#include "abi/mmp_abi.h"
#include "commands.h"
#include "snapshot_channel.h"
#include "system_fields.h"

namespace mmp::runtime {

namespace {

namespace fs = std::filesystem;

volatile sig_atomic_t stopRequested = 0;
void onStop(int) { stopRequested = 1; }

int ignoreDecision(void*, void*, size_t) { return 0; }

// Next to mmrun in the build tree, or in ../lib/mmp when installed.
std::string defaultRecorder() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (const char* rel : {"mmp_recorder.bpf.o", "../lib/mmp/mmp_recorder.bpf.o"})
    if (fs::path p = exe.parent_path() / rel; fs::exists(p, ec)) return p.string();
  return (exe.parent_path() / "mmp_recorder.bpf.o").string();
}

// Every cgroup gets an entry of mask 0: present, so the programs fill and
// send its snapshot; 0, so no rule of the recorder runs on it.
void coverAll(struct bpf_map* scopes, const std::vector<Cgroup>& cgroups, std::set<uint64_t>& written) {
  int fd = bpf_map__fd(scopes);
  std::set<uint64_t> now;
  uint64_t zero = 0;
  for (const auto& c : cgroups) {
    now.insert(c.id);
    if (!written.count(c.id)) bpf_map_update_elem(fd, &c.id, &zero, BPF_ANY);
  }
  for (uint64_t id : written)
    if (!now.count(id)) bpf_map_delete_elem(fd, &id);
  written = std::move(now);
}

int error(const std::string& what) {
  std::cerr << fmt::format("mmrun: error: {}\n", what);
  return 1;
}

}  // namespace

int runRecord(const RecordOptions& o) {
  auto h = findMemoryHierarchy(o.cgroupRoot);
  if (!h) return error(llvm::toString(h.takeError()));
  std::string object = o.recorder.empty() ? defaultRecorder() : o.recorder;
  std::error_code ec;
  if (!fs::exists(object, ec))
    return error(fmt::format("no recorder object at '{}': it is built with mmrun where the build machine has kernel "
                             "BTF (or pass --recorder, an object compiled from stdlib/recorder.mmp)",
                             object));
  auto policy = Policy::load(object, *h, {.record = true});
  if (!policy) return error(llvm::toString(policy.takeError()));
  struct ring_buffer* rb = ring_buffer__new((*policy)->decisionsFd(), ignoreDecision, nullptr, nullptr);
  if (!rb) return error("cannot open the decisions ring buffer");
  auto channel = SnapshotChannel::start(**policy, *h, rb, std::cout, "mmrun record");
  if (!channel) {
    ring_buffer__free(rb);
    return error(llvm::toString(channel.takeError()));
  }
  struct sigaction sa {};
  sa.sa_handler = onStop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  const Manifest& m = (*policy)->manifest();
  std::set<uint64_t> covered;
  auto start = std::chrono::steady_clock::now();
  auto end = start + std::chrono::nanoseconds(o.forNs);
  auto next = start;
  uint64_t walks = 0;
  while (!stopRequested && std::chrono::steady_clock::now() < end) {
    if (std::chrono::steady_clock::now() >= next) {
      coverAll((*policy)->map(MMP_MAP_SCOPES), listCgroups(*h), covered);
      refreshSystemFields(m, (*policy)->map("mmp_system"));
      if (!(*policy)->tick()) std::cerr << "mmrun: warning: a walk failed\n";
      ++walks;
      next += std::chrono::nanoseconds(o.intervalNs);
      auto now = std::chrono::steady_clock::now();
      if (next < now) next = now + std::chrono::nanoseconds(o.intervalNs);  // fell behind: do not burst
    }
    auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::min(next, end) - std::chrono::steady_clock::now());
    ring_buffer__poll(rb, static_cast<int>(std::max<int64_t>(0, wait.count())));
  }
  ring_buffer__consume(rb);
  uint64_t written = (*channel)->written(), lost = (*channel)->lost();
  channel->reset();
  ring_buffer__free(rb);
  std::cerr << fmt::format("mmrun: recorded {} snapshots in {} walks of {}\n", written, walks, h->root);
  if (lost) {
    std::cerr << fmt::format("mmrun: warning: {} snapshots were lost (the ring buffer was full): the trace misses "
                             "them\n",
                             lost);
    return 1;
  }
  return 0;
}

}  // namespace mmp::runtime

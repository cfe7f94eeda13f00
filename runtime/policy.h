// One loaded policy: its object in the kernel, its programs attached, its
// maps, and its manifest. Closing it (the destructor) detaches everything.
#pragma once

#include <bpf/libbpf.h>

#include <memory>
#include <string>
#include <vector>

#include "cgroupfs.h"
#include "manifest.h"

namespace mmp::runtime {

// One loaded program's run statistics as the kernel counts them (only
// while BPF statistics are enabled: BPF_ENABLE_STATS or
// kernel.bpf_stats_enabled).
struct ProgramStats {
  std::string name;
  uint64_t runs = 0;
  uint64_t runTimeNs = 0;
};

struct PolicyOptions {
  // Switch the snapshot channel on and size its ring buffer for recording
  // (SnapshotChannel reads it); an object without one is refused.
  bool record = false;
  // Let the reclaim hook make the policy's kills `in kernel` where the
  // kernel can (kernel_kill.h); off: mmrun makes them all.
  bool kernelKills = false;
  // The state map's rows, when fewer than the object's (0: as compiled).
  // The LRU map is allocated whole at load; the compiled 65,536 rows of a
  // small row cost 9 MiB of the kernel's memory, charged to mmrun.
  uint32_t stateRows = 0;
};

class Policy {
public:
  ~Policy();
  // Opens, validates, loads and attaches `path`. The error names the
  // object, and the program or the field (CO-RE) that failed.
  static llvm::Expected<std::unique_ptr<Policy>> load(const std::string& path, const Hierarchy& h,
                                                      const PolicyOptions& o = {});
  // Opens, validates and loads `path`, attaching nothing: for replay.
  static llvm::Expected<std::unique_ptr<Policy>> loadDetached(const std::string& path);

  const Manifest& manifest() const { return manifest_; }
  // Optional programs the kernel would not attach, each with what is lost.
  const std::vector<std::string>& unattached() const { return unattached_; }
  const std::string& path() const { return path_; }
  // Who makes the policy's kills `in kernel` and why ("" when it has none).
  const std::string& killPath() const { return killPath_; }
  struct bpf_map* map(const char* name) const;
  // Pins the hooks' links under DIR/POLICY, so that they outlive a crash of
  // mmrun; the destructor (a clean stop) unpins.
  llvm::Error pin(const std::string& dir);
  // Runs the periodic walk (the iterator) once; false if it failed.
  bool tick();
  int decisionsFd() const;
  // Every loaded program of the object, the replay program included.
  std::vector<ProgramStats> programStats() const;
  // Runs the replay program on one struct mmp_snapshot (BPF_PROG_TEST_RUN);
  // 0 or a negative errno. Its decisions wait in the ring buffer.
  int replay(const std::vector<uint64_t>& snapshot);

private:
  Policy() = default;
  static llvm::Expected<std::unique_ptr<Policy>> openObject(const std::string& path, const PolicyOptions& o);
  // libbpf's open and load of path_ into obj_ (run in a child first, as a
  // probe: maps shrunk).
  llvm::Error openAndLoad(const PolicyOptions& o, bool probe = false);
  llvm::Error loadError(const std::string& log, int err) const;
  llvm::Error attach(const Hierarchy& h);

  std::string path_;
  Manifest manifest_;
  struct bpf_object* obj_ = nullptr;
  std::vector<struct bpf_link*> links_;
  std::vector<std::string> linkNames_;  // their programs'
  std::vector<std::string> unattached_;
  std::string pinDir_;
  std::string killPath_;
  struct bpf_link* iter_ = nullptr;
  int rootFd_ = -1;
};

}  // namespace mmp::runtime

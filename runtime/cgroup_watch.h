// Which cgroups exist, kept current without re-reading the hierarchy at
// every interval: inotify reports a directory made or removed below any
// watched cgroup (cgroup mkdir and rmdir go through the VFS, which
// notifies), and only then is the hierarchy listed again; at most once
// per `gap`, so that pods made and removed many times a second cost a
// listing per gap, not one per pod (the arena's 60 churning pods: 12 s of
// mmrun's CPU in a 30 s cell, bench/RESULTS.md). A cgroup is seen at most
// `gap` late: until then it is in no scope (no rule acts on it) and no
// kill's candidate.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <vector>

#include "cgroupfs.h"

namespace mmp::runtime {

class CgroupWatch {
public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kGap{100};

  explicit CgroupWatch(const Hierarchy& h, std::chrono::milliseconds gap = kGap);
  ~CgroupWatch();
  CgroupWatch(const CgroupWatch&) = delete;
  CgroupWatch& operator=(const CgroupWatch&) = delete;

  int fd() const { return fd_; }
  // The cgroups: listed again when something changed since the last
  // listing (always, when inotify is not to be had or a watch failed) and
  // that listing is `gap` old; else the last listing.
  const std::vector<Cgroup>& current();
  // When a change waits for its gap: the time current() lists it; else never.
  Clock::time_point pendingAt() const;
  // Reads the pending events; true if a cgroup came or went.
  bool drain();
  // Which listing current() returns: a new number each time it lists.
  uint64_t generation() const { return generation_; }

private:
  const Hierarchy& h_;
  int fd_ = -1;
  bool stale_ = true;
  bool reliable_ = true;
  uint64_t generation_ = 0;
  std::vector<Cgroup> cgroups_;
  std::chrono::milliseconds gap_;
  Clock::time_point listedAt_{};
  std::set<uint64_t> watched_;  // the ids of the cgroups with an inotify watch
};

}  // namespace mmp::runtime

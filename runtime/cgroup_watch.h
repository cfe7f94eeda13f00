// Which cgroups exist, kept current without re-reading the hierarchy at
// every interval: inotify reports a directory made or removed below any
// watched cgroup (cgroup mkdir and rmdir go through the VFS, which
// notifies), and only then is the hierarchy listed again.
#pragma once

#include <vector>

#include "cgroupfs.h"

namespace mmp::runtime {

class CgroupWatch {
public:
  explicit CgroupWatch(const Hierarchy& h);
  ~CgroupWatch();
  CgroupWatch(const CgroupWatch&) = delete;
  CgroupWatch& operator=(const CgroupWatch&) = delete;

  int fd() const { return fd_; }
  // The cgroups now: listed again only when something changed since the
  // last call (always, when inotify is not to be had or a watch failed).
  const std::vector<Cgroup>& current();
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
};

}  // namespace mmp::runtime

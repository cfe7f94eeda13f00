#include "cgroup_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include "inotify_events.h"

namespace mmp::runtime {

CgroupWatch::CgroupWatch(const Hierarchy& h) : h_(h) {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  reliable_ = fd_ >= 0;
}

CgroupWatch::~CgroupWatch() {
  if (fd_ >= 0) close(fd_);
}

bool CgroupWatch::drain() {
  if (fd_ < 0) return false;
  bool changed = drainInotify(fd_, IN_CREATE | IN_DELETE);
  stale_ |= changed;
  return changed;
}

const std::vector<Cgroup>& CgroupWatch::current() {
  drain();
  if (!stale_ && reliable_) return cgroups_;
  cgroups_ = listCgroups(h_);
  stale_ = false;
  ++generation_;
  // Watching a directory twice is harmless (same watch); a removed one's
  // watch goes with it. A watch that cannot be added (the user's inotify
  // limit) makes every interval list again.
  for (const auto& c : cgroups_)
    if (fd_ >= 0 && inotify_add_watch(fd_, c.dir.c_str(), IN_CREATE | IN_DELETE | IN_ONLYDIR) < 0) reliable_ = false;
  return cgroups_;
}

}  // namespace mmp::runtime

#include "cgroup_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include "inotify_events.h"

namespace mmp::runtime {

CgroupWatch::CgroupWatch(const Hierarchy& h, std::chrono::milliseconds gap) : h_(h), gap_(gap) {
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
  auto now = Clock::now();
  if (generation_ > 0 && now - listedAt_ < gap_) return cgroups_;  // stays stale: listed once the gap is over
  cgroups_ = listCgroups(h_);
  stale_ = false;
  listedAt_ = now;
  ++generation_;
  // A watch for each cgroup new since the last listing, by its id: one
  // removed and made again at the same path is new (a removed one's watch
  // went with it). A watch that cannot be added (the user's inotify
  // limit) makes every listing list again.
  std::set<uint64_t> watched;
  for (const auto& c : cgroups_) {
    if (fd_ < 0) break;
    if (!watched_.count(c.id) && inotify_add_watch(fd_, c.dir.c_str(), IN_CREATE | IN_DELETE | IN_ONLYDIR) < 0) {
      reliable_ = false;
      continue;
    }
    watched.insert(c.id);
  }
  watched_ = std::move(watched);
  return cgroups_;
}

CgroupWatch::Clock::time_point CgroupWatch::pendingAt() const {
  // Without inotify nothing says when: each walk lists (its own pace).
  if (!stale_) return Clock::time_point::max();
  return generation_ == 0 ? Clock::now() : listedAt_ + gap_;
}

}  // namespace mmp::runtime

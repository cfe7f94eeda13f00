// `on pressure` rules: a PSI trigger on the memory.pressure of every
// cgroup in their scopes (cgroup v2). When one fires, mmrun writes that
// cgroup's id into mmp_trigger and runs the walk, whose program then runs
// the `on pressure` rules at that cgroup.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cgroupfs.h"
#include "manifest.h"
#include "scopes.h"

namespace mmp::runtime {

class PsiTriggers {
public:
  // `set pressure_trigger`: some stall of that share of a 1 s window.
  explicit PsiTriggers(const Manifest& m);
  ~PsiTriggers();
  PsiTriggers(const PsiTriggers&) = delete;
  PsiTriggers& operator=(const PsiTriggers&) = delete;

  bool wanted() const { return scopeBits_ != 0; }
  // Opens a trigger for each cgroup in the rules' scopes not yet watched,
  // closes those of cgroups gone; `watch(fd, add)` adds or removes an fd
  // in the caller's epoll (EPOLLPRI). Returns the errors (one per cgroup).
  std::vector<std::string> sync(const std::vector<Cgroup>& cgroups, const Scopes& scopes,
                                const std::function<void(int, uint64_t, bool)>& watch);
  // The cgroup whose trigger has this fd, 0 if none.
  uint64_t cgroupOf(int fd) const;
  // Runs the walk for `cgroup`'s trigger: mmp_trigger = id, walk, 0.
  static bool fire(struct bpf_map* trigger, uint64_t cgroup, const std::function<bool()>& walk);
  size_t size() const { return byCgroup_.size(); }

private:
  uint64_t scopeBits_ = 0;
  std::string spec_;                       // "some STALL_US WINDOW_US"
  std::map<uint64_t, int> byCgroup_;       // cgroup id -> trigger fd
  std::map<int, uint64_t> byFd_;
};

}  // namespace mmp::runtime

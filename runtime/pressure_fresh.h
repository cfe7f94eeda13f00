// The kernel folds a cgroup's PSI stall times into its averages and totals
// in a delayed work item every 2 s, or when someone reads its
// memory.pressure. The programs read the folded values: under CPU
// contention, when that work item runs late, they lag what a reader of the
// file (oomd, systemd-oomd) sees by seconds (bench/ARENA.md, the thrash
// scenario: /user.slice 7 to 10 points under its one thrashing child,
// whose file the harness read). So before each walk mmrun reads the
// memory.pressure of every cgroup in the scope of a policy that reads a
// `memcg.pressure` field, through a file held open (a pread), and the
// kernel folds them fresh.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "actions/held_files.h"
#include "cgroupfs.h"
#include "manifest.h"
#include "scopes.h"

namespace mmp::runtime {

class PressureFreshener {
public:
  explicit PressureFreshener(const Manifest& m, const Hierarchy& h);
  // Whether the policy reads a cgroup's pressure on a hierarchy that has it.
  bool wanted() const { return wanted_; }
  // The cgroups to freshen: those in some scope of the policy.
  void follow(const Scopes& scopes, const std::vector<Cgroup>& cgroups);
  // Reads each one's memory.pressure (the kernel updates its averages),
  // at most once a second: the kernel's averages move every 2 s, and the
  // walk runs every 10 ms as memory runs out (the arena's first sitting
  // with every walk reading them: mmrun's CPU doubled, its kills slower).
  void freshen();
  size_t size() const { return dirs_.size(); }

private:
  bool wanted_ = false;
  std::chrono::steady_clock::time_point last_{};
  std::vector<std::string> dirs_;
  HeldFiles files_;
};

}  // namespace mmp::runtime

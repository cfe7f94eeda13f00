// The memory cgroup hierarchy as mmrun sees it: where it is mounted, which
// version it is, and its cgroups (id = the directory's inode, which is the
// kernfs id the BPF programs read as cgroup->kn->id).
#pragma once

#include <llvm/Support/Error.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mmp::runtime {

enum class CgroupVersion { V1, V2 };

struct Hierarchy {
  std::string root;  // absolute directory of the hierarchy's root
  CgroupVersion version;
};

struct Cgroup {
  uint64_t id;
  std::string path;  // below the root: "/workload.slice/web"; the root is "/"
  std::string dir;   // absolute directory
};

// The hierarchy with the memory controller: `override` if given (it must
// exist), else a cgroup v2 mount whose root has the memory controller, else
// the v1 memory hierarchy.
llvm::Expected<Hierarchy> findMemoryHierarchy(const std::string& override);

// Every cgroup below (and including) the root, parents before children.
std::vector<Cgroup> listCgroups(const Hierarchy& h);

// The cgroup (path below the root) that this process runs in, if it is in
// the hierarchy.
std::string ownCgroup(const Hierarchy& h);

uint64_t cgroupId(const std::string& dir);

}  // namespace mmp::runtime

// The rows of mmp_state (one per cgroup, keyed by cgroup id) outlive their
// cgroups: the programs make them and never delete them, and an LRU map
// only evicts when it is full. mmrun deletes the rows of cgroups that are
// gone at each refresh, so that a host where containers come and go keeps
// no state of dead cgroups (and a reused id never inherits a dead one's).
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <vector>

#include "cgroupfs.h"

namespace mmp::runtime {

// The keys of mmp_state now. Taken before the cgroups are listed, so that a
// row made for a cgroup created in between is not mistaken for a dead one.
std::vector<uint64_t> stateKeys(struct bpf_map* state);
// Deletes the rows among `keys` whose cgroup is not in `cgroups` (row 0, the
// system rules', stays). Returns how many were deleted.
size_t forgetGoneCgroups(struct bpf_map* state, const std::vector<uint64_t>& keys, const std::vector<Cgroup>& cgroups);

}  // namespace mmp::runtime

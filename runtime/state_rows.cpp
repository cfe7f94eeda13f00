#include "state_rows.h"

#include <bpf/bpf.h>

#include <unordered_set>

namespace mmp::runtime {

std::vector<uint64_t> stateKeys(struct bpf_map* state) {
  std::vector<uint64_t> keys;
  if (!state) return keys;  // a policy without state has no such map
  int fd = bpf_map__fd(state);
  uint64_t key = 0, next = 0;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    keys.push_back(next);
    key = next;
    prev = &key;
  }
  return keys;
}

size_t forgetGoneCgroups(struct bpf_map* state, const std::vector<uint64_t>& keys, const std::vector<Cgroup>& cgroups) {
  if (!state || keys.empty()) return 0;
  std::unordered_set<uint64_t> alive;
  for (const auto& c : cgroups) alive.insert(c.id);
  int fd = bpf_map__fd(state);
  size_t deleted = 0;
  for (uint64_t id : keys)
    if (id != 0 && !alive.count(id) && bpf_map_delete_elem(fd, &id) == 0) ++deleted;
  return deleted;
}

}  // namespace mmp::runtime

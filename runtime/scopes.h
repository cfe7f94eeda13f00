// Which cgroups each rule may act on. Scope patterns are matched here, in
// user space, and written to the `mmp_scopes` map as one bit per scope;
// protected cgroups get no bit, and are checked again before every action.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cgroupfs.h"
#include "manifest.h"
#include "scope_pattern.h"

struct bpf_map;

namespace mmp::runtime {

// The patterns of a manifest's list (scopes, protections, a kill's
// `among`), as mmpc wrote them: normalised and valid.
std::vector<ScopePattern> parsePatterns(const std::vector<std::string>& list);

class Scopes {
public:
  Scopes(const Manifest& m, const Hierarchy& h);
  // With the cgroup of the mmrun that protects itself given (replay: the
  // recording mmrun's).
  Scopes(const Manifest& m, std::string ownCgroup);

  // The root, mmrun's own cgroup and its ancestors, and every `protect`
  // pattern's cgroups with their descendants.
  bool isProtected(const std::string& path) const;
  bool inScope(uint32_t bit, const std::string& path) const;
  uint64_t maskOf(const std::string& path) const;
  // Brings the map up to date with the hierarchy: new cgroups in, gone
  // ones out. Returns the number of cgroups in some scope.
  size_t refresh(struct bpf_map* map, const std::vector<Cgroup>& cgroups);
  // The kills `in kernel` (kernel_kill.h): the ids of the protected
  // cgroups, then key 0, which says the map is complete; a list that does
  // not fit takes key 0 away, and the hook then kills nothing (mmrun does).
  void refreshProtected(struct bpf_map* map, const std::vector<Cgroup>& cgroups);

private:
  std::vector<std::vector<ScopePattern>> scopes_;  // by bit
  std::vector<ScopePattern> protects_;
  std::string own_;
  std::map<uint64_t, uint64_t> written_;  // what the map holds
  std::map<uint64_t, uint64_t> protectedWritten_;
};

}  // namespace mmp::runtime

#include "arbiter.h"

namespace mmp::runtime {

std::optional<std::string> Arbiter::claim(const std::string& cgroup, size_t rank, const std::string& policy,
                                          Clock::time_point now) {
  // Old claims go, so that the map holds one window's worth at most.
  for (auto it = claims_.begin(); it != claims_.end();)
    it = now - it->second.at >= window_ ? claims_.erase(it) : std::next(it);
  auto it = claims_.find(cgroup);
  if (it != claims_.end() && it->second.rank < rank) return it->second.policy;
  if (it == claims_.end() || rank <= it->second.rank) claims_[cgroup] = {rank, policy, now};
  return std::nullopt;
}

}  // namespace mmp::runtime

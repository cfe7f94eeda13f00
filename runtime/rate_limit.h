// max_actions_per_second: at most N actions in any one-second window,
// from the first action on (a sliding window over the last N actions'
// times). A token bucket that starts full lets a burst of N and then N per
// second through: 17 actions in the first second at 10/s, with a tick's
// decisions arriving at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>

namespace mmp::runtime {

class RateLimit {
public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimit(uint64_t perSecond) : perSecond_(perSecond ? perSecond : 1) {}
  // Whether an action at `now` keeps every one-second window at N or
  // fewer; if so, it counts.
  bool take(Clock::time_point now);
  // An action taken elsewhere (a kill the BPF hook made, which keeps its
  // own window): it counts against the actions that follow.
  void note(Clock::time_point now);
  uint64_t perSecond() const { return perSecond_; }

private:
  uint64_t perSecond_;
  std::deque<Clock::time_point> recent_;  // the last N actions' times, oldest first
};

}  // namespace mmp::runtime

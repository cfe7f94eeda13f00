// The walk's pace: when memory runs out fast, mmrun evaluates sooner than
// its interval, so that a threshold is seen soon after it is crossed, and
// stays at the interval when memory is steady (an idle machine costs what
// the interval costs). The rule, from what /proc/meminfo shows at each
// tick: at the rate the memory left (MemAvailable + SwapFree: with swap,
// a leak goes on into it once RAM is full) has been falling, evaluate at
// least kTicksToExhaustion times before it would reach zero, and at least
// every kNearTick once it is under kNearShare of all memory (MemTotal +
// SwapTotal: where the policies' thresholds lie; a slow leak is far from
// zero in time there, and earlyoom polls every 100 ms), never more often
// than every kFloor, never less often than the interval.
#pragma once

#include <chrono>
#include <cstdint>

namespace mmp::runtime {

class Pace {
 public:
  static constexpr std::chrono::milliseconds kFloor{10};
  static constexpr double kTicksToExhaustion = 64;
  static constexpr std::chrono::milliseconds kNearTick{50};
  static constexpr double kNearShare = 0.25;

  // One reading of the memory left (memoryLeft()), in bytes, at `now`, out
  // of `total` (0 when unknown).
  void observe(std::chrono::steady_clock::time_point now, uint64_t available, uint64_t total = 0);
  // The time to the next tick for a policy of this interval.
  std::chrono::nanoseconds next(std::chrono::nanoseconds interval) const;
  double fallingBytesPerSecond() const { return rate_; }

 private:
  std::chrono::steady_clock::time_point last_{};
  uint64_t lastAvailable_ = 0;
  uint64_t total_ = 0;
  bool seen_ = false;
  double rate_ = 0;  // bytes/s the memory left falls at (smoothed; 0 when it grows)
};

// From /proc/meminfo, in bytes (0 where it cannot be read): the memory
// left, MemAvailable + SwapFree, of all there is, MemTotal + SwapTotal.
struct MemoryLeft {
  uint64_t left = 0, total = 0;
};
MemoryLeft memoryLeft();

}  // namespace mmp::runtime

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
// than every kFloor, never less often than the interval. MemoryPace takes
// the sooner of that and the same rule for RAM alone.
#pragma once

#include <algorithm>
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
// left, MemAvailable + SwapFree, of all there is, MemTotal + SwapTotal;
// and RAM alone, MemAvailable of MemTotal.
struct MemoryLeft {
  uint64_t left = 0, total = 0;
  uint64_t ram = 0, ramTotal = 0;
};
MemoryLeft memoryLeft();

// The walk's pace from both: the sooner of a Pace of the memory left and
// one of RAM alone. With swap (zram above all) the memory left stays far
// from zero while MemAvailable falls to the thresholds the policies put
// on it (std/oom_guard's 10%): paced on the memory left alone, the walk
// ticked every 60-90 ms there, against 10-20 ms without swap
// (bench/ARENA.md, fast_leak_zram).
class MemoryPace {
 public:
  void observe(std::chrono::steady_clock::time_point now, const MemoryLeft& m) {
    all_.observe(now, m.left, m.total);
    ram_.observe(now, m.ram, m.ramTotal);
  }
  std::chrono::nanoseconds next(std::chrono::nanoseconds interval) const {
    return std::min(all_.next(interval), ram_.next(interval));
  }

 private:
  Pace all_, ram_;
};

}  // namespace mmp::runtime

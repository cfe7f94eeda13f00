// The walk's pace (runtime/pace.h): the interval while memory is steady,
// sooner while it runs out, never under the floor.
#include "pace.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using mmp::runtime::MemoryLeft;
using mmp::runtime::MemoryPace;
using mmp::runtime::Pace;

namespace {

constexpr uint64_t MiB = 1 << 20;

Pace fed(std::initializer_list<uint64_t> mib, std::chrono::milliseconds every, uint64_t totalMiB = 0) {
  Pace p;
  auto t = std::chrono::steady_clock::time_point{} + 1h;
  for (uint64_t m : mib) {
    p.observe(t, m * MiB, totalMiB * MiB);
    t += every;
  }
  return p;
}

}  // namespace

TEST(Pace, SteadyMemoryKeepsTheInterval) {
  EXPECT_EQ(fed({800, 800, 800}, 100ms).next(1s), 1s);
  EXPECT_EQ(fed({800}, 100ms).next(1s), 1s);  // one reading: no rate yet
}

TEST(Pace, GrowingMemoryKeepsTheInterval) { EXPECT_EQ(fed({400, 500, 600}, 100ms).next(1s), 1s); }

TEST(Pace, FallingMemoryTicksSooner) {
  // Falling 40 MiB/s (4 MiB a 100 ms tick) with 100 MiB left: 2.5 s to
  // zero, so 64 ticks in it are 39 ms apart (the smoothed rate lags a
  // little behind the first readings: a few ms more).
  Pace p = fed({112, 108, 104, 100}, 100ms);
  EXPECT_NEAR(p.fallingBytesPerSecond() / MiB, 35, 1);
  EXPECT_LT(p.next(1s), 60ms);
  EXPECT_GT(p.next(1s), 30ms);
  // The interval stays the longest wait.
  EXPECT_EQ(p.next(20ms), 20ms);
}

TEST(Pace, NeverUnderTheFloor) {
  Pace p = fed({900, 500, 100}, 100ms);  // 4 GiB/s
  EXPECT_EQ(p.next(1s), Pace::kFloor);
}

TEST(Pace, AnIntervalAtTheFloorIsKept) { EXPECT_EQ(fed({900, 500, 100}, 100ms).next(10ms), 10ms); }

TEST(Pace, ALeakThatStopsIsForgotten) {
  Pace p = fed({500, 400, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300}, 100ms);
  // The rate halves at each steady tick: 1 GiB/s ten ticks ago is 1 MiB/s
  // now, 300 MiB from zero: far more than 64 intervals away.
  EXPECT_EQ(p.next(1s), 1s);
}

TEST(Pace, ASlowLeakNearTheBottomTicksEvery50ms) {
  // 6 MiB/s with 100 MiB left of 1 GiB: 16 s to zero would allow 260 ms
  // between ticks, but under a quarter of all memory the thresholds are
  // near: every 50 ms while it falls.
  EXPECT_EQ(fed({124, 118, 112, 106, 100}, 1000ms, 1024).next(1s), Pace::kNearTick);
  // Far from the bottom, the time to zero alone decides.
  EXPECT_GT(fed({824, 818, 812, 806, 800}, 1000ms, 1024).next(1s), 1s - 1ms);
  // Near the bottom but steady: the interval.
  EXPECT_EQ(fed({100, 100, 100}, 1000ms, 1024).next(1s), 1s);
}

TEST(MemoryPace, RamRunningOutPacesThoughSwapIsFree) {
  // 1 GiB of RAM falling 100 MiB/s to 100 MiB available, 1 GiB of swap
  // (zram) still free. The memory left, 1.1 GiB of 2, is 11 s from zero
  // (a tick every 170 ms); RAM alone is 1 s from zero and under a quarter
  // of MemTotal: every 16 ms.
  MemoryPace p;
  auto t = std::chrono::steady_clock::time_point{} + 1h;
  for (uint64_t ram : {400, 300, 200, 100}) {
    p.observe(t, MemoryLeft{(ram + 1024) * MiB, 2048 * MiB, ram * MiB, 1024 * MiB});
    t += 1s;
  }
  EXPECT_LT(p.next(1s), 20ms);
  EXPECT_GT(p.next(1s), 10ms);
  Pace all = fed({1424, 1324, 1224, 1124}, 1000ms, 2048);
  EXPECT_GT(all.next(1s), 150ms);
}

TEST(MemoryPace, SteadyRamWithSwapFallingPacesOnTheMemoryLeft) {
  // RAM full and steady, a leak going on into swap at 100 MiB/s with
  // 150 MiB of it left: the memory left decides (1.5 s from zero: a tick
  // every 27 ms, the smoothed rate lagging a little).
  MemoryPace p;
  auto t = std::chrono::steady_clock::time_point{} + 1h;
  for (uint64_t swapFree : {400, 300, 200, 100}) {
    p.observe(t, MemoryLeft{(50 + swapFree) * MiB, 2048 * MiB, 50 * MiB, 1024 * MiB});
    t += 1s;
  }
  EXPECT_LT(p.next(1s), 30ms);
  EXPECT_GT(p.next(1s), 20ms);
}

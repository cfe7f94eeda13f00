// max_actions_per_second holds over any one-second window (runtime/rate_limit).
#include "rate_limit.h"

#include <gtest/gtest.h>

#include <vector>

namespace mmp::runtime {
namespace {

using std::chrono::milliseconds;

// The most actions any one-second window [t, t + 1 s) holds.
size_t busiestSecond(const std::vector<RateLimit::Clock::time_point>& times) {
  size_t most = 0;
  for (size_t i = 0; i < times.size(); ++i) {
    size_t n = 0;
    for (size_t j = i; j < times.size() && times[j] - times[i] < std::chrono::seconds(1); ++j) ++n;
    most = std::max(most, n);
  }
  return most;
}

// Each tick's decisions arrive at once, as from the ring buffer.
std::vector<RateLimit::Clock::time_point> enacted(uint64_t perSecond, milliseconds interval, int perTick, int ticks) {
  RateLimit limit(perSecond);
  RateLimit::Clock::time_point t0{}, now = t0 + std::chrono::hours(1);
  std::vector<RateLimit::Clock::time_point> out;
  for (int tick = 0; tick < ticks; ++tick, now += interval)
    for (int i = 0; i < perTick; ++i)
      if (limit.take(now)) out.push_back(now);
  return out;
}

TEST(RateLimit, FirstSecondHoldsAtMostN) {
  auto times = enacted(10, milliseconds(100), 20, 10);  // the first second's ticks
  EXPECT_EQ(times.size(), 10u);                           // a token bucket starting full: 17
}

TEST(RateLimit, AnyOneSecondWindowHoldsAtMostN) {
  for (uint64_t n : {1u, 3u, 10u, 50u}) {
    auto times = enacted(n, milliseconds(100), 20, 100);
    EXPECT_LE(busiestSecond(times), n) << n << "/s at a 100 ms interval";
    times = enacted(n, milliseconds(1000), 200, 20);
    EXPECT_LE(busiestSecond(times), n) << n << "/s at a 1 s interval";  // the bucket: up to 2N - 2
    EXPECT_GE(times.size(), n * 19) << "the limit lets N through each second";
  }
}

// A kill the BPF hook made counts against what follows in its second.
TEST(RateLimit, ActionsTakenElsewhereCount) {
  RateLimit limit(3);
  RateLimit::Clock::time_point now = RateLimit::Clock::time_point{} + std::chrono::hours(1);
  limit.note(now);
  limit.note(now + milliseconds(100));
  EXPECT_TRUE(limit.take(now + milliseconds(200)));
  EXPECT_FALSE(limit.take(now + milliseconds(300))) << "two noted, one taken: the second is full";
  for (int i = 0; i < 10; ++i) limit.note(now + milliseconds(400));  // more than N noted at once
  EXPECT_FALSE(limit.take(now + milliseconds(1300)));
  EXPECT_TRUE(limit.take(now + milliseconds(1400))) << "a second after the last note, free again";
}

}  // namespace
}  // namespace mmp::runtime

// mmrun's arbitration between policies (runtime/arbiter.cpp).
#include "arbiter.h"

#include <gtest/gtest.h>

namespace mmp::runtime {
namespace {

using namespace std::chrono_literals;

TEST(Arbiter, EarlierPolicyOverrulesLaterWithinTheWindow) {
  Arbiter a(1s);
  auto t = Arbiter::Clock::time_point{} + 100s;
  EXPECT_EQ(a.claim("/web", 0, "first", t), std::nullopt);
  EXPECT_EQ(a.claim("/web", 1, "second", t + 500ms), "first");
  EXPECT_EQ(a.claim("/db", 1, "second", t + 500ms), std::nullopt) << "another cgroup is free";
}

TEST(Arbiter, LaterPolicyActingFirstDoesNotBlockAnEarlierOne) {
  Arbiter a(1s);
  auto t = Arbiter::Clock::time_point{} + 100s;
  EXPECT_EQ(a.claim("/web", 1, "second", t), std::nullopt);
  EXPECT_EQ(a.claim("/web", 0, "first", t + 10ms), std::nullopt);
  EXPECT_EQ(a.claim("/web", 1, "second", t + 20ms), "first") << "the earlier policy's claim now holds";
}

TEST(Arbiter, ClaimsExpireAfterTheWindow) {
  Arbiter a(1s);
  auto t = Arbiter::Clock::time_point{} + 100s;
  EXPECT_EQ(a.claim("/web", 0, "first", t), std::nullopt);
  EXPECT_EQ(a.claim("/web", 1, "second", t + 1s), std::nullopt);
}

TEST(Arbiter, APolicyNeverOverrulesItself) {
  Arbiter a(1s);
  auto t = Arbiter::Clock::time_point{} + 100s;
  EXPECT_EQ(a.claim("/web", 0, "first", t), std::nullopt);
  EXPECT_EQ(a.claim("/web", 0, "first", t + 1ms), std::nullopt);
}

TEST(Arbiter, ANewWindowKeepsTheClaimsMade) {
  // --policy-dir: a policy with a shorter interval joined.
  Arbiter a(1s);
  auto t = Arbiter::Clock::time_point{} + 100s;
  EXPECT_EQ(a.claim("/web", 0, "first", t), std::nullopt);
  a.setWindow(100ms);
  EXPECT_EQ(a.claim("/web", 1, "second", t + 50ms), "first") << "the claim holds within the new window";
  EXPECT_EQ(a.claim("/web", 1, "second", t + 150ms), std::nullopt) << "and ends with it";
}

}  // namespace
}  // namespace mmp::runtime

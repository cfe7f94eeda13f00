// The units type system's arithmetic: the reference semantics that constant
// folding uses and generated code must match.
#include "units/quantity.h"

#include <gtest/gtest.h>

namespace mmp {
namespace {

constexpr __int128 kU64Max = static_cast<__int128>(UINT64_MAX);

Value bytes(__int128 b) { return Value::of(Type::Bytes, b); }
Value percent(__int128 p) { return Value::of(Type::Percent, p * kPercentScale); }

TEST(Quantity, AdditionOverflowsPast2To64) {
  EXPECT_TRUE(add(bytes(kU64Max - 1), bytes(1)).ok());
  EXPECT_EQ(add(bytes(kU64Max), bytes(1)).error, ArithError::Overflow);
}

TEST(Quantity, BytesSubtractionSaturatesAtZero) {
  ArithResult r = subtract(bytes(100), bytes(300));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value.raw, 0);
}

TEST(Quantity, PercentOfUnlimitedIsUnlimited) {
  ArithResult r = percentOf(percent(90), Value::unlimitedOf(Type::Bytes));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value.unlimited);
  EXPECT_FALSE(compare(bytes(kU64Max), CompareOp::Gt, r.value));
}

}  // namespace
}  // namespace mmp

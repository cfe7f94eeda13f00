// The units type system's arithmetic: the reference semantics that constant
// folding uses and generated code must match.
#include "units/quantity.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <set>
#include <tuple>
#include <vector>

namespace mmp {

// Readable names in failure messages (found by argument-dependent lookup).
static void PrintTo(ArithError e, std::ostream* os) {
  static const char* names[] = {"None", "Overflow", "DivideByZero", "Type"};
  *os << names[static_cast<int>(e)];
}
static void PrintTo(Type t, std::ostream* os) { *os << typeName(t); }

namespace {

constexpr __int128 kU64Max = static_cast<__int128>(UINT64_MAX);
constexpr __int128 kI64Max = std::numeric_limits<int64_t>::max();
constexpr __int128 kI64Min = std::numeric_limits<int64_t>::min();
constexpr __int128 kKiB = 1024;
constexpr __int128 kMiB = kKiB * 1024;
constexpr __int128 kGiB = kMiB * 1024;
constexpr __int128 kTiB = kGiB * 1024;
constexpr __int128 kSecond = kNanosPerSecond;
constexpr __int128 kMilli = kNanosPerSecond / 1000;

Value bytes(__int128 b) { return Value::of(Type::Bytes, b); }
Value percent(__int128 p) { return Value::of(Type::Percent, p * kPercentScale); }
Value percentRaw(__int128 raw) { return Value::of(Type::Percent, raw); }
Value seconds(__int128 s) { return Value::of(Type::Duration, s * kSecond); }
Value nanos(__int128 ns) { return Value::of(Type::Duration, ns); }
Value count(__int128 n) { return Value::of(Type::Count, n); }
Value rate(__int128 r) { return Value::of(Type::Rate, r); }
Value countRate(__int128 raw) { return Value::of(Type::CountRate, raw); }  // thousandths per second
Value boolean(bool b) { return Value::boolean(b); }
Value str() { return Value::of(Type::String, 0); }
Value unlimited() { return Value::unlimitedOf(Type::Bytes); }

// A value of type `t` with a small non-zero magnitude, for the type table.
Value sample(Type t) {
  switch (t) {
    case Type::Bool: return boolean(true);
    case Type::Bytes: return bytes(4096);
    case Type::Percent: return percent(50);
    case Type::Duration: return seconds(2);
    case Type::Count: return count(2);
    case Type::Rate: return rate(1000);
    case Type::CountRate: return countRate(1500);
    case Type::String: return str();
    case Type::Error: break;
  }
  return Value{};
}

const std::vector<Type> kAllTypes = {Type::Bool, Type::Bytes, Type::Percent,   Type::Duration,
                                     Type::Count, Type::Rate,  Type::CountRate, Type::String};

void expectValue(const ArithResult& r, Type t, __int128 raw) {
  ASSERT_TRUE(r.ok()) << "error " << static_cast<int>(r.error);
  EXPECT_EQ(r.value.type, t);
  EXPECT_FALSE(r.value.unlimited);
  EXPECT_TRUE(r.value.raw == raw) << "raw is " << static_cast<long double>(r.value.raw) << ", want "
                                  << static_cast<long double>(raw);
}

// ---- the example tests ------------------------------------------------------

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

// ---- addition and subtraction -------------------------------------------------

TEST(Quantity, AdditionOfEachQuantityType) {
  expectValue(add(bytes(1), bytes(2)), Type::Bytes, 3);
  expectValue(add(percent(10), percent(5)), Type::Percent, 15 * kPercentScale);
  expectValue(add(seconds(1), nanos(500)), Type::Duration, kSecond + 500);
  expectValue(add(count(2), count(3)), Type::Count, 5);
  expectValue(add(rate(-5), rate(3)), Type::Rate, -2);
}

TEST(Quantity, AdditionReachesExactly2To64Minus1) {
  expectValue(add(bytes(kU64Max - 10), bytes(10)), Type::Bytes, kU64Max);
  expectValue(add(bytes(kU64Max), bytes(0)), Type::Bytes, kU64Max);
  EXPECT_EQ(add(bytes(kU64Max - 10), bytes(11)).error, ArithError::Overflow);
  EXPECT_EQ(add(bytes(kU64Max), bytes(kU64Max)).error, ArithError::Overflow);
}

TEST(Quantity, AdditionOverflowsPast2To64ForEveryUnsignedQuantity) {
  for (Type t : {Type::Bytes, Type::Percent, Type::Duration, Type::Count}) {
    SCOPED_TRACE(typeName(t));
    EXPECT_TRUE(add(Value::of(t, kU64Max), Value::of(t, 0)).ok());
    EXPECT_EQ(add(Value::of(t, kU64Max), Value::of(t, 1)).error, ArithError::Overflow);
  }
}

TEST(Quantity, SubtractionSaturatesAtZeroForEveryNonRateQuantity) {
  for (Type t : {Type::Bytes, Type::Percent, Type::Duration, Type::Count}) {
    SCOPED_TRACE(typeName(t));
    expectValue(subtract(Value::of(t, 1), Value::of(t, 2)), t, 0);
    expectValue(subtract(Value::of(t, 0), Value::of(t, kU64Max)), t, 0);
    expectValue(subtract(Value::of(t, 7), Value::of(t, 7)), t, 0);
    expectValue(subtract(Value::of(t, kU64Max), Value::of(t, 1)), t, kU64Max - 1);
  }
}

TEST(Quantity, RateSubtractionGoesNegative) {
  expectValue(subtract(rate(0), rate(5)), Type::Rate, -5);
  expectValue(subtract(rate(-5), rate(5)), Type::Rate, -10);
}

TEST(Quantity, RateArithmeticAtTheInt64Edges) {
  expectValue(add(rate(kI64Max - 1), rate(1)), Type::Rate, kI64Max);
  EXPECT_EQ(add(rate(kI64Max), rate(1)).error, ArithError::Overflow);
  expectValue(add(rate(kI64Min + 1), rate(-1)), Type::Rate, kI64Min);
  EXPECT_EQ(add(rate(kI64Min), rate(-1)).error, ArithError::Overflow);
  expectValue(subtract(rate(kI64Min + 1), rate(1)), Type::Rate, kI64Min);
  EXPECT_EQ(subtract(rate(kI64Min), rate(1)).error, ArithError::Overflow);
  EXPECT_EQ(subtract(rate(kI64Max), rate(-1)).error, ArithError::Overflow);
  expectValue(subtract(rate(kI64Max), rate(kI64Max)), Type::Rate, 0);
  expectValue(add(rate(kI64Max), rate(kI64Min)), Type::Rate, -1);
}

TEST(Quantity, UnlimitedInAdditionAndSubtraction) {
  ArithResult a = add(unlimited(), bytes(1));
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a.value.unlimited);
  ArithResult b = add(bytes(1), unlimited());
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b.value.unlimited);
  ArithResult c = subtract(unlimited(), bytes(kGiB));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c.value.unlimited);
  // Finite minus infinite saturates at 0.
  expectValue(subtract(bytes(kGiB), unlimited()), Type::Bytes, 0);
}

// ---- multiplication -------------------------------------------------------------

TEST(Quantity, MultiplicationOfBytesAndCounts) {
  expectValue(multiply(count(2), bytes(64 * kMiB)), Type::Bytes, 128 * kMiB);
  expectValue(multiply(bytes(64 * kMiB), count(2)), Type::Bytes, 128 * kMiB);
  expectValue(multiply(count(6), count(7)), Type::Count, 42);
  expectValue(multiply(bytes(kGiB), count(0)), Type::Bytes, 0);
}

TEST(Quantity, MultiplicationOverflowsExactlyAt2To64) {
  // 2^32 * (2^32 - 1) = 2^64 - 2^32 fits; 2^32 * 2^32 = 2^64 does not.
  expectValue(multiply(bytes(__int128{1} << 32), count((__int128{1} << 32) - 1)), Type::Bytes,
              (__int128{1} << 64) - (__int128{1} << 32));
  EXPECT_EQ(multiply(bytes(__int128{1} << 32), count(__int128{1} << 32)).error, ArithError::Overflow);
  EXPECT_EQ(multiply(count(2), bytes(__int128{1} << 63)).error, ArithError::Overflow);
  expectValue(multiply(bytes(kU64Max), count(1)), Type::Bytes, kU64Max);
  EXPECT_EQ(multiply(count(__int128{1} << 32), count(__int128{1} << 32)).error, ArithError::Overflow);
  // 16777216TiB is 2^64.
  EXPECT_EQ(multiply(bytes(16777215 * kTiB + kTiB / 2), count(2)).error, ArithError::Overflow);
}

TEST(Quantity, MultiplicationOfTwoHugeFactorsOverflows) {
  // The product of two 64-bit factors does not fit a signed 128-bit integer.
  EXPECT_EQ(multiply(bytes(kU64Max), count(kU64Max)).error, ArithError::Overflow);
  EXPECT_EQ(multiply(count(kU64Max), count(__int128{1} << 63)).error, ArithError::Overflow);
}

TEST(Quantity, UnlimitedTimesCountIsUnlimited) {
  ArithResult r = multiply(unlimited(), count(2));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value.unlimited);
  EXPECT_EQ(r.value.type, Type::Bytes);
}

// ---- division -----------------------------------------------------------------------

TEST(Quantity, BytesDividedByCount) {
  expectValue(divide(bytes(kGiB), count(4)), Type::Bytes, 256 * kMiB);
  expectValue(divide(bytes(10), count(3)), Type::Bytes, 3);  // truncates
}

TEST(Quantity, BytesDividedByBytesIsATruncatedPercent) {
  expectValue(divide(bytes(1), bytes(2)), Type::Percent, 50 * kPercentScale);
  expectValue(divide(bytes(1), bytes(3)), Type::Percent, 33333);  // 33.333%
  expectValue(divide(bytes(2), bytes(3)), Type::Percent, 66666);  // 66.666%, not 66.667%
  expectValue(divide(bytes(1), bytes(200000)), Type::Percent, 0);  // 0.0005% truncates to 0
  expectValue(divide(bytes(3 * kGiB), bytes(2 * kGiB)), Type::Percent, 150 * kPercentScale);
  expectValue(divide(bytes(kU64Max), bytes(kU64Max)), Type::Percent, 100 * kPercentScale);
}

TEST(Quantity, BytesDividedByBytesOverflowsPast2To64Raw) {
  // The raw percent a * 100000 / b must fit 64 bits.
  constexpr __int128 kLargest = kU64Max / kPercentWhole;
  expectValue(divide(bytes(kLargest), bytes(1)), Type::Percent, kLargest * kPercentWhole);
  EXPECT_EQ(divide(bytes(kLargest + 1), bytes(1)).error, ArithError::Overflow);
  EXPECT_EQ(divide(bytes(kU64Max), bytes(1)).error, ArithError::Overflow);
}

TEST(Quantity, BytesDividedByDurationIsARate) {
  expectValue(divide(bytes(50 * kMiB), seconds(1)), Type::Rate, 50 * kMiB);
  expectValue(divide(bytes(kMiB), nanos(500 * kMilli)), Type::Rate, 2 * kMiB);
  expectValue(divide(bytes(kGiB), seconds(60)), Type::Rate, kGiB / 60);
  expectValue(divide(bytes(kI64Max), seconds(1)), Type::Rate, kI64Max);
  EXPECT_EQ(divide(bytes(kI64Max + 1), seconds(1)).error, ArithError::Overflow);
  EXPECT_EQ(divide(bytes(1), nanos(1)).error, ArithError::None);
  expectValue(divide(bytes(1), nanos(1)), Type::Rate, kSecond);
  EXPECT_EQ(divide(bytes(kU64Max), nanos(1)).error, ArithError::Overflow);
}

TEST(Quantity, CountDividedByDurationIsACountRateInThousandths) {
  expectValue(divide(count(1000), seconds(1)), Type::CountRate, 1000 * kCountRateScale);
  expectValue(divide(count(3), seconds(10)), Type::CountRate, 300);  // 0.3/s
  expectValue(divide(count(1), seconds(3)), Type::CountRate, 333);   // truncated, not 0
  expectValue(divide(count(1), nanos(kMilli)), Type::CountRate, 1000 * kCountRateScale);
  expectValue(divide(count(kI64Max / 1'000'000'000'000), nanos(1)), Type::CountRate,
              kI64Max / 1'000'000'000'000 * 1'000'000'000'000);
  EXPECT_EQ(divide(count(kI64Max / 1'000'000'000'000 + 1), nanos(1)).error, ArithError::Overflow);
  EXPECT_EQ(divide(count(1), seconds(0)).error, ArithError::DivideByZero);
  EXPECT_EQ(countRate(333).str(), "0.333/s");
}

TEST(Quantity, CountRatesAreSigned) {
  expectValue(subtract(countRate(0), countRate(500)), Type::CountRate, -500);
  expectValue(add(countRate(-5), countRate(3)), Type::CountRate, -2);
  expectValue(negate(countRate(1500)), Type::CountRate, -1500);
  EXPECT_EQ(negate(countRate(kI64Min)).error, ArithError::Overflow);
  EXPECT_TRUE(compare(countRate(-1), CompareOp::Lt, countRate(0)));
  EXPECT_TRUE(fitsType(Type::CountRate, kI64Min));
  EXPECT_FALSE(fitsType(Type::CountRate, kI64Max + 1));
  EXPECT_EQ(countRate(-1500).str(), "-1.5/s");
  EXPECT_EQ(countRate(2000).str(), "2/s");
}

TEST(Quantity, DivisionByZero) {
  EXPECT_EQ(divide(bytes(1), count(0)).error, ArithError::DivideByZero);
  EXPECT_EQ(divide(bytes(1), bytes(0)).error, ArithError::DivideByZero);
  EXPECT_EQ(divide(bytes(1), seconds(0)).error, ArithError::DivideByZero);
  EXPECT_EQ(divide(bytes(0), bytes(0)).error, ArithError::DivideByZero);
  EXPECT_EQ(divide(bytes(0), count(0)).error, ArithError::DivideByZero);
}

TEST(Quantity, DivisionByUnlimitedIsZero) {
  expectValue(divide(bytes(kGiB), unlimited()), Type::Percent, 0);
}

// ---- of ---------------------------------------------------------------------------------

TEST(Quantity, PercentOfBytes) {
  expectValue(percentOf(percent(50), bytes(kGiB)), Type::Bytes, 512 * kMiB);
  expectValue(percentOf(percent(100), bytes(kU64Max)), Type::Bytes, kU64Max);
  expectValue(percentOf(percent(0), bytes(kU64Max)), Type::Bytes, 0);
  expectValue(percentOf(percentRaw(2500), bytes(1000)), Type::Bytes, 25);  // 2.5% of 1000B
  expectValue(percentOf(percent(1), bytes(99)), Type::Bytes, 0);           // truncates
  EXPECT_EQ(percentOf(percentRaw(kPercentWhole + 1), bytes(kU64Max)).error, ArithError::Overflow);
  EXPECT_EQ(percentOf(percent(200), bytes(__int128{1} << 63)).error, ArithError::Overflow);
  expectValue(percentOf(percent(200), bytes((__int128{1} << 63) - 1)), Type::Bytes, kU64Max - 1);
}

TEST(Quantity, PercentOfUnlimitedIsUnlimitedForEveryShare) {
  for (__int128 p : {__int128{0}, __int128{1}, __int128{50}, __int128{100}}) {
    ArithResult r = percentOf(percent(p), unlimited());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value.type, Type::Bytes);
    EXPECT_TRUE(r.value.unlimited);
    EXPECT_EQ(r.value.str(), "unlimited");
  }
}

// ---- percent arithmetic ---------------------------------------------------------------

TEST(Quantity, DurationDividedByDurationIsAShareOfTime) {
  Value ms10 = Value::of(Type::Duration, 10'000'000), s6 = Value::of(Type::Duration, 6'000'000'000);
  expectValue(divide(ms10, s6), Type::Percent, 166);  // 0.1666...% truncated to 0.166%
  expectValue(divide(s6, ms10), Type::Percent, 600 * 100 * kPercentScale);
  EXPECT_EQ(divide(ms10, Value::of(Type::Duration, 0)).error, ArithError::DivideByZero);
}

TEST(Quantity, PercentDividedByPercentIsARatio) {
  expectValue(divide(percent(1), percent(2)), Type::Percent, 50 * kPercentScale);
  expectValue(divide(percentRaw(100), percentRaw(300)), Type::Percent, 33333);  // 0.1% / 0.3% = 33.333%
  expectValue(divide(percentRaw(200), percentRaw(300)), Type::Percent, 66666);  // truncated, like bytes
  expectValue(divide(percent(150), percent(100)), Type::Percent, 150 * kPercentScale);
  expectValue(divide(percentRaw(1), percent(100)), Type::Percent, 1);
  expectValue(divide(percentRaw(1), percentRaw(200001)), Type::Percent, 0);
  EXPECT_EQ(divide(percent(1), percent(0)).error, ArithError::DivideByZero);
  // The raw result a * 100000 / b must fit 64 bits.
  constexpr __int128 kLargest = kU64Max / kPercentWhole;
  expectValue(divide(percentRaw(kLargest), percentRaw(1)), Type::Percent, kLargest * kPercentWhole);
  EXPECT_EQ(divide(percentRaw(kLargest + 1), percentRaw(1)).error, ArithError::Overflow);
}

TEST(Quantity, PercentOfPercent) {
  expectValue(percentOf(percent(50), percent(10)), Type::Percent, 5 * kPercentScale);
  expectValue(percentOf(percent(1), percent(1)), Type::Percent, 10);           // 0.01%
  expectValue(percentOf(percentRaw(1), percent(50)), Type::Percent, 0);        // 0.0005% truncates
  expectValue(percentOf(percent(100), percentRaw(kU64Max)), Type::Percent, kU64Max);
  EXPECT_EQ(percentOf(percent(200), percentRaw(kU64Max)).error, ArithError::Overflow);
  ArithResult r = percentOf(percent(50), Value::unlimitedOf(Type::Percent));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value.unlimited);
  EXPECT_EQ(r.value.type, Type::Percent);
}

TEST(Quantity, PercentScaledByACount) {
  expectValue(multiply(percentRaw(1500), count(3)), Type::Percent, 4500);
  expectValue(multiply(count(3), percentRaw(1500)), Type::Percent, 4500);
  expectValue(multiply(percent(7), count(0)), Type::Percent, 0);
  expectValue(divide(percent(10), count(4)), Type::Percent, 2500);
  expectValue(divide(percentRaw(10), count(4)), Type::Percent, 2);  // truncates
  EXPECT_EQ(divide(percent(1), count(0)).error, ArithError::DivideByZero);
  EXPECT_EQ(multiply(percentRaw(__int128{1} << 32), count(__int128{1} << 32)).error, ArithError::Overflow);
  expectValue(multiply(percentRaw(kU64Max), count(1)), Type::Percent, kU64Max);
}

// ---- min and max ---------------------------------------------------------------------

TEST(Quantity, MinAndMaxOfEachQuantityType) {
  expectValue(minimum(bytes(kGiB), bytes(kMiB)), Type::Bytes, kMiB);
  expectValue(maximum(bytes(kGiB), bytes(kMiB)), Type::Bytes, kGiB);
  expectValue(minimum(percent(1), percentRaw(999)), Type::Percent, 999);
  expectValue(maximum(percent(1), percentRaw(999)), Type::Percent, 1000);
  expectValue(minimum(seconds(2), nanos(5)), Type::Duration, 5);
  expectValue(maximum(count(3), count(3)), Type::Count, 3);
  expectValue(minimum(rate(-5), rate(3)), Type::Rate, -5);  // rates are signed
  expectValue(maximum(rate(-5), rate(-7)), Type::Rate, -5);
}

TEST(Quantity, UnlimitedIsInfinityInMinAndMax) {
  expectValue(minimum(bytes(kGiB), unlimited()), Type::Bytes, kGiB);
  expectValue(minimum(unlimited(), bytes(kU64Max)), Type::Bytes, kU64Max);
  ArithResult r = maximum(bytes(kU64Max), unlimited());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value.unlimited);
  r = minimum(unlimited(), unlimited());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value.unlimited);
}

TEST(Quantity, MinAndMaxTakeTwoValuesOfOneQuantityType) {
  for (Type a : kAllTypes)
    for (Type b : kAllTypes) {
      SCOPED_TRACE(std::string(typeName(a)) + ", " + typeName(b));
      bool ok = a == b && a != Type::Bool && a != Type::String;
      EXPECT_EQ(minMaxType(a, b), ok ? a : Type::Error);
      EXPECT_EQ(minimum(sample(a), sample(b)).error, ok ? ArithError::None : ArithError::Type);
      EXPECT_EQ(maximum(sample(a), sample(b)).error, ok ? ArithError::None : ArithError::Type);
    }
}

// ---- negation -------------------------------------------------------------------------

TEST(Quantity, NegateRates) {
  expectValue(negate(rate(5)), Type::Rate, -5);
  expectValue(negate(rate(-5)), Type::Rate, 5);
  expectValue(negate(rate(kI64Max)), Type::Rate, -kI64Max);
  EXPECT_EQ(negate(rate(kI64Min)).error, ArithError::Overflow);
}

TEST(Quantity, NegateNonRateQuantities) {
  for (Type t : {Type::Bytes, Type::Percent, Type::Duration, Type::Count}) {
    SCOPED_TRACE(typeName(t));
    expectValue(negate(Value::of(t, 0)), t, 0);
    EXPECT_FALSE(negate(Value::of(t, 1)).ok());
  }
  EXPECT_EQ(negate(boolean(true)).error, ArithError::Type);
  EXPECT_EQ(negate(str()).error, ArithError::Type);
  EXPECT_FALSE(negate(unlimited()).ok());
}

// ---- comparison -------------------------------------------------------------------------

TEST(Quantity, CompareFiniteValues) {
  EXPECT_TRUE(compare(bytes(1), CompareOp::Lt, bytes(2)));
  EXPECT_TRUE(compare(bytes(2), CompareOp::Le, bytes(2)));
  EXPECT_FALSE(compare(bytes(2), CompareOp::Gt, bytes(2)));
  EXPECT_TRUE(compare(bytes(2), CompareOp::Ge, bytes(2)));
  EXPECT_TRUE(compare(bytes(2), CompareOp::Eq, bytes(2)));
  EXPECT_TRUE(compare(bytes(2), CompareOp::Ne, bytes(3)));
  EXPECT_TRUE(compare(rate(-1), CompareOp::Lt, rate(0)));
  EXPECT_TRUE(compare(rate(kI64Min), CompareOp::Lt, rate(kI64Max)));
}

TEST(Quantity, UnlimitedComparesAsInfinity) {
  Value u = unlimited();
  EXPECT_TRUE(compare(u, CompareOp::Gt, bytes(kU64Max)));
  EXPECT_TRUE(compare(u, CompareOp::Ge, bytes(kU64Max)));
  EXPECT_FALSE(compare(u, CompareOp::Lt, bytes(kU64Max)));
  EXPECT_FALSE(compare(u, CompareOp::Eq, bytes(kU64Max)));
  EXPECT_TRUE(compare(u, CompareOp::Ne, bytes(0)));
  EXPECT_TRUE(compare(bytes(kU64Max), CompareOp::Lt, u));
  EXPECT_TRUE(compare(bytes(kU64Max), CompareOp::Le, u));
  EXPECT_FALSE(compare(bytes(kU64Max), CompareOp::Gt, u));
  EXPECT_FALSE(compare(bytes(0), CompareOp::Ge, u));
  EXPECT_TRUE(compare(u, CompareOp::Eq, unlimited()));
  EXPECT_FALSE(compare(u, CompareOp::Ne, unlimited()));
  EXPECT_FALSE(compare(u, CompareOp::Gt, unlimited()));
  EXPECT_FALSE(compare(u, CompareOp::Lt, unlimited()));
  EXPECT_TRUE(compare(u, CompareOp::Le, unlimited()));
  // `usage > 90% of max` is false when max is unlimited.
  ArithResult share = percentOf(percent(90), u);
  ASSERT_TRUE(share.ok());
  EXPECT_FALSE(compare(bytes(kU64Max), CompareOp::Gt, share.value));
  EXPECT_TRUE(compare(bytes(kU64Max), CompareOp::Lt, share.value));
}

// ---- the type table of docs/language.md section 4 -------------------------------------

enum class Op { Add, Sub, Mul, Div, Of };

ArithResult apply(Op op, const Value& a, const Value& b) {
  switch (op) {
    case Op::Add: return add(a, b);
    case Op::Sub: return subtract(a, b);
    case Op::Mul: return multiply(a, b);
    case Op::Div: return divide(a, b);
    case Op::Of: return percentOf(a, b);
  }
  return {};
}

const char* opName(Op op) {
  switch (op) {
    case Op::Add: return "+";
    case Op::Sub: return "-";
    case Op::Mul: return "*";
    case Op::Div: return "/";
    case Op::Of: return "of";
  }
  return "?";
}

// The rows of the table: (op, lhs, rhs) -> result.
Type specResult(Op op, Type a, Type b) {
  using T = Type;
  struct Row {
    Op op;
    T a, b, result;
  };
  static const std::vector<Row> rows = {
      {Op::Add, T::Bytes, T::Bytes, T::Bytes},          {Op::Sub, T::Bytes, T::Bytes, T::Bytes},
      {Op::Mul, T::Bytes, T::Count, T::Bytes},          {Op::Mul, T::Count, T::Bytes, T::Bytes},
      {Op::Div, T::Bytes, T::Count, T::Bytes},          {Op::Div, T::Bytes, T::Bytes, T::Percent},
      {Op::Of, T::Percent, T::Bytes, T::Bytes},         {Op::Add, T::Percent, T::Percent, T::Percent},
      {Op::Sub, T::Percent, T::Percent, T::Percent},    {Op::Add, T::Duration, T::Duration, T::Duration},
      {Op::Sub, T::Duration, T::Duration, T::Duration}, {Op::Add, T::Count, T::Count, T::Count},
      {Op::Sub, T::Count, T::Count, T::Count},          {Op::Mul, T::Count, T::Count, T::Count},
      {Op::Div, T::Bytes, T::Duration, T::Rate},        {Op::Add, T::Rate, T::Rate, T::Rate},
      {Op::Sub, T::Rate, T::Rate, T::Rate},
      // Events per second (refaults).
      {Op::Div, T::Count, T::Duration, T::CountRate},   {Op::Add, T::CountRate, T::CountRate, T::CountRate},
      {Op::Sub, T::CountRate, T::CountRate, T::CountRate},
      // Percent arithmetic (the feedback step of a senpai-like policy).
      {Op::Div, T::Percent, T::Percent, T::Percent},    {Op::Of, T::Percent, T::Percent, T::Percent},
      {Op::Mul, T::Percent, T::Count, T::Percent},      {Op::Mul, T::Count, T::Percent, T::Percent},
      {Op::Div, T::Percent, T::Count, T::Percent},
      // A share of time (senpai's target: 10ms / 6s).
      {Op::Div, T::Duration, T::Duration, T::Percent},
  };
  for (const auto& r : rows)
    if (r.op == op && r.a == a && r.b == b) return r.result;
  return T::Error;
}

TEST(Quantity, ResultTypesFollowTheTableExactly) {
  for (Op op : {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Of}) {
    for (Type a : kAllTypes) {
      for (Type b : kAllTypes) {
        SCOPED_TRACE(std::string(typeName(a)) + " " + opName(op) + " " + typeName(b));
        Type want = specResult(op, a, b);
        Type got = Type::Error;
        switch (op) {
          case Op::Add:
          case Op::Sub: got = addType(a, b); break;
          case Op::Mul: got = mulType(a, b); break;
          case Op::Div: got = divType(a, b); break;
          case Op::Of: got = ofType(a, b); break;
        }
        EXPECT_EQ(got, want);
        ArithResult r = apply(op, sample(a), sample(b));
        if (want == Type::Error) {
          EXPECT_EQ(r.error, ArithError::Type);
        } else {
          EXPECT_TRUE(r.ok());
          EXPECT_EQ(r.value.type, want);
        }
      }
    }
  }
}

TEST(Quantity, TypeErrorsWinOverUnlimited) {
  EXPECT_EQ(add(unlimited(), percent(1)).error, ArithError::Type);
  EXPECT_EQ(multiply(unlimited(), bytes(1)).error, ArithError::Type);
  EXPECT_EQ(divide(count(1), unlimited()).error, ArithError::Type);
  EXPECT_EQ(percentOf(unlimited(), unlimited()).error, ArithError::Type);
}

// ---- fitsType -----------------------------------------------------------------------------

TEST(Quantity, FitsType) {
  EXPECT_TRUE(fitsType(Type::Bytes, 0));
  EXPECT_TRUE(fitsType(Type::Bytes, kU64Max));
  EXPECT_FALSE(fitsType(Type::Bytes, kU64Max + 1));
  EXPECT_FALSE(fitsType(Type::Bytes, -1));
  EXPECT_TRUE(fitsType(Type::Rate, kI64Min));
  EXPECT_TRUE(fitsType(Type::Rate, kI64Max));
  EXPECT_FALSE(fitsType(Type::Rate, kI64Max + 1));
  EXPECT_FALSE(fitsType(Type::Rate, kI64Min - 1));
}

// ---- formatting ----------------------------------------------------------------------------

TEST(Quantity, StrOfBytes) {
  EXPECT_EQ(bytes(0).str(), "0B");
  EXPECT_EQ(bytes(1).str(), "1B");
  EXPECT_EQ(bytes(1023).str(), "1023B");
  EXPECT_EQ(bytes(1024).str(), "1KiB");
  EXPECT_EQ(bytes(1536).str(), "1536B");
  EXPECT_EQ(bytes(kMiB).str(), "1MiB");
  EXPECT_EQ(bytes(kGiB).str(), "1GiB");
  EXPECT_EQ(bytes(2 * kGiB + 512 * kMiB).str(), "2560MiB");
  EXPECT_EQ(bytes(kTiB).str(), "1TiB");
  EXPECT_EQ(bytes(1024 * kTiB).str(), "1024TiB");
  EXPECT_EQ(bytes(kU64Max).str(), "18446744073709551615B");
  EXPECT_EQ(unlimited().str(), "unlimited");
}

TEST(Quantity, StrOfPercent) {
  EXPECT_EQ(percent(60).str(), "60%");
  EXPECT_EQ(percent(0).str(), "0%");
  EXPECT_EQ(percent(100).str(), "100%");
  EXPECT_EQ(percentRaw(2500).str(), "2.5%");
  EXPECT_EQ(percentRaw(1).str(), "0.001%");
  EXPECT_EQ(percentRaw(10).str(), "0.01%");
  EXPECT_EQ(percentRaw(33333).str(), "33.333%");
  EXPECT_EQ(percentRaw(100500).str(), "100.5%");
}

TEST(Quantity, StrOfDurations) {
  EXPECT_EQ(seconds(30).str(), "30s");
  EXPECT_EQ(seconds(60).str(), "1min");
  EXPECT_EQ(seconds(90).str(), "90s");
  EXPECT_EQ(seconds(120).str(), "2min");
  EXPECT_EQ(seconds(3600).str(), "1h");
  EXPECT_EQ(seconds(7200).str(), "2h");
  EXPECT_EQ(seconds(5400).str(), "90min");
  EXPECT_EQ(seconds(0).str(), "0s");
  EXPECT_EQ(nanos(1500 * kMilli).str(), "1500ms");
  EXPECT_EQ(nanos(10 * kMilli).str(), "10ms");
  EXPECT_EQ(nanos(1500000).str(), "1.5ms");
  EXPECT_EQ(nanos(1).str(), "0.000001ms");
}

TEST(Quantity, StrOfOtherTypes) {
  EXPECT_EQ(count(0).str(), "0");
  EXPECT_EQ(count(42).str(), "42");
  EXPECT_EQ(count(kU64Max).str(), "18446744073709551615");
  EXPECT_EQ(boolean(true).str(), "true");
  EXPECT_EQ(boolean(false).str(), "false");
  EXPECT_EQ(rate(52428800).str(), "52428800B/s");
  EXPECT_EQ(rate(-5).str(), "-5B/s");
  EXPECT_EQ(rate(kI64Min).str(), "-9223372036854775808B/s");
}

TEST(Quantity, TypeNames) {
  EXPECT_STREQ(typeName(Type::Bytes), "bytes");
  EXPECT_STREQ(typeName(Type::Percent), "percent");
  EXPECT_STREQ(typeName(Type::Duration), "duration");
  EXPECT_STREQ(typeName(Type::Count), "count");
  EXPECT_STREQ(typeName(Type::Rate), "rate");
  EXPECT_STREQ(typeName(Type::CountRate), "count rate");
  EXPECT_STREQ(typeName(Type::Bool), "bool");
  EXPECT_STREQ(typeName(Type::String), "string");
}

}  // namespace
}  // namespace mmp

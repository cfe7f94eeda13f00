// The units type system's values: exact 64-bit fixed point.
//
// Constant folding in the compiler and the reference semantics that the
// generated code must match both live here. Every quantity but the rates
// is non-negative: subtraction saturates at 0 (so `memcg.usage - memcg.low`
// is 0 below low). A limit that is unset in the kernel is *unlimited* and
// behaves as +infinity.
#pragma once

#include <cstdint>
#include <string>

namespace mmp {

// Rate: bytes per second; CountRate: a count per second (`rate()` of a
// count field, `100 / 1s`).
enum class Type : uint8_t { Error, Bool, Bytes, Percent, Duration, Count, Rate, String, CountRate };

const char* typeName(Type t);
// The rates, which alone have a sign.
inline bool isSigned(Type t) { return t == Type::Rate || t == Type::CountRate; }

// Raw units per unit the user writes.
inline constexpr uint64_t kPercentScale = 1000;             // 1 raw = 0.001 %
inline constexpr uint64_t kPercentWhole = 100 * kPercentScale;
inline constexpr uint64_t kNanosPerSecond = 1'000'000'000;  // durations are in ns
// A count per second in thousandths: one event in a 3 s interval is 333,
// not 0.
inline constexpr uint64_t kCountRateScale = 1000;
// bytes: 1 raw = 1 B; count: 1 raw = 1; rate: 1 raw = 1 B/s (signed);
// count rate: 1 raw = 0.001/s (signed); bool: 0 or 1

struct Value {
  Type type = Type::Error;
  bool unlimited = false;
  // Magnitude in raw units; the rates alone may be negative.
  __int128 raw = 0;

  static Value of(Type t, __int128 raw) { return Value{t, false, raw}; }
  static Value boolean(bool b) { return Value{Type::Bool, false, b ? 1 : 0}; }
  static Value unlimitedOf(Type t) { return Value{t, true, 0}; }
  bool isTrue() const { return type == Type::Bool && raw != 0; }

  // The value as the user would write it ("60%", "1GiB", "30s", "unlimited").
  std::string str() const;
};

enum class ArithError { None, Overflow, DivideByZero, Type };

struct ArithResult {
  Value value;
  ArithError error = ArithError::None;
  bool ok() const { return error == ArithError::None; }
};

enum class CompareOp { Lt, Le, Gt, Ge, Eq, Ne };

// The result type of each operator, Type::Error where the table of
// docs/language.md section 4 has no row.
Type addType(Type a, Type b);
Type mulType(Type a, Type b);
Type divType(Type a, Type b);
Type ofType(Type a, Type b);
// min(a, b) and max(a, b): two quantities of one type.
Type minMaxType(Type a, Type b);

ArithResult add(const Value& a, const Value& b);
ArithResult subtract(const Value& a, const Value& b);
ArithResult multiply(const Value& a, const Value& b);
ArithResult divide(const Value& a, const Value& b);
ArithResult percentOf(const Value& share, const Value& whole);
ArithResult negate(const Value& a);
// Unlimited is +infinity: min(x, unlimited) = x, max(x, unlimited) = unlimited.
ArithResult minimum(const Value& a, const Value& b);
ArithResult maximum(const Value& a, const Value& b);
bool compare(const Value& a, CompareOp op, const Value& b);

// Whether `raw` fits the range of type `t` (u64 for quantities, i64 for rates).
bool fitsType(Type t, __int128 raw);

}  // namespace mmp

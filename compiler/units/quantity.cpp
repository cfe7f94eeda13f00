#include "units/quantity.h"

#include <fmt/format.h>

#include <limits>

namespace mmp {
namespace {

constexpr __int128 kU64Max = std::numeric_limits<uint64_t>::max();
constexpr __int128 kI64Max = std::numeric_limits<int64_t>::max();
constexpr __int128 kI64Min = std::numeric_limits<int64_t>::min();

bool isQuantity(Type t) {
  return t == Type::Bytes || t == Type::Percent || t == Type::Duration || t == Type::Count ||
         isSigned(t);
}

ArithResult checked(Type t, __int128 raw) {
  if (!fitsType(t, raw)) return {Value::of(t, 0), ArithError::Overflow};
  return {Value::of(t, raw), ArithError::None};
}

ArithResult typeError() { return {Value{}, ArithError::Type}; }

std::string decimal(__int128 raw, uint64_t scale) {
  bool neg = raw < 0;
  unsigned __int128 m = neg ? -raw : raw;
  std::string whole = fmt::format("{}", static_cast<uint64_t>(m / scale));
  uint64_t frac = static_cast<uint64_t>(m % scale);
  std::string out = (neg ? "-" : "") + whole;
  if (frac == 0) return out;
  std::string digits = fmt::format("{}", frac);
  size_t width = fmt::format("{}", scale).size() - 1;
  digits.insert(0, width - digits.size(), '0');
  while (digits.back() == '0') digits.pop_back();
  return out + "." + digits;
}

std::string bytesText(__int128 raw) {
  static const char* units[] = {"TiB", "GiB", "MiB", "KiB"};
  static const uint64_t sizes[] = {1ull << 40, 1ull << 30, 1ull << 20, 1ull << 10};
  for (int i = 0; i < 4; ++i)
    if (raw >= static_cast<__int128>(sizes[i]) && raw % sizes[i] == 0)
      return fmt::format("{}{}", static_cast<uint64_t>(raw / sizes[i]), units[i]);
  return fmt::format("{}B", static_cast<uint64_t>(raw));
}

std::string durationText(__int128 raw) {
  if (raw % (3600 * kNanosPerSecond) == 0 && raw > 0)
    return fmt::format("{}h", static_cast<uint64_t>(raw / (3600 * kNanosPerSecond)));
  if (raw % (60 * kNanosPerSecond) == 0 && raw > 0)
    return fmt::format("{}min", static_cast<uint64_t>(raw / (60 * kNanosPerSecond)));
  if (raw % kNanosPerSecond == 0) return fmt::format("{}s", static_cast<uint64_t>(raw / kNanosPerSecond));
  return decimal(raw, 1'000'000) + "ms";
}

}  // namespace

const char* typeName(Type t) {
  switch (t) {
    case Type::Error: return "<error>";
    case Type::Bool: return "bool";
    case Type::Bytes: return "bytes";
    case Type::Percent: return "percent";
    case Type::Duration: return "duration";
    case Type::Count: return "count";
    case Type::Rate: return "rate";
    case Type::CountRate: return "count rate";
    case Type::String: return "string";
  }
  return "<error>";
}

bool fitsType(Type t, __int128 raw) {
  if (isSigned(t)) return raw >= kI64Min && raw <= kI64Max;
  return raw >= 0 && raw <= kU64Max;
}

std::string Value::str() const {
  if (unlimited) return "unlimited";
  switch (type) {
    case Type::Bool: return raw ? "true" : "false";
    case Type::Bytes: return bytesText(raw);
    case Type::Percent: return decimal(raw, kPercentScale) + "%";
    case Type::Duration: return durationText(raw);
    case Type::Count: return decimal(raw, 1);
    case Type::Rate: return decimal(raw, 1) + "B/s";
    case Type::CountRate: return decimal(raw, kCountRateScale) + "/s";
    case Type::Error:
    case Type::String: break;
  }
  return "?";
}

Type addType(Type a, Type b) {
  if (a != b || !isQuantity(a)) return Type::Error;
  return a;
}

Type mulType(Type a, Type b) {
  if (a == Type::Bytes && b == Type::Count) return Type::Bytes;
  if (a == Type::Count && b == Type::Bytes) return Type::Bytes;
  if (a == Type::Count && b == Type::Count) return Type::Count;
  if (a == Type::Percent && b == Type::Count) return Type::Percent;
  if (a == Type::Count && b == Type::Percent) return Type::Percent;
  return Type::Error;
}

Type divType(Type a, Type b) {
  if (a == Type::Bytes && b == Type::Count) return Type::Bytes;
  if (a == Type::Bytes && b == Type::Bytes) return Type::Percent;
  if (a == Type::Bytes && b == Type::Duration) return Type::Rate;
  if (a == Type::Count && b == Type::Duration) return Type::CountRate;
  if (a == Type::Percent && b == Type::Percent) return Type::Percent;
  if (a == Type::Duration && b == Type::Duration) return Type::Percent;
  if (a == Type::Percent && b == Type::Count) return Type::Percent;
  return Type::Error;
}

Type ofType(Type a, Type b) {
  if (a == Type::Percent && b == Type::Bytes) return Type::Bytes;
  if (a == Type::Percent && b == Type::Percent) return Type::Percent;
  return Type::Error;
}

Type minMaxType(Type a, Type b) {
  if (a != b || !isQuantity(a)) return Type::Error;
  return a;
}

ArithResult add(const Value& a, const Value& b) {
  Type t = addType(a.type, b.type);
  if (t == Type::Error) return typeError();
  if (a.unlimited || b.unlimited) return {Value::unlimitedOf(t)};
  return checked(t, a.raw + b.raw);
}

ArithResult subtract(const Value& a, const Value& b) {
  Type t = addType(a.type, b.type);
  if (t == Type::Error) return typeError();
  if (a.unlimited) return {Value::unlimitedOf(t)};
  if (b.unlimited) return {Value::of(t, 0)};
  __int128 r = a.raw - b.raw;
  if (!isSigned(t) && r < 0) r = 0;  // quantities saturate at zero
  return checked(t, r);
}

ArithResult multiply(const Value& a, const Value& b) {
  Type t = mulType(a.type, b.type);
  if (t == Type::Error) return typeError();
  if (a.unlimited || b.unlimited) return {Value::unlimitedOf(t)};
  // Both factors fit in 64 bits, so the product fits in unsigned 128.
  unsigned __int128 p = static_cast<unsigned __int128>(a.raw) * static_cast<unsigned __int128>(b.raw);
  if (p > static_cast<unsigned __int128>(kU64Max)) return {Value::of(t, 0), ArithError::Overflow};
  return checked(t, static_cast<__int128>(p));
}

ArithResult divide(const Value& a, const Value& b) {
  Type t = divType(a.type, b.type);
  if (t == Type::Error) return typeError();
  if (b.unlimited) return {Value::of(t, 0)};
  if (a.unlimited) return {Value::unlimitedOf(t)};
  if (b.raw == 0) return {Value::of(t, 0), ArithError::DivideByZero};
  // A ratio of two like quantities: bytes / bytes, percent / percent,
  // duration / duration.
  if (a.type == b.type && (a.type == Type::Bytes || a.type == Type::Percent || a.type == Type::Duration))
    return checked(t, a.raw * static_cast<__int128>(kPercentWhole) / b.raw);
  if (t == Type::CountRate)
    return checked(t, a.raw * static_cast<__int128>(kNanosPerSecond * kCountRateScale) / b.raw);
  if (b.type == Type::Duration) return checked(t, a.raw * static_cast<__int128>(kNanosPerSecond) / b.raw);
  return checked(t, a.raw / b.raw);
}

ArithResult percentOf(const Value& share, const Value& whole) {
  Type t = ofType(share.type, whole.type);
  if (t == Type::Error) return typeError();
  if (whole.unlimited || share.unlimited) return {Value::unlimitedOf(t)};
  unsigned __int128 p = static_cast<unsigned __int128>(whole.raw) * static_cast<unsigned __int128>(share.raw);
  p /= kPercentWhole;
  if (p > static_cast<unsigned __int128>(kU64Max)) return {Value::of(t, 0), ArithError::Overflow};
  return checked(t, static_cast<__int128>(p));
}

namespace {

// The order of two values of one type, unlimited as +infinity.
int order(const Value& a, const Value& b) {
  if (a.unlimited || b.unlimited) return a.unlimited == b.unlimited ? 0 : (a.unlimited ? 1 : -1);
  return a.raw < b.raw ? -1 : (a.raw > b.raw ? 1 : 0);
}

}  // namespace

ArithResult minimum(const Value& a, const Value& b) {
  if (minMaxType(a.type, b.type) == Type::Error) return typeError();
  return {order(a, b) <= 0 ? a : b};
}

ArithResult maximum(const Value& a, const Value& b) {
  if (minMaxType(a.type, b.type) == Type::Error) return typeError();
  return {order(a, b) >= 0 ? a : b};
}

ArithResult negate(const Value& a) {
  if (!isQuantity(a.type)) return typeError();
  if (a.unlimited) return typeError();
  if (!isSigned(a.type) && a.raw != 0) return {a, ArithError::Overflow};
  return checked(a.type, -a.raw);
}

bool compare(const Value& a, CompareOp op, const Value& b) {
  // Unlimited is +infinity: two unlimited values are equal.
  int o = order(a, b);
  switch (op) {
    case CompareOp::Lt: return o < 0;
    case CompareOp::Le: return o <= 0;
    case CompareOp::Gt: return o > 0;
    case CompareOp::Ge: return o >= 0;
    case CompareOp::Eq: return o == 0;
    case CompareOp::Ne: return o != 0;
  }
  return false;
}

}  // namespace mmp

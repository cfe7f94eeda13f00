#include "units/units.h"

#include <cctype>

#include "support/suggest.h"

namespace mmp {

const std::vector<UnitInfo>& allUnits() {
  static const std::vector<UnitInfo> units = {
      {"B", Type::Bytes, 1},
      {"KiB", Type::Bytes, 1ull << 10},
      {"MiB", Type::Bytes, 1ull << 20},
      {"GiB", Type::Bytes, 1ull << 30},
      {"TiB", Type::Bytes, 1ull << 40},
      {"%", Type::Percent, kPercentScale},
      {"ms", Type::Duration, 1'000'000},
      {"s", Type::Duration, kNanosPerSecond},
      {"min", Type::Duration, 60 * kNanosPerSecond},
      {"h", Type::Duration, 3600 * kNanosPerSecond},
  };
  return units;
}

const UnitInfo* findUnit(std::string_view suffix) {
  for (const auto& u : allUnits())
    if (u.name == suffix) return &u;
  return nullptr;
}

namespace {

struct KnownMistake {
  std::string_view written;
  std::vector<std::string> meant;
  std::string_view why;
};

const std::vector<KnownMistake>& knownMistakes() {
  static const std::string_view sizes = "memory sizes are written in powers of 1024 (`KiB`, `MiB`, `GiB`, `TiB`)";
  static const std::vector<KnownMistake> list = {
      {"K", {"KiB"}, sizes}, {"k", {"KiB"}, sizes}, {"KB", {"KiB"}, sizes}, {"kB", {"KiB"}, sizes},
      {"kb", {"KiB"}, sizes}, {"Ki", {"KiB"}, sizes}, {"M", {"MiB"}, sizes}, {"MB", {"MiB"}, sizes},
      {"mb", {"MiB"}, sizes}, {"Mi", {"MiB"}, sizes}, {"G", {"GiB"}, sizes}, {"GB", {"GiB"}, sizes},
      {"gb", {"GiB"}, sizes}, {"Gi", {"GiB"}, sizes}, {"T", {"TiB"}, sizes}, {"TB", {"TiB"}, sizes},
      {"tb", {"TiB"}, sizes}, {"Ti", {"TiB"}, sizes}, {"Kb", {"KiB"}, sizes}, {"Mb", {"MiB"}, sizes},
      {"Gb", {"GiB"}, sizes}, {"Tb", {"TiB"}, sizes}, {"mB", {"MiB"}, sizes}, {"gB", {"GiB"}, sizes},
      {"m", {"min", "MiB"}, "`m` could mean minutes or mebibytes"},
      {"sec", {"s"}, "seconds are written `s`"}, {"secs", {"s"}, "seconds are written `s`"},
      {"second", {"s"}, "seconds are written `s`"}, {"seconds", {"s"}, "seconds are written `s`"},
      {"msec", {"ms"}, "milliseconds are written `ms`"}, {"mins", {"min"}, "minutes are written `min`"},
      {"minute", {"min"}, "minutes are written `min`"}, {"minutes", {"min"}, "minutes are written `min`"},
      {"hr", {"h"}, "hours are written `h`"}, {"hrs", {"h"}, "hours are written `h`"},
      {"hour", {"h"}, "hours are written `h`"}, {"hours", {"h"}, "hours are written `h`"},
      {"pct", {"%"}, "percentages are written `%`"}, {"percent", {"%"}, "percentages are written `%`"},
      {"ns", {}, "the finest duration unit is `ms`: write a fraction of it, such as `0.5ms`"},
      {"us", {}, "the finest duration unit is `ms`: write a fraction of it, such as `0.5ms`"},
  };
  return list;
}

// Parses "1_000.25" into mantissa 100025 and 2 decimals. Trailing zeros
// of the fraction are dropped (`1.000GiB` is 1GiB). False when the integer
// part is too large to matter: the caller reports an overflow.
enum class DecimalError { None, Overflow, TooLong };
DecimalError parseDecimal(std::string_view text, __int128& mantissa, int& decimals) {
  std::string whole, fraction;
  bool afterPoint = false;
  for (char c : text) {
    if (c == '_') continue;
    if (c == '.') afterPoint = true;
    else (afterPoint ? fraction : whole) += c;
  }
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  size_t firstDigit = whole.find_first_not_of('0');
  if (firstDigit != std::string::npos && whole.size() - firstDigit > 24) return DecimalError::Overflow;
  // No unit is finer than 10^-19 of itself: a longer fraction is never exact.
  if (fraction.size() > 19) return DecimalError::TooLong;
  mantissa = 0;
  for (char c : whole + fraction) {
    // 24 whole and 19 fraction digits can pass 2^127: refuse before.
    if (__builtin_mul_overflow(mantissa, 10, &mantissa) || __builtin_add_overflow(mantissa, c - '0', &mantissa))
      return fraction.empty() ? DecimalError::Overflow : DecimalError::TooLong;
  }
  decimals = static_cast<int>(fraction.size());
  return DecimalError::None;
}

}  // namespace

UnitSuggestion suggestUnit(std::string_view suffix) {
  for (const auto& m : knownMistakes())
    if (m.written == suffix) return {m.meant, std::string(m.why)};
  std::vector<std::string> names;
  for (const auto& u : allUnits()) names.emplace_back(u.name);
  if (auto best = closestMatch(suffix, names, /*ignoreCase=*/true)) return {{*best}, ""};
  return {};
}

ParsedLiteral parseQuantity(std::string_view text) {
  ParsedLiteral out;
  size_t split = 0;
  while (split < text.size() && (std::isdigit(static_cast<unsigned char>(text[split])) ||
                                 text[split] == '_' || text[split] == '.'))
    ++split;
  out.number = text.substr(0, split);
  out.unit = text.substr(split);

  Type type = Type::Count;
  uint64_t perUnit = 1;
  if (!out.unit.empty()) {
    const UnitInfo* u = findUnit(out.unit);
    if (!u) {
      out.error = LiteralError::UnknownUnit;
      return out;
    }
    type = u->type;
    perUnit = u->rawPerUnit;
  }
  out.value = Value::of(type, 0);

  __int128 mantissa = 0;
  int decimals = 0;
  DecimalError de = parseDecimal(out.number, mantissa, decimals);
  if (de == DecimalError::Overflow) {
    out.error = LiteralError::Overflow;
    return out;
  }
  if (de == DecimalError::TooLong) {
    out.error = (type == Type::Bytes || type == Type::Count) ? LiteralError::NotWhole : LiteralError::TooPrecise;
    return out;
  }
  __int128 scaled;
  if (__builtin_mul_overflow(mantissa, static_cast<__int128>(perUnit), &scaled)) {
    out.error = LiteralError::Overflow;
    return out;
  }
  __int128 divisor = 1;
  for (int i = 0; i < decimals; ++i) divisor *= 10;
  if (scaled % divisor != 0) {
    // Bytes and counts are whole numbers; other units have a finest step.
    out.error = (type == Type::Bytes || type == Type::Count) ? LiteralError::NotWhole
                                                             : LiteralError::TooPrecise;
    return out;
  }
  __int128 raw = scaled / divisor;
  if (!fitsType(type, raw)) {
    out.error = LiteralError::Overflow;
    return out;
  }
  out.value = Value::of(type, raw);
  return out;
}

}  // namespace mmp

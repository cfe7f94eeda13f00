// Quantity literals (`2.5GiB`, `1_000`, `60%`) and unit suggestions.
#include "units/units.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mmp {

// Readable names in failure messages (found by argument-dependent lookup).
static void PrintTo(LiteralError e, std::ostream* os) {
  static const char* names[] = {"None", "UnknownUnit", "Overflow", "NotWhole", "TooPrecise"};
  *os << names[static_cast<int>(e)];
}

namespace {

constexpr __int128 kKiB = 1024;
constexpr __int128 kMiB = kKiB * 1024;
constexpr __int128 kGiB = kMiB * 1024;
constexpr __int128 kTiB = kGiB * 1024;
constexpr __int128 kSecond = kNanosPerSecond;
constexpr __int128 kU64Max = static_cast<__int128>(UINT64_MAX);

void expectParses(const std::string& text, Type type, __int128 raw) {
  SCOPED_TRACE(text);
  ParsedLiteral lit = parseQuantity(text);
  ASSERT_EQ(lit.error, LiteralError::None);
  EXPECT_EQ(lit.value.type, type);
  EXPECT_FALSE(lit.value.unlimited);
  EXPECT_TRUE(lit.value.raw == raw) << "raw is " << static_cast<long double>(lit.value.raw) << ", want "
                                    << static_cast<long double>(raw);
}

LiteralError errorOf(const std::string& text) { return parseQuantity(text).error; }

TEST(Units, EveryUnit) {
  expectParses("7B", Type::Bytes, 7);
  expectParses("7KiB", Type::Bytes, 7 * kKiB);
  expectParses("7MiB", Type::Bytes, 7 * kMiB);
  expectParses("7GiB", Type::Bytes, 7 * kGiB);
  expectParses("7TiB", Type::Bytes, 7 * kTiB);
  expectParses("7%", Type::Percent, 7 * kPercentScale);
  expectParses("7ms", Type::Duration, 7 * kSecond / 1000);
  expectParses("7s", Type::Duration, 7 * kSecond);
  expectParses("7min", Type::Duration, 7 * 60 * kSecond);
  expectParses("7h", Type::Duration, 7 * 3600 * kSecond);
  expectParses("7", Type::Count, 7);
}

TEST(Units, UnitTableIsExactlyTheSpecsList) {
  std::vector<std::string> names;
  for (const auto& u : allUnits()) names.emplace_back(u.name);
  EXPECT_EQ(names, (std::vector<std::string>{"B", "KiB", "MiB", "GiB", "TiB", "%", "ms", "s", "min", "h"}));
  ASSERT_NE(findUnit("GiB"), nullptr);
  EXPECT_EQ(findUnit("GiB")->rawPerUnit, uint64_t{1} << 30);
  EXPECT_EQ(findUnit("GB"), nullptr);
  EXPECT_EQ(findUnit("gib"), nullptr);
  EXPECT_EQ(findUnit(""), nullptr);
}

TEST(Units, NumberAndUnitAreSplit) {
  ParsedLiteral lit = parseQuantity("2.5GiB");
  EXPECT_EQ(lit.number, "2.5");
  EXPECT_EQ(lit.unit, "GiB");
  ParsedLiteral plain = parseQuantity("1_000");
  EXPECT_EQ(plain.number, "1_000");
  EXPECT_EQ(plain.unit, "");
  ParsedLiteral bad = parseQuantity("512MB");
  EXPECT_EQ(bad.error, LiteralError::UnknownUnit);
  EXPECT_EQ(bad.number, "512");
  EXPECT_EQ(bad.unit, "MB");
}

TEST(Units, ZeroInEveryUnit) {
  expectParses("0", Type::Count, 0);
  expectParses("0B", Type::Bytes, 0);
  expectParses("0GiB", Type::Bytes, 0);
  expectParses("0%", Type::Percent, 0);
  expectParses("0ms", Type::Duration, 0);
  expectParses("0.0s", Type::Duration, 0);
}

TEST(Units, UnderscoreSeparators) {
  expectParses("1_000", Type::Count, 1000);
  expectParses("1_000_000B", Type::Bytes, 1000000);
  expectParses("1_024KiB", Type::Bytes, kMiB);
  expectParses("1_0.2_5%", Type::Percent, 10250);
  expectParses("1__0", Type::Count, 10);
  expectParses("10_", Type::Count, 10);
}

TEST(Units, DecimalsAreExact) {
  expectParses("2.5GiB", Type::Bytes, 5 * kGiB / 2);
  expectParses("0.5KiB", Type::Bytes, 512);
  expectParses("1.5MiB", Type::Bytes, kMiB + kMiB / 2);
  expectParses("0.25TiB", Type::Bytes, kTiB / 4);
  expectParses("2.5%", Type::Percent, 2500);
  expectParses("0.001%", Type::Percent, 1);
  expectParses("99.999%", Type::Percent, 99999);
  expectParses("1.5s", Type::Duration, 1500 * kSecond / 1000);
  expectParses("0.5min", Type::Duration, 30 * kSecond);
  expectParses("1.5h", Type::Duration, 90 * 60 * kSecond);
  expectParses("0.000001ms", Type::Duration, 1);
  expectParses("0.000000001s", Type::Duration, 1);
  expectParses("2.0", Type::Count, 2);
  expectParses("1.000B", Type::Bytes, 1);
  expectParses("2.50GiB", Type::Bytes, 5 * kGiB / 2);
}

TEST(Units, FractionsOfBytesAndCountsAreNotWhole) {
  EXPECT_EQ(errorOf("1.5B"), LiteralError::NotWhole);
  EXPECT_EQ(errorOf("0.1B"), LiteralError::NotWhole);
  EXPECT_EQ(errorOf("0.0001KiB"), LiteralError::NotWhole);
  EXPECT_EQ(errorOf("1.5"), LiteralError::NotWhole);
  EXPECT_EQ(errorOf("2.25"), LiteralError::NotWhole);
}

TEST(Units, TooPreciseForPercentAndDuration) {
  EXPECT_EQ(errorOf("0.0001%"), LiteralError::TooPrecise);
  EXPECT_EQ(errorOf("60.0005%"), LiteralError::TooPrecise);
  EXPECT_EQ(errorOf("0.0000001ms"), LiteralError::TooPrecise);
  EXPECT_EQ(errorOf("0.0000000001s"), LiteralError::TooPrecise);
}

TEST(Units, ManyDecimalsStillAnswerByValue) {
  // A fraction far below the finest step is still "too precise", not "too large".
  EXPECT_EQ(errorOf("0.00000000000000000000000000000001%"), LiteralError::TooPrecise);
  EXPECT_EQ(errorOf("0.00000000000000000000000000000001B"), LiteralError::NotWhole);
  // Trailing zeros do not change the value: this is exactly 1GiB.
  expectParses("1.0000000000000000000000000GiB", Type::Bytes, kGiB);
}

TEST(Units, HugeNumbersOverflow) {
  expectParses("18446744073709551615", Type::Count, kU64Max);
  expectParses("18446744073709551615B", Type::Bytes, kU64Max);
  EXPECT_EQ(errorOf("18446744073709551616"), LiteralError::Overflow);
  EXPECT_EQ(errorOf("18446744073709551616B"), LiteralError::Overflow);
  expectParses("16777215TiB", Type::Bytes, 16777215 * kTiB);
  EXPECT_EQ(errorOf("16777216TiB"), LiteralError::Overflow);  // exactly 2^64
  EXPECT_EQ(errorOf("17179869184GiB"), LiteralError::Overflow);
  EXPECT_EQ(errorOf("99999999999999999999999999999999999999999"), LiteralError::Overflow);
  EXPECT_EQ(errorOf("99999999999999999999999999999999999999999TiB"), LiteralError::Overflow);
  EXPECT_EQ(errorOf("18446744073709551616%"), LiteralError::Overflow);
  expectParses("18446744073709551.615%", Type::Percent, kU64Max);
  EXPECT_EQ(errorOf("18446744073709551.616%"), LiteralError::Overflow);
  EXPECT_EQ(errorOf("5124095576h"), LiteralError::Overflow);  // > 2^64 ns
  expectParses("5124095h", Type::Duration, __int128{5124095} * 3600 * kSecond);
}

TEST(Units, UnknownUnits) {
  for (const char* text : {"5MB", "5G", "5gib", "5mib", "5sec", "5m", "5xyz", "5b", "5S", "5H", "5Min", "5ns", "5us"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(errorOf(text), LiteralError::UnknownUnit);
  }
}

// ---- suggestions -------------------------------------------------------------------------

TEST(Units, SuggestsBinaryUnitsForDecimalSizes) {
  struct Case {
    const char* written;
    const char* meant;
  };
  for (const Case& c : {Case{"MB", "MiB"}, Case{"M", "MiB"}, Case{"KB", "KiB"}, Case{"K", "KiB"},
                        Case{"k", "KiB"}, Case{"kB", "KiB"}, Case{"GB", "GiB"}, Case{"G", "GiB"},
                        Case{"TB", "TiB"}, Case{"T", "TiB"}, Case{"Gi", "GiB"}, Case{"mb", "MiB"}}) {
    SCOPED_TRACE(c.written);
    UnitSuggestion s = suggestUnit(c.written);
    EXPECT_EQ(s.candidates, std::vector<std::string>{c.meant});
    EXPECT_NE(s.why.find("1024"), std::string::npos) << s.why;
  }
}

TEST(Units, SuggestsBothMeaningsOfM) {
  UnitSuggestion s = suggestUnit("m");
  EXPECT_EQ(s.candidates, (std::vector<std::string>{"min", "MiB"}));
  EXPECT_FALSE(s.why.empty());
}

TEST(Units, SuggestsSpelledOutDurationsAndPercent) {
  EXPECT_EQ(suggestUnit("sec").candidates, std::vector<std::string>{"s"});
  EXPECT_EQ(suggestUnit("seconds").candidates, std::vector<std::string>{"s"});
  EXPECT_EQ(suggestUnit("msec").candidates, std::vector<std::string>{"ms"});
  EXPECT_EQ(suggestUnit("mins").candidates, std::vector<std::string>{"min"});
  EXPECT_EQ(suggestUnit("minutes").candidates, std::vector<std::string>{"min"});
  EXPECT_EQ(suggestUnit("hr").candidates, std::vector<std::string>{"h"});
  EXPECT_EQ(suggestUnit("hours").candidates, std::vector<std::string>{"h"});
  EXPECT_EQ(suggestUnit("pct").candidates, std::vector<std::string>{"%"});
  EXPECT_FALSE(suggestUnit("sec").why.empty());
}

TEST(Units, SuggestsTheUnitATypoWasMeantToBe) {
  EXPECT_EQ(suggestUnit("Mib").candidates, std::vector<std::string>{"MiB"});
  EXPECT_EQ(suggestUnit("gib").candidates, std::vector<std::string>{"GiB"});
  EXPECT_EQ(suggestUnit("KIB").candidates, std::vector<std::string>{"KiB"});
  EXPECT_EQ(suggestUnit("Tib").candidates, std::vector<std::string>{"TiB"});
}

TEST(Units, SuggestsTheBinaryUnitForBitSpellings) {
  // `Gb` and friends are memory sizes written the decimal way, not bytes.
  EXPECT_EQ(suggestUnit("Gb").candidates, std::vector<std::string>{"GiB"});
  EXPECT_EQ(suggestUnit("Mb").candidates, std::vector<std::string>{"MiB"});
  EXPECT_EQ(suggestUnit("Kb").candidates, std::vector<std::string>{"KiB"});
}

TEST(Units, NoSuggestionForSomethingFarAway) {
  UnitSuggestion s = suggestUnit("parsecs");
  EXPECT_TRUE(s.candidates.empty());
  EXPECT_TRUE(suggestUnit("xyzzy").candidates.empty());
}

}  // namespace
}  // namespace mmp

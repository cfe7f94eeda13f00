// Units of the language and the parsing of quantity literals (`2.5GiB`).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "units/quantity.h"

namespace mmp {

struct UnitInfo {
  std::string_view name;
  Type type;
  uint64_t rawPerUnit;
};

const std::vector<UnitInfo>& allUnits();
const UnitInfo* findUnit(std::string_view suffix);

// For an unknown unit suffix: the unit the user most likely meant, and why
// the suffix was refused ("memory sizes are powers of 1024").
struct UnitSuggestion {
  std::vector<std::string> candidates;  // one, or several when ambiguous
  std::string why;
};
UnitSuggestion suggestUnit(std::string_view suffix);

enum class LiteralError { None, UnknownUnit, Overflow, NotWhole, TooPrecise };

struct ParsedLiteral {
  Value value;
  LiteralError error = LiteralError::None;
  std::string_view number;  // "2.5"
  std::string_view unit;    // "GiB", empty when none
};

ParsedLiteral parseQuantity(std::string_view text);

}  // namespace mmp

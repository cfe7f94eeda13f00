// `mmpc fmt`: a policy's canonical layout. Only whitespace changes: the
// tokens, and so the meaning, stay as written; comments stay where they
// were (before a statement, at the end of its line, or inside it).
#pragma once

#include <string>

#include "parse/layout.h"

namespace mmp {

inline constexpr size_t kFormatWidth = 100;  // a longer rule breaks before its clauses

std::string formatLayout(const layout::Layout& l);

}  // namespace mmp

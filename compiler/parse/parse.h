// The parsing stage: text in, the project's AST out. ANTLR stays inside.
#pragma once

#include <memory>

#include "ast/ast.h"
#include "diagnostics/diagnostics.h"

namespace mmp {

// Parses one source file. Syntax errors are reported (all of them: the
// parser recovers) and the items they touch are left out of the tree, so
// later stages see only what parsed cleanly.
std::unique_ptr<ast::Policy> parsePolicy(const SourceManager& sm, uint32_t file, Diagnostics& diags);

// Parentheses nested deeper than this are refused before parsing.
inline constexpr int kMaxNesting = 64;

}  // namespace mmp

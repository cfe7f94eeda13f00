// The parsing stage: text in, the project's AST out. ANTLR stays inside.
#pragma once

#include <memory>
#include <string>

#include "ast/ast.h"
#include "diagnostics/diagnostics.h"

namespace mmp {

// Parses one source file. Syntax errors are reported (all of them: the
// parser recovers) and the items they touch are left out of the tree, so
// later stages see only what parsed cleanly.
std::unique_ptr<ast::Policy> parsePolicy(const SourceManager& sm, uint32_t file, Diagnostics& diags);

// Parentheses nested deeper than this are refused before parsing.
inline constexpr int kMaxNesting = 64;

namespace parse {

// For the front-end bench (bench/frontend_bench.cpp), which must not see
// ANTLR: the generated lexer and parser share DFA caches across instances;
// this empties them, so the next parse predicts from the ATN again.
void clearCaches();

// The generated lexer and parser alone on `text`, without the AST, in
// ANTLR's LL prediction mode or its faster SLL; false on a syntax error.
bool parseTreeOnly(const std::string& text, bool sll);

}  // namespace parse

}  // namespace mmp

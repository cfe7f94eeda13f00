// A policy's statements as tokens, with its comments and blank lines: what
// `mmpc fmt` needs to print a canonical layout (compiler/format/). Built
// from ANTLR's token stream here, so that ANTLR stays inside parse/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "diagnostics/diagnostics.h"

namespace mmp::layout {

struct Token {
  std::string text;
  bool operand = false;   // ends an operand (a number, a name, `)`): a `-` after it is binary
  bool unaryMinus = false;
};

struct Statement {
  enum class Kind { Plain, OpenScope, CloseScope } kind = Kind::Plain;
  int depth = 0;  // 1 inside an `in` block
  std::vector<Token> tokens;
  // Where a long rule may break: before its actions and each modifier.
  std::vector<size_t> breaks;
  std::vector<std::string> leading;                      // own-line comments before it
  std::vector<std::pair<size_t, std::string>> inner;     // comment after token i, within it
  std::string trailing;                                  // a comment after its last token
  bool blankBefore = false;                              // a blank line before it in the source
};

struct Layout {
  std::vector<Statement> statements;
  std::vector<std::string> endComments;  // after the last statement
  bool blankBeforeEnd = false;
};

// The layout of `file`, or nothing (with the diagnostics) if it does not
// parse: only a policy that parses has a canonical layout.
std::optional<Layout> parseLayout(const SourceManager& sm, uint32_t file, Diagnostics& diags);

}  // namespace mmp::layout

// Turns ANTLR's syntax errors into diagnostics in the language's own words.
#pragma once

#include <BaseErrorListener.h>
#include <DefaultErrorStrategy.h>

#include <vector>

#include "diagnostics/diagnostics.h"
#include "parse/text_map.h"

namespace mmp {

// ANTLR's recovery, except that it never deletes a token that starts a
// statement to make the current one fit: `let bad =` followed by
// `let good = 1` must not become `let bad = good`.
class StatementErrorStrategy : public antlr4::DefaultErrorStrategy {
protected:
  antlr4::Token* singleTokenDeletion(antlr4::Parser* recognizer) override;
};

class SyntaxErrorListener : public antlr4::BaseErrorListener {
public:
  // `eofOffset`: the byte offset just past the parsed text, where an error
  // at its end is shown.
  SyntaxErrorListener(Diagnostics& diags, const TextMap& map, uint32_t file, uint32_t eofOffset)
      : diags_(diags), map_(map), file_(file), eofOffset_(eofOffset) {}

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t line,
                   size_t column, const std::string& msg, std::exception_ptr e) override;

  // How the end of the parsed text is called in messages.
  void setEndName(std::string name) { endName_ = std::move(name); }

  // Byte offsets of the tokens the errors were reported at.
  const std::vector<uint32_t>& errorOffsets() const { return offsets_; }

private:
  SourceRange rangeOf(antlr4::Token* t) const;

  Diagnostics& diags_;
  const TextMap& map_;
  uint32_t file_;
  uint32_t eofOffset_;
  std::vector<uint32_t> offsets_;
  std::string endName_ = "the end of the file";
};

}  // namespace mmp

#include "parse/parse.h"

#include <antlr4-runtime.h>
#include <fmt/format.h>

#include "MmpLexer.h"
#include "MmpParser.h"
#include "parse/ast_builder.h"
#include "parse/syntax_errors.h"

namespace mmp {
namespace {

// Parentheses are the only recursion left in the grammar; refusing deep
// nesting before parsing keeps every stage's stack bounded.
bool nestingWithinLimit(antlr4::CommonTokenStream& tokens, const TextMap& map, uint32_t file,
                        Diagnostics& diags) {
  int depth = 0;
  for (auto* t : tokens.getTokens()) {
    if (t->getText() == "(") ++depth;
    if (t->getText() == ")") depth = std::max(0, depth - 1);
    if (depth > kMaxNesting) {
      uint32_t at = map.byteOffset(t->getStartIndex());
      diags.report(DiagCode::E0001, {file, at, at + 1},
                   fmt::format("parentheses are nested too deeply (more than {} levels)", kMaxNesting))
          .help("split the expression with `let` constants or into several rules");
      return false;
    }
  }
  return true;
}

// Lexer, parser and error listener for one piece of text.
struct ParserSession {
  antlr4::ANTLRInputStream input;
  mmpgen::MmpLexer lexer;
  antlr4::CommonTokenStream tokens;
  mmpgen::MmpParser parser;
  SyntaxErrorListener listener;

  ParserSession(std::string_view text, const TextMap& map, uint32_t file, uint32_t fileSize, Diagnostics& diags)
      : input(std::string(text)), lexer(&input), tokens(&lexer), parser(&tokens),
        listener(diags, map, file, fileSize) {
    lexer.removeErrorListeners();
    parser.removeErrorListeners();
    parser.addErrorListener(&listener);
    tokens.fill();
  }
};

}  // namespace

std::unique_ptr<ast::Policy> parsePolicy(const SourceManager& sm, uint32_t file, Diagnostics& diags) {
  const SourceFile& src = sm.file(file);
  const std::string& text = src.text();
  if (auto bad = TextMap::invalidUtf8(text)) {
    diags.report(DiagCode::E0001, {file, *bad, *bad + 1}, "the file is not valid UTF-8 text")
        .help("save the policy as UTF-8");
    return nullptr;
  }
  TextMap map(text, 0);
  ParserSession session(text, map, file, text.size(), diags);
  if (!nestingWithinLimit(session.tokens, map, file, diags)) return nullptr;

  // `{expr}` inside log strings: parsed by a session of their own.
  AstBuilder::InterpolationParser interpolation = [&](std::string_view inner, uint32_t base) -> ast::ExprPtr {
    TextMap innerMap(inner, base);
    ParserSession sub(inner, innerMap, file, text.size(), diags);
    if (!nestingWithinLimit(sub.tokens, innerMap, file, diags)) return nullptr;
    auto* tree = sub.parser.interpolation();
    if (!sub.listener.errorOffsets().empty() || !tree->disjunction()) return nullptr;
    AstBuilder builder(file, innerMap, diags, nullptr);
    return builder.buildExpr(tree->disjunction());
  };

  auto* tree = session.parser.file();
  AstBuilder builder(file, map, diags, interpolation);
  builder.setErrorOffsets(session.listener.errorOffsets());
  return builder.buildFile(tree);
}

}  // namespace mmp

#include "parse/parse.h"

#include <antlr4-runtime.h>
#include <fmt/format.h>

#include <set>

#include "MmpLexer.h"
#include "MmpParser.h"
#include "parse/ast_builder.h"
#include "parse/syntax_errors.h"

namespace mmp {
namespace {

// Parentheses are the only recursion left in the grammar; refusing deep
// nesting before parsing keeps every stage's stack bounded.
size_t literalType(const antlr4::dfa::Vocabulary& v, const char* literal) {
  for (size_t t = 0; t <= v.getMaxTokenType(); ++t)
    if (v.getLiteralName(t) == literal) return t;
  return 0;
}

bool nestingWithinLimit(antlr4::CommonTokenStream& tokens, const TextMap& map, uint32_t file,
                        Diagnostics& diags) {
  const auto& vocab = dynamic_cast<antlr4::Lexer*>(tokens.getTokenSource())->getVocabulary();
  static const size_t open = literalType(vocab, "'('");
  static const size_t close = literalType(vocab, "')'");
  static const size_t openBrace = literalType(vocab, "'{'");
  static const size_t closeBrace = literalType(vocab, "'}'");
  int depth = 0, braces = 0;
  for (auto* t : tokens.getTokens()) {
    size_t type = t->getType();
    if (type == open) ++depth;
    if (type == close) depth = std::max(0, depth - 1);
    // Scopes do not nest, but the grammar accepts nesting to name the
    // mistake: bound it like parentheses.
    if (type == openBrace) ++braces;
    if (type == closeBrace) braces = std::max(0, braces - 1);
    if (depth <= kMaxNesting && braces <= kMaxNesting) continue;
    uint32_t at = map.byteOffset(t->getStartIndex());
    diags.report(DiagCode::E0001, {file, at, at + 1},
                 depth > kMaxNesting
                     ? fmt::format("parentheses are nested too deeply (more than {} levels)", kMaxNesting)
                     : fmt::format("braces are nested too deeply (more than {} levels)", kMaxNesting))
        .help(depth > kMaxNesting ? "split the expression with `let` constants or into several rules"
                                  : "scopes cannot be nested: close each `in { ... }` before the next");
    return false;
  }
  return true;
}

// Lexer, parser and error listener for one piece of text. Syntax errors
// land in `errors` first: recovery inside a broken statement can report
// follow-on errors that only the first one explains.
struct ParserSession {
  antlr4::ANTLRInputStream input;
  mmpgen::MmpLexer lexer;
  antlr4::CommonTokenStream tokens;
  mmpgen::MmpParser parser;
  Diagnostics errors;
  SyntaxErrorListener listener;

  ParserSession(std::string_view text, const TextMap& map, uint32_t file, uint32_t eofOffset)
      : input(std::string(text)), lexer(&input), tokens(&lexer), parser(&tokens),
        listener(errors, map, file, eofOffset) {
    lexer.removeErrorListeners();
    parser.removeErrorListeners();
    parser.addErrorListener(&listener);
    parser.setErrorHandler(std::make_shared<StatementErrorStrategy>());
    tokens.fill();
  }
};

// Byte offsets where statements (items, and rules and lets in scopes) start.
std::vector<uint32_t> statementStarts(mmpgen::MmpParser::FileContext* tree, const TextMap& map) {
  std::vector<uint32_t> starts;
  auto add = [&](antlr4::ParserRuleContext* ctx) { starts.push_back(map.byteOffset(ctx->getStart()->getStartIndex())); };
  for (auto* item : tree->item()) {
    add(item);
    if (auto* scope = item->scopeBlock())
      for (auto* inner : scope->scopeItem()) add(inner);
  }
  std::sort(starts.begin(), starts.end());
  return starts;
}

// Keeps the first syntax error of each statement.
void reportFirstPerStatement(const Diagnostics& errors, const std::vector<uint32_t>& starts, Diagnostics& diags) {
  std::set<size_t> seen;
  for (const auto& d : errors.all()) {
    size_t owner = std::upper_bound(starts.begin(), starts.end(), d.range.begin) - starts.begin();
    if (!seen.insert(owner).second) continue;  // owner 0: the `policy` header
    diags.add(d);
  }
}

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
  ParserSession session(text, map, file, text.size());
  if (!nestingWithinLimit(session.tokens, map, file, diags)) return nullptr;

  // `{expr}` inside log strings: parsed by a session of their own.
  AstBuilder::InterpolationParser interpolation = [&](std::string_view inner, uint32_t base) -> ast::ExprPtr {
    TextMap innerMap(inner, base);
    ParserSession sub(inner, innerMap, file, base + static_cast<uint32_t>(inner.size()));
    sub.listener.setEndName("the closing `}`");
    if (!nestingWithinLimit(sub.tokens, innerMap, file, diags)) return nullptr;
    auto* tree = sub.parser.interpolation();
    if (!sub.errors.all().empty()) {
      diags.add(sub.errors.all().front());
      return nullptr;
    }
    if (!tree->disjunction()) return nullptr;
    AstBuilder builder(file, innerMap, diags, nullptr);
    builder.setSource(text);
    return builder.buildExpr(tree->disjunction());
  };

  auto* tree = session.parser.file();
  reportFirstPerStatement(session.errors, statementStarts(tree, map), diags);
  AstBuilder builder(file, map, diags, interpolation);
  builder.setErrorOffsets(session.listener.errorOffsets());
  builder.setSource(text);
  return builder.buildFile(tree);
}

namespace parse {

void clearCaches() {
  antlr4::ANTLRInputStream input("policy p");
  mmpgen::MmpLexer lexer(&input);
  antlr4::CommonTokenStream tokens(&lexer);
  mmpgen::MmpParser parser(&tokens);
  lexer.getInterpreter<antlr4::atn::LexerATNSimulator>()->clearDFA();
  parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->clearDFA();
}

bool parseTreeOnly(const std::string& text, bool sll) {
  antlr4::ANTLRInputStream input(text);
  mmpgen::MmpLexer lexer(&input);
  antlr4::CommonTokenStream tokens(&lexer);
  mmpgen::MmpParser parser(&tokens);
  lexer.removeErrorListeners();
  parser.removeErrorListeners();
  parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
      sll ? antlr4::atn::PredictionMode::SLL : antlr4::atn::PredictionMode::LL);
  tokens.fill();
  parser.file();
  return parser.getNumberOfSyntaxErrors() == 0;
}

}  // namespace parse

}  // namespace mmp

// Parse tree → AST. Internal to the parsing stage.
#pragma once

#include <functional>
#include <string_view>

#include "MmpParser.h"
#include "ast/ast.h"
#include "diagnostics/diagnostics.h"
#include "parse/text_map.h"

namespace mmp {

// Expressions taller than this are refused: every later stage recurses.
inline constexpr int kMaxExprDepth = 256;

class AstBuilder {
public:
  // Parses `{expr}` text found in a log string at byte offset `base`.
  using InterpolationParser = std::function<ast::ExprPtr(std::string_view text, uint32_t base)>;

  AstBuilder(uint32_t file, const TextMap& map, Diagnostics& diags, InterpolationParser interp)
      : file_(file), map_(map), diags_(diags), interp_(std::move(interp)) {}

  // Items touching one of these byte offsets had a syntax error: left out.
  void setErrorOffsets(std::vector<uint32_t> offsets) { errorOffsets_ = std::move(offsets); }
  // The source text, for names: slicing it is cheaper than ANTLR's getText().
  void setSource(std::string_view text) { source_ = text; }

  std::unique_ptr<ast::Policy> buildFile(mmpgen::MmpParser::FileContext* ctx);
  ast::ExprPtr buildExpr(mmpgen::MmpParser::DisjunctionContext* ctx);

private:
  using P = mmpgen::MmpParser;

  ast::ItemPtr buildItem(P::ItemContext* ctx);
  ast::ItemPtr buildScopeItem(P::ScopeItemContext* ctx);
  ast::ItemPtr buildRule(P::RuleDeclContext* ctx);
  std::unique_ptr<ast::LetDecl> buildLet(P::LetDeclContext* ctx);
  std::unique_ptr<ast::LetDecl> buildParam(P::ParamDeclContext* ctx);
  std::unique_ptr<ast::LetDecl> buildConstant(antlr4::ParserRuleContext* ctx, antlr4::tree::TerminalNode* name,
                                              P::ExprContext* value);
  std::unique_ptr<ast::ImportDecl> buildImport(P::ImportDeclContext* ctx);
  std::unique_ptr<ast::SetDecl> buildSet(P::SetDeclContext* ctx);
  std::unique_ptr<ast::PreferDecl> buildPrefer(P::PreferDeclContext* ctx);
  void buildTexts(antlr4::Token* what, antlr4::tree::TerminalNode* ident,
                  const std::vector<antlr4::tree::TerminalNode*>& strings, std::string& word, SourceRange& wordRange,
                  std::vector<ast::StringLit>& patterns);
  std::unique_ptr<ast::Scope> buildScope(P::ScopeBlockContext* ctx, ast::Policy& policy);
  bool scopeHeaderBroken(P::ScopeBlockContext* ctx) const;
  void reportMisplaced(P::ScopeItemContext* item);
  void buildActions(P::ActionListContext* ctx, std::vector<ast::Action>& out);
  ast::Action buildAction(P::ActionContext* ctx);
  ast::Modifier buildModifier(P::ModifierContext* ctx);

  ast::ExprPtr buildConjunction(P::ConjunctionContext* ctx);
  ast::ExprPtr buildNegation(P::NegationContext* ctx);
  ast::ExprPtr buildComparison(P::ComparisonContext* ctx);
  ast::ExprPtr buildSum(P::SumContext* ctx);
  ast::ExprPtr buildProduct(P::ProductContext* ctx);
  ast::ExprPtr buildShare(P::ShareContext* ctx);
  ast::ExprPtr buildUnary(P::UnaryContext* ctx);
  ast::ExprPtr buildPrimary(P::PrimaryContext* ctx);
  ast::ExprPtr binary(ast::BinaryOp op, antlr4::Token* opToken, ast::ExprPtr lhs, ast::ExprPtr rhs);
  ast::ExprPtr unary(ast::UnaryOp op, antlr4::Token* opToken, ast::ExprPtr operand);
  ast::ExprPtr checkDepth(ast::ExprPtr e);

  ast::StringLit buildString(antlr4::tree::TerminalNode* node);
  void buildLogMessage(ast::Action& action, const std::string& rawText);

  bool broken(antlr4::ParserRuleContext* ctx) const;
  void noteBrokenLet(P::LetDeclContext* ctx, ast::Policy& policy) const;

  SourceRange range(antlr4::ParserRuleContext* ctx) const;
  SourceRange range(antlr4::Token* t) const;
  SourceRange range(antlr4::tree::TerminalNode* n) const { return range(n->getSymbol()); }

  uint32_t file_;
  const TextMap& map_;
  Diagnostics& diags_;
  InterpolationParser interp_;
  bool depthReported_ = false;
  std::vector<uint32_t> errorOffsets_;
  std::string_view source_;
};

}  // namespace mmp

// Expressions: the parser's precedence levels become binary and unary nodes.
#include <fmt/format.h>

#include "parse/ast_builder.h"

namespace mmp {

using namespace ast;
using P = mmpgen::MmpParser;

ExprPtr AstBuilder::checkDepth(ExprPtr e) {
  if (e->depth <= kMaxExprDepth) return e;
  if (!depthReported_)
    diags_.report(DiagCode::E0001, e->range,
                  fmt::format("expression is too deeply nested (more than {} levels)", kMaxExprDepth))
        .help("split it with `let` constants or into several rules");
  depthReported_ = true;
  return std::make_unique<InvalidExpr>(e->range);
}

ExprPtr AstBuilder::binary(BinaryOp op, antlr4::Token* opToken, ExprPtr lhs, ExprPtr rhs) {
  SourceRange r = SourceRange::join(lhs->range, rhs->range);
  int depth = std::max(lhs->depth, rhs->depth) + 1;
  auto e = std::make_unique<BinaryExpr>(r, op, range(opToken), std::move(lhs), std::move(rhs));
  e->depth = depth;
  return checkDepth(std::move(e));
}

ExprPtr AstBuilder::unary(UnaryOp op, antlr4::Token* opToken, ExprPtr operand) {
  SourceRange r = SourceRange::join(range(opToken), operand->range);
  int depth = operand->depth + 1;
  auto e = std::make_unique<UnaryExpr>(r, op, std::move(operand));
  e->depth = depth;
  return checkDepth(std::move(e));
}

// disjunction := conjunction ('or' conjunction)*
ExprPtr AstBuilder::buildExpr(P::DisjunctionContext* ctx) {
  auto parts = ctx->conjunction();
  ExprPtr e = buildConjunction(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    auto* op = dynamic_cast<antlr4::tree::TerminalNode*>(ctx->children[2 * i - 1]);
    e = binary(BinaryOp::Or, op->getSymbol(), std::move(e), buildConjunction(parts[i]));
  }
  return e;
}

// conjunction := negation ('and' negation)*
ExprPtr AstBuilder::buildConjunction(P::ConjunctionContext* ctx) {
  auto parts = ctx->negation();
  ExprPtr e = buildNegation(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    auto* op = dynamic_cast<antlr4::tree::TerminalNode*>(ctx->children[2 * i - 1]);
    e = binary(BinaryOp::And, op->getSymbol(), std::move(e), buildNegation(parts[i]));
  }
  return e;
}

// negation := 'not'* comparison
ExprPtr AstBuilder::buildNegation(P::NegationContext* ctx) {
  ExprPtr e = buildComparison(ctx->comparison());
  auto nots = ctx->NOT();
  for (auto it = nots.rbegin(); it != nots.rend(); ++it) e = unary(UnaryOp::Not, (*it)->getSymbol(), std::move(e));
  return e;
}

// comparison := sum (('<' | '<=' | '>' | '>=' | '==' | '!=') sum)?
ExprPtr AstBuilder::buildComparison(P::ComparisonContext* ctx) {
  auto sums = ctx->sum();
  ExprPtr e = buildSum(sums[0]);
  if (sums.size() < 2) return e;
  static const std::pair<const char*, BinaryOp> ops[] = {
      {"<", BinaryOp::Lt}, {"<=", BinaryOp::Le}, {">", BinaryOp::Gt},
      {">=", BinaryOp::Ge}, {"==", BinaryOp::Eq}, {"!=", BinaryOp::Ne}};
  BinaryOp op = BinaryOp::Eq;
  for (const auto& [text, kind] : ops)
    if (ctx->op->getText() == text) op = kind;
  return binary(op, ctx->op, std::move(e), buildSum(sums[1]));
}

// sum := product (('+' | '-') product)*
ExprPtr AstBuilder::buildSum(P::SumContext* ctx) {
  auto parts = ctx->product();
  ExprPtr e = buildProduct(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    antlr4::Token* op = ctx->op[i - 1];
    e = binary(op->getText() == "+" ? BinaryOp::Add : BinaryOp::Sub, op, std::move(e), buildProduct(parts[i]));
  }
  return e;
}

// product := share (('*' | '/') share)*
ExprPtr AstBuilder::buildProduct(P::ProductContext* ctx) {
  auto parts = ctx->share();
  ExprPtr e = buildShare(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    antlr4::Token* op = ctx->op[i - 1];
    e = binary(op->getText() == "*" ? BinaryOp::Mul : BinaryOp::Div, op, std::move(e), buildShare(parts[i]));
  }
  return e;
}

// share := unary ('of' unary)*   (right-associative: 5% of 50% of x)
ExprPtr AstBuilder::buildShare(P::ShareContext* ctx) {
  auto parts = ctx->unary();
  ExprPtr e = buildUnary(parts.back());
  for (size_t i = parts.size() - 1; i-- > 0;) {
    auto* op = dynamic_cast<antlr4::tree::TerminalNode*>(ctx->children[2 * i + 1]);
    e = binary(BinaryOp::Of, op->getSymbol(), buildUnary(parts[i]), std::move(e));
  }
  return e;
}

// unary := '-'* primary
ExprPtr AstBuilder::buildUnary(P::UnaryContext* ctx) {
  ExprPtr e = buildPrimary(ctx->primary());
  auto minuses = ctx->MINUS();
  for (auto it = minuses.rbegin(); it != minuses.rend(); ++it)
    e = unary(UnaryOp::Neg, (*it)->getSymbol(), std::move(e));
  return e;
}

// primary := '(' disjunction ')' | NUMBER | 'true' | 'false'
//          | IDENT '(' disjunction (',' disjunction)* ')' | path
ExprPtr AstBuilder::buildPrimary(P::PrimaryContext* ctx) {
  if (auto* p = dynamic_cast<P::ParenExprContext*>(ctx)) {
    ExprPtr inner = buildExpr(p->disjunction());
    inner->range = range(ctx);  // the parentheses belong to the operand
    return inner;
  }
  if (auto* q = dynamic_cast<P::QuantityExprContext*>(ctx))
    return std::make_unique<QuantityExpr>(range(ctx), q->QUANTITY()->getText());
  if (dynamic_cast<P::BoolExprContext*>(ctx))
    return std::make_unique<BoolExpr>(range(ctx), ctx->getText() == "true");
  if (auto* c = dynamic_cast<P::CallExprContext*>(ctx)) {
    auto call = std::make_unique<CallExpr>(range(ctx), c->IDENT()->getText(), range(c->IDENT()));
    for (auto* a : c->disjunction()) {
      call->args.push_back(buildExpr(a));
      call->depth = std::max(call->depth, call->args.back()->depth + 1);
    }
    return checkDepth(std::move(call));
  }
  auto* path = dynamic_cast<P::PathExprContext*>(ctx);
  SourceRange r = range(ctx);
  std::string_view written = r.end <= source_.size() ? source_.substr(r.begin, r.end - r.begin) : std::string_view();
  // Written with spaces or comments between its parts (`memcg . usage`): ask ANTLR.
  if (written.empty() || written.find_first_of(" \t\r\n#") != std::string_view::npos)
    return std::make_unique<PathExpr>(r, path->pathHead()->getText());
  return std::make_unique<PathExpr>(r, std::string(written));
}

}  // namespace mmp

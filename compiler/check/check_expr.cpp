// Expressions: names, the units type system, constant folding.
#include <fmt/format.h>

#include "check/checker.h"
#include "support/suggest.h"
#include "units/units.h"

namespace mmp {

using namespace ast;

namespace {

CompareOp compareOp(BinaryOp op) {
  switch (op) {
    case BinaryOp::Lt: return CompareOp::Lt;
    case BinaryOp::Le: return CompareOp::Le;
    case BinaryOp::Gt: return CompareOp::Gt;
    case BinaryOp::Ge: return CompareOp::Ge;
    case BinaryOp::Eq: return CompareOp::Eq;
    default: return CompareOp::Ne;
  }
}

const Binding* fieldOf(const Expr& e) {
  auto* p = llvm::dyn_cast<PathExpr>(&e);
  return p ? p->binding : nullptr;
}

std::string backticked(Type t) { return fmt::format("`{}`", typeName(t)); }

// `rate(memcg.pressure.some.total)`: the rate of a duration field, a percent.
bool shareOfTime(const Expr& e) {
  auto* c = llvm::dyn_cast<CallExpr>(&e);
  return c && c->callee == "rate" && c->type == Type::Percent;
}

}  // namespace

Type Checker::checkExpr(Expr& e, const ExprContext& ctx) {
  switch (e.kind) {
    case ExprKind::Quantity: e.type = checkQuantity(llvm::cast<QuantityExpr>(e)); break;
    case ExprKind::Bool:
      e.type = Type::Bool;
      e.constant = Value::boolean(llvm::cast<BoolExpr>(e).value);
      break;
    case ExprKind::Path: e.type = checkPath(llvm::cast<PathExpr>(e), ctx); break;
    case ExprKind::Unary: e.type = checkUnary(llvm::cast<UnaryExpr>(e), ctx); break;
    case ExprKind::Binary: e.type = checkBinary(llvm::cast<BinaryExpr>(e), ctx); break;
    case ExprKind::Call: e.type = checkCall(llvm::cast<CallExpr>(e), ctx); break;
    case ExprKind::Invalid: e.type = Type::Error; break;
  }
  return e.type;
}

// NUMBER UNIT?
Type Checker::checkQuantity(QuantityExpr& e) {
  ParsedLiteral lit = parseQuantity(e.text);
  switch (lit.error) {
    case LiteralError::None:
      e.constant = lit.value;
      return lit.value.type;
    case LiteralError::UnknownUnit: {
      SourceRange unitRange{e.range.file, e.range.begin + static_cast<uint32_t>(lit.number.size()), e.range.end};
      UnitSuggestion s = suggestUnit(lit.unit);
      auto& d = diags_.report(DiagCode::E0202, unitRange, s.candidates.size() > 1
                                  ? fmt::format("ambiguous unit `{}`", lit.unit)
                                  : fmt::format("unknown unit `{}`", lit.unit));
      if (!s.why.empty()) d.note(s.why);
      for (const auto& c : s.candidates) d.help(fmt::format("did you mean `{}{}`?", lit.number, c));
      if (s.candidates.empty() && s.why.empty()) d.help("the units are B, KiB, MiB, GiB, TiB, %, ms, s, min and h");
      return Type::Error;
    }
    case LiteralError::Overflow:
      diags_.report(DiagCode::E0203, e.range, fmt::format("`{}` is too large", e.text))
          .help("quantities must fit in 64 bits (bytes up to 16 EiB)");
      return Type::Error;
    case LiteralError::NotWhole:
      diags_.report(DiagCode::E0203, e.range, fmt::format("`{}` is not a whole number of {}", e.text,
                                                          lit.value.type == Type::Bytes ? "bytes" : "items"))
          .help(lit.value.type == Type::Bytes ? "write a whole number of bytes, e.g. with a smaller unit"
                                              : "counts are whole numbers");
      return Type::Error;
    case LiteralError::TooPrecise:
      diags_.report(DiagCode::E0203, e.range, fmt::format("`{}` is finer than the language can represent", e.text))
          .help(lit.value.type == Type::Percent ? "percentages have at most 3 decimals"
                                                : "durations have a resolution of 1 ns");
      return Type::Error;
  }
  return Type::Error;
}

// A `let` name or a field: `hot`, `memcg.pressure.full`.
Type Checker::checkPath(PathExpr& e, const ExprContext& ctx) {
  if (const LetDecl* let = findLet(e.name)) {
    e.let = let;
    if (let->used().constant) e.constant = let->used().constant;
    return let->used().type;
  }
  if (const Binding* b = bindings_.field(e.name)) return checkField(e, *b, ctx);
  if (brokenLets_.count(e.name)) return Type::Error;  // its `let` had a syntax error
  reportUnknownName(e);
  return Type::Error;
}

void Checker::reportUnknownName(const PathExpr& e) {
  std::vector<std::string> candidates = bindings_.fieldNames();
  for (const auto& frame : lets_)
    for (const auto& [name, let] : frame) candidates.push_back(name);
  bool isField = e.name.find('.') != std::string::npos;
  auto& d = diags_.report(DiagCode::E0100, e.range,
                          fmt::format("unknown {} `{}`", isField ? "field" : "name", e.name));
  if (auto it = laterLets_.find(e.name); it != laterLets_.end() && it->second->nameRange.begin > e.range.begin) {
    d.note(it->second->nameRange, "a `let` of that name comes later")
        .help("move the `let` above its first use");
    return;
  }
  if (auto best = closestMatch(e.name, candidates)) {
    d.help(fmt::format("did you mean `{}`?", *best));
    return;
  }
  if (!isField) return;
  std::string family = e.name.substr(0, e.name.find('.') + 1);
  std::vector<std::string> same;
  for (const auto& f : bindings_.fieldNames())
    if (f.rfind(family, 0) == 0) same.push_back(f);
  if (same.empty()) d.help("fields start with `memcg.`, `system.`, `oom.` or `reclaim.` (docs/language.md, section 5)");
  else d.help(fmt::format("the `{}` fields are {}", family.substr(0, family.size() - 1), fmt::join(same, ", ")));
}

Type Checker::checkField(PathExpr& e, const Binding& b, const ExprContext& ctx) {
  e.binding = &b;
  if (ctx.site == Site::Constant) {
    diags_.report(DiagCode::E0101, e.range, fmt::format("{} takes a constant, but `{}` is read at run time",
                                                        ctx.constantOf, e.name))
        .help("write a literal such as `30s` or `60%`, or a `let` constant");
    return Type::Error;
  }
  if (b.logOnly && ctx.site != Site::LogArg) {
    diags_.report(DiagCode::E0101, e.range, fmt::format("`{}` is only available inside `{{...}}` in a log message", e.name))
        .help(fmt::format("write `log \"... {{{}}} ...\"`", e.name));
    return Type::Error;
  }
  const Rule* rule = ctx.rule;
  if (b.context == FieldContext::Event) {
    bool inItsRule = rule && rule->ruleKind == RuleKind::On && rule->event == b.event;
    if (!inItsRule) {
      auto& d = diags_.report(DiagCode::E0101, e.range, fmt::format("`{}` is only available in `on {}` rules", e.name, b.event));
      if (ctx.site == Site::LogArg) d.help(fmt::format("log it from an `on {} log \"...\"` rule", b.event));
      else d.help(fmt::format("move the condition into an `on {} when ...` rule", b.event));
      return Type::Error;
    }
  }
  if (b.context == FieldContext::Memcg && rule && rule->ruleKind == RuleKind::On) {
    const EventBinding* ev = bindings_.event(rule->event);
    if (ev && !ev->memcg) {
      diags_.report(DiagCode::E0101, e.range, fmt::format("`on {}` has no memcg, so `{}` is not available", rule->event, e.name));
      return Type::Error;
    }
  }
  if (b.context == FieldContext::Memcg && ctx.readsMemcg) *ctx.readsMemcg = true;
  return b.type;
}

// 'not' expr | '-' expr
Type Checker::checkUnary(UnaryExpr& e, const ExprContext& ctx) {
  Type t = checkExpr(*e.operand, ctx);
  if (t == Type::Error) return t;
  if (e.op == UnaryOp::Not) {
    if (t != Type::Bool) {
      diags_.report(DiagCode::E0200, e.operand->range, fmt::format("`not` needs a condition, found {}", backticked(t)))
          .help("compare the value first: `not memcg.pressure > 60%`");
      return Type::Error;
    }
    if (e.operand->constant) e.constant = Value::boolean(!e.operand->constant->isTrue());
    return Type::Bool;
  }
  if (isSigned(t)) {
    if (e.operand->constant) e.constant = negate(*e.operand->constant).value;
    return t;
  }
  if (e.operand->constant && e.operand->constant->raw == 0 && !e.operand->constant->unlimited) {
    e.constant = e.operand->constant;
    return t;
  }
  if (t == Type::Percent) {
    diags_.report(DiagCode::E0201, e.range, "a share cannot be negative")
        .help("percentages lie between 0% and 100%");
    return Type::Error;
  }
  diags_.report(DiagCode::E0200, e.range, fmt::format("a {} value cannot be negative", backticked(t)))
      .note("only rates, such as `rate(memcg.usage)`, have a sign; other quantities are at least 0");
  return Type::Error;
}

Type Checker::checkBinary(BinaryExpr& e, const ExprContext& ctx) {
  Type l = checkExpr(*e.lhs, ctx);
  Type r = checkExpr(*e.rhs, ctx);
  if (l == Type::Error || r == Type::Error) return Type::Error;
  if (e.op == BinaryOp::And || e.op == BinaryOp::Or) return checkLogical(e);
  if (isComparison(e.op)) return checkComparison(e);
  return checkArithmetic(e);
}

Type Checker::checkLogical(BinaryExpr& e) {
  for (Expr* side : {e.lhs.get(), e.rhs.get()}) {
    if (side->type == Type::Bool) continue;
    diags_.report(DiagCode::E0200, side->range,
                  fmt::format("`{}` joins conditions, found {}", spelling(e.op), backticked(side->type)))
        .help("compare the value: `memcg.pressure > 60%`");
    return Type::Error;
  }
  // `x or true` is true and `x and false` is false whatever x is.
  bool absorbing = e.op == BinaryOp::Or;
  for (Expr* side : {e.lhs.get(), e.rhs.get()})
    if (side->constant && side->constant->isTrue() == absorbing) e.constant = Value::boolean(absorbing);
  if (!e.constant && e.lhs->constant && e.rhs->constant) e.constant = Value::boolean(!absorbing);
  return Type::Bool;
}

// A percent where a share of a whole is meant must lie in 0..100.
void Checker::checkShareRange(const Expr& share, const char* where) {
  if (!share.constant || share.type != Type::Percent) return;
  if (share.constant->raw <= static_cast<__int128>(kPercentWhole)) return;
  diags_.report(DiagCode::E0201, share.range, fmt::format("`{}` is more than 100% {}", share.constant->str(), where))
      .help("a share lies between 0% and 100%");
}

Type Checker::checkComparison(BinaryExpr& e) {
  Type l = e.lhs->type, r = e.rhs->type;
  const Binding* lf = fieldOf(*e.lhs);
  const Binding* rf = fieldOf(*e.rhs);
  // `memcg.usage > 90%` compares with 90% of the field's declared whole.
  if (l == Type::Bytes && r == Type::Percent && lf && lf->wholeBinding) {
    e.impliedWhole = lf->wholeBinding;
    checkShareRange(*e.rhs, fmt::format("of `{}`", lf->whole).c_str());
    return Type::Bool;
  }
  if (l == Type::Percent && r == Type::Bytes && rf && rf->wholeBinding) {
    e.impliedWhole = rf->wholeBinding;
    e.wholeOnLeft = true;
    checkShareRange(*e.lhs, fmt::format("of `{}`", rf->whole).c_str());
    return Type::Bool;
  }
  if (l != r || (l == Type::Bool && e.op != BinaryOp::Eq && e.op != BinaryOp::Ne)) {
    auto& d = diags_.report(DiagCode::E0200, e.opRange,
                            fmt::format("cannot compare {} with {}", backticked(l), backticked(r)));
    const Binding* bytesField = l == Type::Bytes ? lf : r == Type::Bytes ? rf : nullptr;
    if (bytesField && (l == Type::Percent || r == Type::Percent)) {
      std::string whole = bytesField->context == FieldContext::Memcg ? "memcg.max"
                          : bytesField->name.rfind("system.swap", 0) == 0 ? "system.swap.total"
                                                                         : "system.memory.total";
      d.note(fmt::format("`{}` has no declared whole to take a percentage of", bytesField->name));
      if (whole == bytesField->name) d.help("compare it with bytes, such as `> 8GiB`");
      else d.help(fmt::format("name the whole: `{} > 90% of {}`", bytesField->name, whole));
    }
    else if (const Expr* share = shareOfTime(*e.lhs) ? e.lhs.get() : shareOfTime(*e.rhs) ? e.rhs.get() : nullptr;
             share && (l == Type::Duration || r == Type::Duration))
      d.note(share->range, "`rate` of a duration field is the share of time it grew by, a percentage")
          .help("compare it with a percentage: `rate(memcg.pressure.some.total) < 0.2%`");
    else if (l == Type::Bool || r == Type::Bool)
      d.help("conditions are joined with `and` / `or`, not compared");
    else
      d.help("compare two values of the same unit");
    return Type::Error;
  }
  // PSI and other percent fields are shares of time: more than 100% never happens.
  if (lf && lf->type == Type::Percent) checkShareRange(*e.rhs, fmt::format("for `{}`", lf->name).c_str());
  if (rf && rf->type == Type::Percent) checkShareRange(*e.lhs, fmt::format("for `{}`", rf->name).c_str());
  if (e.lhs->constant && e.rhs->constant)
    e.constant = Value::boolean(compare(*e.lhs->constant, compareOp(e.op), *e.rhs->constant));
  return Type::Bool;
}

Type Checker::checkArithmetic(BinaryExpr& e) {
  Type l = e.lhs->type, r = e.rhs->type;
  Type t = Type::Error;
  switch (e.op) {
    case BinaryOp::Add:
    case BinaryOp::Sub: t = addType(l, r); break;
    case BinaryOp::Mul: t = mulType(l, r); break;
    case BinaryOp::Div: t = divType(l, r); break;
    case BinaryOp::Of: t = ofType(l, r); break;
    default: break;
  }
  if (t == Type::Error) {
    auto& d = diags_.report(DiagCode::E0200, e.opRange,
                            fmt::format("cannot apply `{}` to {} and {}", spelling(e.op), backticked(l), backticked(r)));
    if (e.op == BinaryOp::Of)
      d.help("`of` takes a percentage of bytes or of a percentage: `90% of memcg.max`, `50% of 10%`");
    else if ((l == Type::Bytes && r == Type::Percent) || (l == Type::Percent && r == Type::Bytes))
      d.help("turn the percentage into bytes first: `10% of memcg.max`");
    else if (e.op == BinaryOp::Mul || e.op == BinaryOp::Div)
      d.help("bytes and percentages can be scaled by a plain number (`2 * 64MiB`, `5% / 2`); bytes / bytes, "
             "percent / percent and duration / duration are percentages; bytes / duration a rate, count / "
             "duration a count rate (`1000 / 1s`)");
    else
      d.help("add and subtract values of the same unit");
    return Type::Error;
  }
  if (e.op == BinaryOp::Of) checkShareRange(*e.lhs, "of a whole");
  if (e.op == BinaryOp::Div && e.rhs->constant && !e.rhs->constant->unlimited && e.rhs->constant->raw == 0) {
    diags_.report(DiagCode::E0203, e.rhs->range, "division by zero");
    return Type::Error;
  }
  e.type = t;
  foldBinary(e);
  return e.type;
}

void Checker::foldBinary(BinaryExpr& e) {
  if (!e.lhs->constant || !e.rhs->constant) return;
  const Value &a = *e.lhs->constant, &b = *e.rhs->constant;
  ArithResult r;
  switch (e.op) {
    case BinaryOp::Add: r = add(a, b); break;
    case BinaryOp::Sub: r = subtract(a, b); break;
    case BinaryOp::Mul: r = multiply(a, b); break;
    case BinaryOp::Div: r = divide(a, b); break;
    case BinaryOp::Of: r = percentOf(a, b); break;
    default: return;
  }
  if (r.error == ArithError::Overflow) {
    diags_.report(DiagCode::E0203, e.range, fmt::format("`{} {} {}` overflows", a.str(), spelling(e.op), b.str()))
        .help(e.type == Type::Rate        ? "rates must fit in a signed 64-bit number of bytes per second"
              : e.type == Type::CountRate ? "count rates must fit in a signed 64-bit number of thousandths per second"
                                   : "quantities must fit in 64 bits (bytes up to 16 EiB)");
    e.type = Type::Error;
    return;
  }
  if (r.error == ArithError::DivideByZero) {
    diags_.report(DiagCode::E0203, e.rhs->range, "division by zero");
    e.type = Type::Error;
    return;
  }
  e.constant = r.value;
}

// IDENT '(' expr (',' expr)* ')': `rate(field)`, `min(a, b)`, `max(a, b)`.
Type Checker::checkCall(CallExpr& e, const ExprContext& ctx) {
  static const std::vector<std::string> kFunctions = {"rate", "min", "max"};
  if (e.callee == "min" || e.callee == "max") return checkMinMax(e, ctx);
  if (e.callee != "rate") {
    auto& d = diags_.report(DiagCode::E0100, e.calleeRange, fmt::format("unknown function `{}`", e.callee));
    if (auto best = closestMatch(e.callee, kFunctions)) d.help(fmt::format("did you mean `{}`?", *best));
    else d.help("the functions are `rate(FIELD)`, a field's growth per second, and `min(A, B)`, `max(A, B)`");
    return Type::Error;
  }
  if (e.args.size() != 1) {
    diags_.report(DiagCode::E0200, e.range, fmt::format("`rate` takes one field, found {} arguments", e.args.size()))
        .help("write `rate(memcg.usage)`");
    return Type::Error;
  }
  Type t = checkExpr(*e.args[0], ctx);
  if (t == Type::Error) return t;
  const Binding* f = fieldOf(*e.args[0]);
  if (!f || (t != Type::Bytes && t != Type::Duration && t != Type::Count)) {
    diags_.report(DiagCode::E0200, e.args[0]->range,
                  fmt::format("`rate` takes a bytes, duration or count field, found {}",
                              f ? backticked(t) : "an expression"))
        .help("write `rate(memcg.usage)`: the growth per second since the last evaluation; of a duration field, "
              "the share of time it grew by: `rate(memcg.pressure.some.total)`; of a count, so many per second: "
              "`rate(memcg.refault.file) > 1000 / 1s`");
    return Type::Error;
  }
  // A duration's growth per second is a share of time.
  if (t == Type::Duration) return Type::Percent;
  return t == Type::Count ? Type::CountRate : Type::Rate;
}

// min(a, b), max(a, b): two values of one quantity type; unlimited is +infinity.
Type Checker::checkMinMax(CallExpr& e, const ExprContext& ctx) {
  Type types[2] = {Type::Error, Type::Error};
  bool broken = false;
  for (size_t i = 0; i < e.args.size(); ++i) {
    Type t = checkExpr(*e.args[i], ctx);
    if (i < 2) types[i] = t;
    broken |= t == Type::Error;
  }
  if (e.args.size() != 2) {
    diags_.report(DiagCode::E0200, e.range, fmt::format("`{}` takes two values, found {} argument{}", e.callee,
                                                        e.args.size(), e.args.size() == 1 ? "" : "s"))
        .help(fmt::format("write `{}(A, B)`; nest it for more: `{}(A, {}(B, C))`", e.callee, e.callee, e.callee));
    return Type::Error;
  }
  if (broken) return Type::Error;
  Type t = minMaxType(types[0], types[1]);
  if (t == Type::Error) {
    auto& d = diags_.report(DiagCode::E0200, e.range, fmt::format("`{}` of {} and {}", e.callee,
                                                                  backticked(types[0]), backticked(types[1])));
    if (types[0] == types[1])
      d.help(fmt::format("`{}` takes quantities: bytes, percentages, durations, counts or rates", e.callee));
    else if ((types[0] == Type::Bytes && types[1] == Type::Percent) ||
             (types[0] == Type::Percent && types[1] == Type::Bytes))
      d.help("turn the percentage into bytes first: `10% of memcg.usage`");
    else
      d.help(fmt::format("`{}` takes two values of the same unit", e.callee));
    return Type::Error;
  }
  if (e.args[0]->constant && e.args[1]->constant) {
    ArithResult r = e.callee == "min" ? minimum(*e.args[0]->constant, *e.args[1]->constant)
                                      : maximum(*e.args[0]->constant, *e.args[1]->constant);
    if (r.ok()) e.constant = r.value;
  }
  return t;
}

}  // namespace mmp

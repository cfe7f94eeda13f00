#include "ast/ast.h"

#include <fmt/format.h>

namespace mmp::ast {

const char* spelling(BinaryOp op) {
  switch (op) {
    case BinaryOp::Or: return "or";
    case BinaryOp::And: return "and";
    case BinaryOp::Lt: return "<";
    case BinaryOp::Le: return "<=";
    case BinaryOp::Gt: return ">";
    case BinaryOp::Ge: return ">=";
    case BinaryOp::Eq: return "==";
    case BinaryOp::Ne: return "!=";
    case BinaryOp::Add: return "+";
    case BinaryOp::Sub: return "-";
    case BinaryOp::Mul: return "*";
    case BinaryOp::Div: return "/";
    case BinaryOp::Of: return "of";
  }
  return "?";
}

const char* spelling(UnaryOp op) { return op == UnaryOp::Not ? "not" : "-"; }

bool isComparison(BinaryOp op) { return op >= BinaryOp::Lt && op <= BinaryOp::Ne; }

const char* spelling(ActionKind k) {
  switch (k) {
#define MMP_ACTION_ROW(kind, code, spelling, cooldown, v2file) \
  case ActionKind::kind: return spelling;
#include "abi/mmp_actions.def"
#undef MMP_ACTION_ROW
  }
  return "?";
}

std::string dump(const Expr& e) {
  if (auto* q = llvm::dyn_cast<QuantityExpr>(&e)) return q->text;
  if (auto* b = llvm::dyn_cast<BoolExpr>(&e)) return b->value ? "true" : "false";
  if (auto* p = llvm::dyn_cast<PathExpr>(&e)) return p->name;
  if (auto* u = llvm::dyn_cast<UnaryExpr>(&e)) return fmt::format("({} {})", spelling(u->op), dump(*u->operand));
  if (auto* b = llvm::dyn_cast<BinaryExpr>(&e))
    return fmt::format("({} {} {})", spelling(b->op), dump(*b->lhs), dump(*b->rhs));
  if (auto* c = llvm::dyn_cast<CallExpr>(&e)) {
    std::string s = "(" + c->callee;
    for (const auto& a : c->args) s += " " + dump(*a);
    return s + ")";
  }
  return "<invalid>";
}

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string dumpStrings(const std::vector<StringLit>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + quoted(x.value);
  return s;
}

std::string dumpAction(const Action& a) {
  std::string s = std::string("(") + spelling(a.kind);
  if (a.amount && a.kind != ActionKind::Kill) s += " " + dump(*a.amount);
  if (a.which != ReclaimWhich::Any) s += a.which == ReclaimWhich::Anon ? " anon" : " file";
  if (a.order != ReclaimOrder::None) s += a.order == ReclaimOrder::First ? " first" : " only";
  if (a.kind == ActionKind::Kill) {
    static const char* picks[] = {"largest", "oldest", "youngest", "growing"};
    s += fmt::format(" {} {}", picks[static_cast<int>(a.pick)],
                     a.target == KillTarget::Process ? "process" : "cgroup");
    if (!a.among.empty()) s += " among " + dumpStrings(a.among);
    if (!a.key.empty()) s += " by " + a.key;
    if (a.amount) s += " > " + dump(*a.amount);
    if (!a.signal.empty()) s += " with " + a.signal;
    if (!a.where.empty()) s += " in " + a.where;
  }
  if (a.kind == ActionKind::Log) {
    for (const auto& p : a.parts) s += p.expr ? " {" + dump(*p.expr) + "}" : " " + quoted(p.text);
  }
  return s + ")";
}

std::string dumpModifier(const Modifier& m) {
  switch (m.kind) {
    case ModifierKind::Cooldown: return "(cooldown " + dump(*m.value) + ")";
    case ModifierKind::AtMost: return fmt::format("(at-most {} per {})", dump(*m.times), dump(*m.value));
    case ModifierKind::Unless: return "(unless " + dump(*m.value) + ")";
  }
  return "?";
}

std::string dumpItem(const Item& item);

std::string dumpRule(const Rule& r) {
  std::string s = r.ruleKind == RuleKind::When ? "(when" : "(on " + r.event;
  if (r.condition) s += (r.ruleKind == RuleKind::On ? " when " : " ") + dump(*r.condition);
  if (r.hold) s += " (for " + dump(*r.hold) + ")";
  for (const auto& a : r.actions) s += " " + dumpAction(a);
  for (const auto& m : r.modifiers) s += " " + dumpModifier(m);
  return s + ")";
}

std::string dumpItem(const Item& item) {
  if (auto* i = llvm::dyn_cast<ImportDecl>(&item)) {
    std::string s = "(import " + quoted(i->path.value);
    if (!i->scopes.empty()) s += " (in " + dumpStrings(i->scopes) + ")";
    for (const auto& a : i->args) s += fmt::format(" (with {} {})", a.name, dump(*a.value));
    return s + ")";
  }
  if (auto* l = llvm::dyn_cast<LetDecl>(&item)) {
    if (l->param) return fmt::format("(param {} {} {})", l->name, dump(*l->value), quoted(l->doc.value));
    return fmt::format("(let {} {})", l->name, dump(*l->value));
  }
  if (auto* s = llvm::dyn_cast<SetDecl>(&item)) return fmt::format("(set {} {})", s->name, dump(*s->value));
  if (auto* p = llvm::dyn_cast<ProtectDecl>(&item))
    return "(protect " + (p->whatWord.empty() ? "" : p->whatWord + " ") + dumpStrings(p->patterns) + ")";
  if (auto* p = llvm::dyn_cast<PreferDecl>(&item)) {
    std::string what = p->whatWord.empty() ? "" : " " + p->whatWord;
    return std::string("(") + (p->avoid ? "avoid" : "prefer") + what + " " + dumpStrings(p->patterns) + ")";
  }
  if (auto* r = llvm::dyn_cast<Rule>(&item)) return dumpRule(*r);
  if (auto* sc = llvm::dyn_cast<Scope>(&item)) {
    std::string s = "(in " + dumpStrings(sc->patterns);
    for (const auto& i : sc->items) s += "\n  " + dumpItem(*i);
    return s + ")";
  }
  return "?";
}

}  // namespace

std::string dump(const Policy& p) {
  std::string s = "(policy " + p.name;
  for (const auto& i : p.items) s += "\n " + dumpItem(*i);
  return s + ")\n";
}

}  // namespace mmp::ast

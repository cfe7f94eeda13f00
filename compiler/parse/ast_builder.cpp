#include "parse/ast_builder.h"

#include <fmt/format.h>

namespace mmp {

using namespace ast;
using P = mmpgen::MmpParser;

namespace {

bool hasErrorNode(antlr4::tree::ParseTree* t) {
  if (dynamic_cast<antlr4::tree::ErrorNode*>(t)) return true;
  if (auto* ctx = dynamic_cast<antlr4::ParserRuleContext*>(t); ctx && ctx->exception) return true;
  for (auto* c : t->children)
    if (hasErrorNode(c)) return true;
  return false;
}

}  // namespace

// ---- positions ---------------------------------------------------------------

SourceRange AstBuilder::range(antlr4::Token* t) const {
  uint32_t b = map_.byteOffset(t->getStartIndex());
  uint32_t e = map_.byteOffset(t->getStopIndex() + 1);
  return {file_, b, std::max(b, e)};
}

SourceRange AstBuilder::range(antlr4::ParserRuleContext* ctx) const {
  SourceRange r = range(ctx->getStart());
  antlr4::Token* stop = ctx->getStop();
  if (stop && stop->getType() != antlr4::Token::EOF && stop->getStopIndex() + 1 > ctx->getStart()->getStartIndex())
    r.end = std::max(r.end, map_.byteOffset(stop->getStopIndex() + 1));
  return r;
}

bool AstBuilder::broken(antlr4::ParserRuleContext* ctx) const {
  if (!ctx) return true;
  if (errorOffsets_.empty()) return false;  // no syntax error anywhere: nothing to look for
  SourceRange r = range(ctx);
  for (uint32_t o : errorOffsets_)
    if (o >= r.begin && o <= r.end) return true;
  return hasErrorNode(ctx);
}

// ---- items --------------------------------------------------------------------

// file := policyHeader item* EOF
std::unique_ptr<Policy> AstBuilder::buildFile(P::FileContext* ctx) {
  auto policy = std::make_unique<Policy>();
  policy->file = file_;
  if (auto* h = ctx->policyHeader(); h && h->IDENT()) {
    policy->name = h->IDENT()->getText();
    policy->nameRange = range(h->IDENT());
  }
  for (auto* item : ctx->item()) {
    // A scope keeps its good rules: only its own header decides.
    if (auto* scope = item->scopeBlock(); scope && !scopeHeaderBroken(scope)) {
      policy->items.push_back(buildScope(scope, *policy));
      continue;
    }
    if (broken(item)) {
      if (item->letDecl()) noteBrokenLet(item->letDecl(), *policy);
      if (item->paramDecl() && item->paramDecl()->IDENT()) policy->brokenLets.push_back(item->paramDecl()->IDENT()->getText());
      if (auto* s = item->scopeBlock())
        for (auto* si : s->scopeItem())
          if (si->letDecl()) noteBrokenLet(si->letDecl(), *policy);
      continue;
    }
    if (auto built = buildItem(item)) policy->items.push_back(std::move(built));
  }
  return policy;
}

void AstBuilder::noteBrokenLet(P::LetDeclContext* ctx, Policy& policy) const {
  if (ctx->IDENT()) policy.brokenLets.push_back(ctx->IDENT()->getText());
}

// item := importDecl | letDecl | paramDecl | setDecl | protectDecl | preferDecl | scopeBlock | ruleDecl
ItemPtr AstBuilder::buildItem(P::ItemContext* ctx) {
  if (auto* i = ctx->importDecl()) return buildImport(i);
  if (auto* l = ctx->letDecl()) return buildLet(l);
  if (auto* p = ctx->paramDecl()) return buildParam(p);
  if (auto* s = ctx->setDecl()) return buildSet(s);
  if (auto* p = ctx->protectDecl()) {
    auto decl = std::make_unique<ProtectDecl>(range(p));
    buildTexts(p->what, p->IDENT(), p->STRING(), decl->whatWord, decl->whatRange, decl->patterns);
    return decl;
  }
  if (auto* p = ctx->preferDecl()) return buildPrefer(p);
  if (auto* r = ctx->ruleDecl()) return buildRule(r);
  return nullptr;
}

// preferDecl := ('prefer' | 'avoid') ('process' | IDENT)? STRING (',' STRING)*
std::unique_ptr<PreferDecl> AstBuilder::buildPrefer(P::PreferDeclContext* ctx) {
  auto decl = std::make_unique<PreferDecl>(range(ctx));
  decl->avoid = ctx->verb->getText() == "avoid";
  buildTexts(ctx->what, ctx->IDENT(), ctx->STRING(), decl->whatWord, decl->whatRange, decl->patterns);
  return decl;
}

// `process`, or another word naming a process's text (the checker checks
// it), then the patterns: of `protect`, `prefer` and `avoid`.
void AstBuilder::buildTexts(antlr4::Token* what, antlr4::tree::TerminalNode* ident,
                            const std::vector<antlr4::tree::TerminalNode*>& strings, std::string& word,
                            SourceRange& wordRange, std::vector<ast::StringLit>& patterns) {
  if (what) {
    word = what->getText();
    wordRange = range(what);
  } else if (ident) {
    word = ident->getText();
    wordRange = range(ident);
  }
  for (auto* s : strings) patterns.push_back(buildString(s));
}

// letDecl := 'let' IDENT '=' expr
std::unique_ptr<LetDecl> AstBuilder::buildLet(P::LetDeclContext* ctx) {
  return buildConstant(ctx, ctx->IDENT(), ctx->expr());
}

// A `let` or a `param`: NAME = EXPR.
std::unique_ptr<LetDecl> AstBuilder::buildConstant(antlr4::ParserRuleContext* ctx, antlr4::tree::TerminalNode* name,
                                                   P::ExprContext* value) {
  auto let = std::make_unique<LetDecl>(range(ctx));
  let->name = name->getText();
  let->nameRange = range(name);
  let->value = buildExpr(value->disjunction());
  return let;
}

// importDecl := 'import' STRING ('in' STRING (',' STRING)*)? ('with' importArg (',' importArg)*)?
std::unique_ptr<ImportDecl> AstBuilder::buildImport(P::ImportDeclContext* ctx) {
  auto decl = std::make_unique<ImportDecl>(range(ctx));
  auto strings = ctx->STRING();
  decl->path = buildString(strings.front());
  for (size_t i = 1; i < strings.size(); ++i) decl->scopes.push_back(buildString(strings[i]));
  for (auto* a : ctx->importArg()) {
    ImportArg arg;
    arg.name = a->IDENT()->getText();
    arg.nameRange = range(a->IDENT());
    arg.value = buildExpr(a->expr()->disjunction());
    decl->args.push_back(std::move(arg));
  }
  return decl;
}

// paramDecl := 'param' IDENT '=' expr STRING
std::unique_ptr<LetDecl> AstBuilder::buildParam(P::ParamDeclContext* ctx) {
  auto let = buildConstant(ctx, ctx->IDENT(), ctx->expr());
  let->param = true;
  let->doc = buildString(ctx->STRING());
  return let;
}

// setDecl := 'set' IDENT '=' expr
std::unique_ptr<SetDecl> AstBuilder::buildSet(P::SetDeclContext* ctx) {
  auto set = std::make_unique<SetDecl>(range(ctx));
  set->name = ctx->IDENT()->getText();
  set->nameRange = range(ctx->IDENT());
  set->value = buildExpr(ctx->expr()->disjunction());
  return set;
}

// Whether the part of a scope before its items failed to parse.
bool AstBuilder::scopeHeaderBroken(P::ScopeBlockContext* ctx) const {
  if (ctx->STRING().empty()) return true;
  for (auto* child : ctx->children) {
    if (dynamic_cast<antlr4::tree::ErrorNode*>(child)) continue;
    auto* t = dynamic_cast<antlr4::tree::TerminalNode*>(child);
    if (t && t->getText() == "{") return false;
    if (!t) break;  // reached the items without an opening brace
  }
  return true;
}

// `set`, `protect`, `prefer`, `avoid`, `import` and `in` parse inside a scope only to be refused here.
void AstBuilder::reportMisplaced(P::ScopeItemContext* item) {
  std::string keyword = item->getStart()->getText();
  auto& d = diags_.report(DiagCode::E0001, range(item->getStart()),
                          keyword == "in" ? "scopes cannot be nested"
                                          : fmt::format("`{}` is not allowed inside a scope", keyword));
  if (keyword == "in") d.help("list several patterns in one scope instead: `in \"/a/*\", \"/b/*\" { ... }`");
  else d.help(fmt::format("move the `{}` to the top level of the policy, outside `in {{ ... }}`", keyword));
}

// scopeBlock := 'in' STRING (',' STRING)* '{' scopeItem* '}'
std::unique_ptr<Scope> AstBuilder::buildScope(P::ScopeBlockContext* ctx, Policy& policy) {
  auto scope = std::make_unique<Scope>(range(ctx));
  for (auto* s : ctx->STRING()) scope->patterns.push_back(buildString(s));
  for (auto* item : ctx->scopeItem()) {
    if (broken(item)) {
      if (item->letDecl()) noteBrokenLet(item->letDecl(), policy);
      continue;
    }
    if (item->letDecl()) scope->items.push_back(buildLet(item->letDecl()));
    else if (item->ruleDecl()) scope->items.push_back(buildRule(item->ruleDecl()));
    else reportMisplaced(item);
  }
  return scope;
}

// ruleDecl := whenRule | onRule
// whenRule := 'when' expr ('for' expr)? actionList modifier*
// onRule   := 'on' event ('when' expr)? actionList modifier*
ItemPtr AstBuilder::buildRule(P::RuleDeclContext* ctx) {
  auto rule = std::make_unique<Rule>(range(ctx));
  P::ActionListContext* actions;
  std::vector<P::ModifierContext*> modifiers;
  if (auto* w = ctx->whenRule()) {
    rule->ruleKind = RuleKind::When;
    rule->condition = buildExpr(w->cond->disjunction());
    if (w->hold) rule->hold = buildExpr(w->hold->disjunction());
    actions = w->actionList();
    modifiers = w->modifier();
  } else {
    auto* o = ctx->onRule();
    rule->ruleKind = RuleKind::On;
    rule->event = o->event()->getText();
    rule->eventRange = range(o->event());
    if (o->cond) rule->condition = buildExpr(o->cond->disjunction());
    actions = o->actionList();
    modifiers = o->modifier();
  }
  buildActions(actions, rule->actions);
  for (auto* m : modifiers) rule->modifiers.push_back(buildModifier(m));
  return rule;
}

void AstBuilder::buildActions(P::ActionListContext* ctx, std::vector<Action>& out) {
  for (auto* a : ctx->action()) out.push_back(buildAction(a));
}

// action := 'reclaim' sum? ('anon'|'file')? ('first'|'only')? | 'throttle' 'to' sum
//         | 'unthrottle' | 'limit' 'to' sum | 'kill' pick? target? ('among' STRING,...)? ('by' KEY ('>' sum)?)? ('with' SIGNAL)?
//         | 'log' STRING
Action AstBuilder::buildAction(P::ActionContext* ctx) {
  Action a{};
  a.range = range(ctx);
  if (auto* r = dynamic_cast<P::ReclaimActionContext*>(ctx)) {
    a.kind = ActionKind::Reclaim;
    if (r->amount) a.amount = buildSum(r->amount);
    if (r->which) a.which = r->which->getText() == "anon" ? ReclaimWhich::Anon : ReclaimWhich::File;
    if (r->order) a.order = r->order->getText() == "first" ? ReclaimOrder::First : ReclaimOrder::Only;
  } else if (auto* t = dynamic_cast<P::ThrottleActionContext*>(ctx)) {
    a.kind = ActionKind::Throttle;
    a.amount = buildSum(t->amount);
  } else if (dynamic_cast<P::UnthrottleActionContext*>(ctx)) {
    a.kind = ActionKind::Unthrottle;
  } else if (auto* l = dynamic_cast<P::LimitActionContext*>(ctx)) {
    a.kind = ActionKind::Limit;
    a.amount = buildSum(l->amount);
  } else if (auto* k = dynamic_cast<P::KillActionContext*>(ctx)) {
    a.kind = ActionKind::Kill;
    if (k->pick) {
      std::string p = k->pick->getText();
      a.pick = p == "oldest" ? KillPick::Oldest : p == "youngest" ? KillPick::Youngest
             : p == "growing" ? KillPick::Growing : KillPick::Largest;
      a.pickWritten = true;
    }
    if (k->target) {
      a.target = k->target->getText() == "cgroup" ? KillTarget::Cgroup : KillTarget::Process;
      a.targetWritten = true;
    }
    for (auto* s : k->STRING()) a.among.push_back(buildString(s));
    if (k->key) {
      a.key = k->key->getText();
      a.keyRange = range(k->key);
    }
    if (k->above) a.amount = buildSum(k->above);
    if (k->signal) {
      a.signal = k->signal->getText();
      a.signalRange = range(k->signal);
    }
    if (k->where) {
      a.where = k->where->getText();
      a.whereRange = range(k->where);
    }
  } else if (auto* g = dynamic_cast<P::LogActionContext*>(ctx)) {
    a.kind = ActionKind::Log;
    a.message = buildString(g->STRING());
    buildLogMessage(a, g->STRING()->getText());
  }
  return a;
}

// modifier := 'cooldown' expr | 'at' 'most' NUMBER 'per' expr | 'unless' expr
Modifier AstBuilder::buildModifier(P::ModifierContext* ctx) {
  Modifier m{};
  m.range = range(ctx);
  if (auto* c = dynamic_cast<P::CooldownModifierContext*>(ctx)) {
    m.kind = ModifierKind::Cooldown;
    m.value = buildExpr(c->expr()->disjunction());
  } else if (auto* a = dynamic_cast<P::AtMostModifierContext*>(ctx)) {
    m.kind = ModifierKind::AtMost;
    m.times = std::make_unique<QuantityExpr>(range(a->times), a->times->getText());
    m.value = buildExpr(a->expr()->disjunction());
  } else if (auto* u = dynamic_cast<P::UnlessModifierContext*>(ctx)) {
    m.kind = ModifierKind::Unless;
    m.value = buildExpr(u->expr()->disjunction());
  }
  return m;
}

}  // namespace mmp

// Rules: conditions, hold times, actions and modifiers, and the kill guard.
#include <fmt/format.h>

#include "abi/mmp_abi.h"
#include "check/checker.h"
#include "support/suggest.h"

namespace mmp {

using namespace ast;

namespace {

constexpr __int128 kOneSecond = kNanosPerSecond;

const Modifier* findModifier(const Rule& r, ModifierKind kind) {
  for (const auto& m : r.modifiers)
    if (m.kind == kind) return &m;
  return nullptr;
}

const char* modifierName(ModifierKind k) {
  switch (k) {
    case ModifierKind::Cooldown: return "cooldown";
    case ModifierKind::AtMost: return "at most";
    case ModifierKind::Unless: return "unless";
  }
  return "?";
}

}  // namespace

// when EXPR [for D] ACTIONS MODIFIERS  |  on EVENT [when EXPR] ACTIONS MODIFIERS
void Checker::checkRule(Rule& r) {
  if (r.ruleKind == RuleKind::On && !bindings_.event(r.event)) {
    auto& d = diags_.report(DiagCode::E0100, r.eventRange, fmt::format("unknown event `{}`", r.event));
    if (auto best = closestMatch(r.event, bindings_.eventNames())) d.help(fmt::format("did you mean `{}`?", *best));
    else d.help("the events are `oom`, `reclaim`, `pressure` and `cgroup_created`");
    return;
  }
  bool readsMemcg = false;
  if (r.condition) {
    ExprContext ctx{Site::Condition, &r, "", &readsMemcg};
    checkCondition(*r.condition, ctx, r.ruleKind == RuleKind::When ? "`when`" : "`on ... when`");
  }
  r.memcgSubject = r.ruleKind == RuleKind::On ? bindings_.event(r.event)->memcg : readsMemcg;
  if (r.hold) constantOf(*r.hold, Type::Duration, "`for`", "for 30s");
  for (auto& a : r.actions) checkAction(a, r);
  checkModifiers(r);
  checkKillGuard(r);
}

void Checker::checkCondition(Expr& e, const ExprContext& ctx, const char* what) {
  Type t = checkExpr(e, ctx);
  if (t == Type::Error) return;
  if (t != Type::Bool) {
    diags_.report(DiagCode::E0200, e.range, fmt::format("{} needs a condition, found `{}`", what, typeName(t)))
        .help("compare the value: `memcg.pressure > 60%`");
    return;
  }
  if (!e.constant) return;
  // `unless` stops the rule while it holds: its truth has the opposite effect.
  bool fires = e.constant->isTrue() != (std::string_view(what) == "`unless`");
  diags_.report(DiagCode::E0303, e.range, fmt::format("this condition is always {}", e.constant->isTrue() ? "true" : "false"))
      .note(fires ? "the rule fires on every evaluation" : "the rule can never fire")
      .help("compare a field, such as `memcg.pressure > 60%`");
}

// A constant of type `want` (for, cooldown, at most); reports and returns
// nothing when it is not one.
std::optional<Value> Checker::constantOf(Expr& e, Type want, const char* what, const char* example) {
  ExprContext ctx{Site::Constant, nullptr, what, nullptr};
  Type t = checkExpr(e, ctx);
  if (t == Type::Error) return std::nullopt;
  if (t != want) {
    diags_.report(DiagCode::E0200, e.range, fmt::format("{} takes a {}, found `{}`", what, typeName(want), typeName(t)))
        .help(fmt::format("write `{}`", example));
    return std::nullopt;
  }
  return e.constant;
}

void Checker::checkAction(Action& a, Rule& r) {
  ExprContext ctx{Site::Amount, &r, "", nullptr};
  switch (a.kind) {
    case ActionKind::Reclaim: {
      if (!a.amount) break;
      Type t = checkExpr(*a.amount, ctx);
      if (t == Type::Percent) {
        checkShareRange(*a.amount, "of the cgroup's usage");
      } else if (t != Type::Bytes && t != Type::Error) {
        diags_.report(DiagCode::E0200, a.amount->range, fmt::format("`reclaim` takes bytes or a percentage of usage, found `{}`", typeName(t)))
            .help("write `reclaim 64MiB` or `reclaim 5%` (of the cgroup's usage)");
      }
      break;
    }
    case ActionKind::Throttle:
    case ActionKind::Limit: {
      const char* verb = a.kind == ActionKind::Throttle ? "throttle to" : "limit to";
      Type t = checkExpr(*a.amount, ctx);
      if (t != Type::Bytes && t != Type::Error) {
        auto& d = diags_.report(DiagCode::E0200, a.amount->range, fmt::format("`{}` takes bytes, found `{}`", verb, typeName(t)));
        if (t == Type::Percent) d.help(fmt::format("name the whole: `{} 95% of memcg.max`", verb));
        else d.help(fmt::format("write `{} 2GiB`", verb));
      }
      if (a.kind == ActionKind::Limit) limitActions_.emplace_back(&a, a.range);
      break;
    }
    case ActionKind::Log: {
      ExprContext logCtx{Site::LogArg, &r, "", nullptr};
      size_t values = 0;
      for (auto& part : a.parts) {
        if (!part.expr) continue;
        checkExpr(*part.expr, logCtx);
        // A decision carries MMP_MAX_VALUES values: past them the message
        // would print nothing where the value should be.
        if (++values == MMP_MAX_VALUES + 1)
          diags_
              .report(DiagCode::E0204, part.expr->range,
                      fmt::format("a `log` message carries at most {} values; this is its {}th", MMP_MAX_VALUES, values))
              .help("split the message into two `log` actions of the rule");
      }
      break;
    }
    case ActionKind::Kill: checkKill(a, r); break;
    case ActionKind::Unthrottle: break;
  }
}

// cooldown D | at most N per D | unless EXPR, each at most once.
void Checker::checkModifiers(Rule& r) {
  std::map<ModifierKind, const Modifier*> seen;
  for (auto& m : r.modifiers) {
    if (auto [it, fresh] = seen.emplace(m.kind, &m); !fresh) {
      diags_.report(DiagCode::E0102, m.range, fmt::format("`{}` is given twice in one rule", modifierName(m.kind)))
          .note(it->second->range, "first given here")
          .help(m.kind == ModifierKind::Unless ? "join the conditions: `unless a or b`" : "keep one");
      continue;
    }
    switch (m.kind) {
      case ModifierKind::Cooldown: constantOf(*m.value, Type::Duration, "`cooldown`", "cooldown 30s"); break;
      case ModifierKind::AtMost: {
        auto n = constantOf(*m.times, Type::Count, "`at most`", "at most 3 per 1min");
        if (n && n->raw == 0)
          diags_.report(DiagCode::E0204, m.times->range, "`at most 0` would never let the rule fire")
              .help("allow at least one firing, or remove the rule");
        auto per = constantOf(*m.value, Type::Duration, "`per`", "at most 3 per 1min");
        if (per && per->raw == 0)
          diags_.report(DiagCode::E0204, m.value->range, "`per` needs a period longer than 0s")
              .help("write `at most 3 per 1min`");
        break;
      }
      case ModifierKind::Unless: {
        bool readsMemcg = false;
        ExprContext ctx{Site::Condition, &r, "", &readsMemcg};
        checkCondition(*m.value, ctx, "`unless`");
        break;
      }
    }
  }
}

// E0301: a kill needs a hold time or a cooldown of at least 1 s, written
// in the rule, so that it cannot flap.
void Checker::checkKillGuard(const Rule& r) {
  const Action* kill = nullptr;
  for (const auto& a : r.actions)
    if (a.kind == ActionKind::Kill) kill = &a;
  if (!kill) return;
  auto atLeastOneSecond = [](const Expr* e) {
    return e && e->type == Type::Duration && e->constant && e->constant->raw >= kOneSecond;
  };
  const Modifier* cooldown = findModifier(r, ModifierKind::Cooldown);
  if (atLeastOneSecond(r.hold.get()) || (cooldown && atLeastOneSecond(cooldown->value.get()))) return;
  // A hold or cooldown that did not check has been reported already.
  if ((r.hold && r.hold->type == Type::Error) || (cooldown && cooldown->value->type == Type::Error)) return;
  auto& d = diags_.report(DiagCode::E0301, kill->range,
                          "`kill` needs a `for` or a `cooldown` of at least 1s in its rule");
  d.note("without one, a condition that flickers could kill again on every evaluation");
  if (r.ruleKind == RuleKind::When) d.help("require the condition to hold first (`... for 30s kill`) or add `cooldown 30s`");
  else d.help("add `cooldown 30s` after the action");
}

}  // namespace mmp

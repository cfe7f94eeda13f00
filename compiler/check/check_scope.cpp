// Scopes and protections: pattern syntax (E0003), reach (E0300) and
// contradictions between rules whose scopes overlap (E0302).
#include <fmt/format.h>

#include <set>

#include "check/checker.h"

namespace mmp {

using namespace ast;

namespace {

std::optional<ScopePattern> parsePattern(const StringLit& s, Diagnostics& diags) {
  std::string error;
  auto p = parseScopePattern(s.value, error);
  if (!p)
    diags.report(DiagCode::E0003, s.range, fmt::format("\"{}\" is not a cgroup path pattern: {}", s.value, error))
        .help("write a path below the cgroup root, such as \"/workload.slice/*\"");
  return p;
}

// Two actions that undo each other on the same cgroup.
bool contradicts(const Action& a, const Action& b) {
  if (a.kind == ActionKind::Reclaim && b.kind == ActionKind::Reclaim)
    return a.which != ReclaimWhich::Any && b.which != ReclaimWhich::Any && a.which != b.which;
  return (a.kind == ActionKind::Throttle && b.kind == ActionKind::Unthrottle) ||
         (a.kind == ActionKind::Unthrottle && b.kind == ActionKind::Throttle);
}

bool scopesOverlap(const CheckedRule& a, const CheckedRule& b) {
  for (const auto& p : a.patterns)
    for (const auto& q : b.patterns)
      if (overlaps(p, q)) return true;
  return false;
}

std::string describe(const Action& a) {
  if (a.kind != ActionKind::Reclaim) return fmt::format("`{}`", spelling(a.kind));
  return fmt::format("`reclaim {}`", a.which == ReclaimWhich::Anon ? "anon" : "file");
}

}  // namespace

void Checker::checkProtects(const Policy& p, CheckedPolicy& out) {
  for (const auto& item : p.items) {
    auto* protect = llvm::dyn_cast<ProtectDecl>(item.get());
    if (!protect) continue;
    for (const auto& s : protect->patterns)
      if (auto pattern = parsePattern(s, diags_)) out.protects.push_back({*pattern, s.range});
  }
}

std::vector<ScopePattern> Checker::checkScopePatterns(const Scope& s) {
  std::vector<ScopePattern> out;
  for (const auto& lit : s.patterns) {
    auto p = parsePattern(lit, diags_);
    if (!p) continue;
    if (p->isRoot()) {
      diags_.report(DiagCode::E0300, lit.range, "this scope is the root cgroup, which no rule may act on")
          .note("acting on the root would reclaim, throttle or kill across the whole machine")
          .help("name the cgroups below it, such as \"/workload.slice/*\", or drop `in` to cover every cgroup");
      continue;
    }
    out.push_back(*p);
  }
  return out;
}

// E0300: a rule whose every pattern lies inside protected cgroups can never act.
void Checker::checkRuleReach(const CheckedRule& r, const std::vector<ProtectEntry>& protects) {
  if (r.patterns.empty()) return;
  const ProtectEntry* by = nullptr;
  for (const auto& p : r.patterns) {
    by = nullptr;
    for (const auto& q : protects)
      if (covers(q.pattern, p)) by = &q;
    if (!by) return;
  }
  if (r.scope && !unreachableScopes_.insert(r.scope).second) return;  // once per scope
  SourceRange at = r.scope ? r.scope->patterns.front().range : r.rule->range;
  diags_.report(DiagCode::E0300, at, r.scope ? "every cgroup of this scope is protected, so its rules can never act"
                                             : "every cgroup is protected, so this rule can never act")
      .note(by->range, "protected here")
      .help("narrow the `protect` list, or scope the rule to cgroups that may be acted on");
}

void Checker::checkContradictions(const std::vector<CheckedRule>& rules) {
  std::vector<std::pair<const CheckedRule*, const Action*>> seen;
  for (const auto& r : rules) {
    bool warned = false;
    for (const auto& a : r.rule->actions) {
      if (a.kind != ActionKind::Reclaim && a.kind != ActionKind::Throttle && a.kind != ActionKind::Unthrottle)
        continue;
      for (const auto& [other, b] : seen) {
        if (warned || !contradicts(a, *b) || !scopesOverlap(r, *other)) continue;
        bool sameRule = other == &r;
        diags_.report(DiagCode::E0302, a.range,
                      sameRule ? fmt::format("{} contradicts {} earlier in the same rule", describe(a), describe(*b))
                               : fmt::format("{} contradicts {} of an earlier rule on the same cgroups", describe(a),
                                             describe(*b)))
            .note(b->range, "the earlier action")
            .help("give the rules disjoint scopes or conditions, or keep one of them");
        warned = true;
      }
      seen.emplace_back(&r, &a);
    }
  }
}

}  // namespace mmp

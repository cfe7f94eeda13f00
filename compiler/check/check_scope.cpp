// Scopes and protections: pattern syntax (E0003), reach (E0300) and
// contradictions between rules whose scopes overlap (E0302).
#include <fmt/format.h>

#include <limits>
#include <map>
#include <optional>
#include <set>

#include "check/checker.h"

namespace mmp {

using namespace ast;

std::optional<ScopePattern> parsePattern(const StringLit& s, Diagnostics& diags) {
  std::string error;
  auto p = parseScopePattern(s.value, error);
  if (!p)
    diags.report(DiagCode::E0003, s.range, fmt::format("\"{}\" is not a cgroup path pattern: {}", s.value, error))
        .help("write a path below the cgroup root, such as \"/workload.slice/*\"");
  return p;
}

namespace {

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

// What a condition says of one expression, from its `and`-ed comparisons
// with constants: the expression (its dump and the constant's type, so
// that `memcg.usage > 90%` and `memcg.usage < 1GiB` are not compared)
// lies in [lo, hi].
struct Range {
  __int128 lo = std::numeric_limits<__int128>::min(), hi = std::numeric_limits<__int128>::max();
};
using Ranges = std::map<std::string, Range>;

// `P% of W`, where W is a field: the field and the constant share P.
std::optional<std::pair<const Binding*, Value>> shareOfField(const Expr& e) {
  auto* b = llvm::dyn_cast<BinaryExpr>(&e);
  if (!b || b->op != BinaryOp::Of || !b->lhs->constant || b->lhs->constant->type != Type::Percent) return std::nullopt;
  auto* whole = llvm::dyn_cast<PathExpr>(b->rhs.get());
  if (!whole || !whole->binding) return std::nullopt;
  return std::pair{whole->binding, *b->lhs->constant};
}

// One comparison as "the expression x against the constant c", with the
// key ranges are collected under. A share of a field's implied whole is
// keyed the same however it is written: `memcg.usage > 90%` and
// `memcg.usage > 90% of memcg.max` bound the same quantity.
struct Bound {
  const Expr* x;
  Value c;
  bool constLeft;
  std::string key;
};

std::optional<Bound> boundOf(const BinaryExpr& b) {
  auto shareKey = [](const Expr& x, const Binding& whole) { return dump(x) + "|share of " + whole.name; };
  for (bool left : {false, true}) {
    const Expr& x = left ? *b.rhs : *b.lhs;
    const Expr& c = left ? *b.lhs : *b.rhs;
    if (x.constant) continue;
    if (c.constant) {
      if (c.constant->unlimited) return std::nullopt;
      std::string key = b.impliedWhole ? shareKey(x, *b.impliedWhole) : dump(x) + "|" + typeName(c.constant->type);
      return Bound{&x, *c.constant, left, key};
    }
    auto* field = llvm::dyn_cast<PathExpr>(&x);
    auto share = shareOfField(c);
    if (field && field->binding && share && field->binding->whole == share->first->name)
      return Bound{&x, share->second, left, shareKey(x, *share->first)};
  }
  return std::nullopt;
}

void collectRanges(const Expr* e, Ranges& out) {
  auto* b = llvm::dyn_cast_or_null<BinaryExpr>(e);
  if (!b) return;
  if (b->op == BinaryOp::And) {
    collectRanges(b->lhs.get(), out);
    collectRanges(b->rhs.get(), out);
    return;
  }
  if (!isComparison(b->op) || b->op == BinaryOp::Ne) return;
  auto bound = boundOf(*b);
  if (!bound) return;
  const Value& c = bound->c;
  BinaryOp op = b->op;
  if (bound->constLeft)  // `c < x` is `x > c`
    op = op == BinaryOp::Lt ? BinaryOp::Gt : op == BinaryOp::Le ? BinaryOp::Ge : op == BinaryOp::Gt ? BinaryOp::Lt
       : op == BinaryOp::Ge ? BinaryOp::Le : op;
  Range& r = out[bound->key];
  switch (op) {
    case BinaryOp::Lt: r.hi = std::min(r.hi, c.raw - 1); break;
    case BinaryOp::Le: r.hi = std::min(r.hi, c.raw); break;
    case BinaryOp::Gt: r.lo = std::max(r.lo, c.raw + 1); break;
    case BinaryOp::Ge: r.lo = std::max(r.lo, c.raw); break;
    case BinaryOp::Eq: r.lo = std::max(r.lo, c.raw); r.hi = std::min(r.hi, c.raw); break;
    default: break;
  }
}

// True when the two conditions cannot hold at once: they bound one
// expression to ranges that do not meet (`x > 20%` and `x < 5%`), the way
// hysteresis pairs such as throttle and unthrottle are written.
bool disjointConditions(const Rule& a, const Rule& b) {
  Ranges ra, rb;
  collectRanges(a.condition.get(), ra);
  collectRanges(b.condition.get(), rb);
  for (const auto& [key, x] : ra)
    if (auto it = rb.find(key); it != rb.end() && (x.hi < it->second.lo || it->second.hi < x.lo)) return true;
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
    if (!protect || !protect->whatWord.empty()) continue;  // processes: checkPreferences
    for (const auto& s : protect->patterns)
      if (auto pattern = parsePattern(s, diags_)) out.protects.push_back({*pattern, s.range});
  }
}

std::vector<ScopePattern> Checker::checkScopePatterns(const Scope& s) { return checkPatterns(s.patterns, false); }

// Scope patterns, or a kill's `among` patterns: well-formed, not the root.
std::vector<ScopePattern> Checker::checkPatterns(const std::vector<StringLit>& lits, bool among) {
  std::vector<ScopePattern> out;
  for (const auto& lit : lits) {
    auto p = parsePattern(lit, diags_);
    if (!p) continue;
    if (p->isRoot()) {
      diags_.report(DiagCode::E0300, lit.range,
                    among ? "`among` names the root cgroup, which no rule may kill"
                          : "this scope is the root cgroup, which no rule may act on")
          .note("acting on the root would reclaim, throttle or kill across the whole machine")
          .help(among ? "name the cgroups below it, such as \"/user.slice/*\""
                      : "name the cgroups below it, such as \"/workload.slice/*\", or drop `in` to cover every cgroup");
      continue;
    }
    out.push_back(*p);
  }
  return out;
}

// E0300: a rule whose every pattern lies inside protected cgroups can never act.
namespace {

// Patterns indexed by their literal prefix (the components before the
// first wildcard), in a trie. Two patterns whose literal prefixes differ at
// some position name disjoint sets of cgroups, so a pattern is only
// compared with the patterns on its trie path and below its node.
template <typename T>
class PrefixIndex {
public:
  void add(const ScopePattern& p, T value) {
    Node* n = &root_;
    for (const auto& part : literalPrefix(p)) {
      auto& child = n->children[part];
      if (!child) child = std::make_unique<Node>();
      n = child.get();
    }
    n->values.push_back(value);
  }

  // Every value whose pattern may relate to `p`.
  template <typename F>
  void forCandidates(const ScopePattern& p, F&& f) const {
    const Node* n = &root_;
    for (const auto& part : literalPrefix(p)) {
      for (const T& v : n->values) f(v);
      auto it = n->children.find(part);
      if (it == n->children.end()) return;
      n = it->second.get();
    }
    visitAll(*n, f);
  }

private:
  struct Node {
    std::map<std::string, std::unique_ptr<Node>> children;
    std::vector<T> values;
  };

  static std::vector<std::string> literalPrefix(const ScopePattern& p) {
    std::vector<std::string> out;
    for (const auto& part : p.parts) {
      if (part.find('*') != std::string::npos) break;
      out.push_back(part);
    }
    return out;
  }

  template <typename F>
  static void visitAll(const Node& n, F& f) {
    for (const T& v : n.values) f(v);
    for (const auto& [part, child] : n.children) visitAll(*child, f);
  }

  Node root_;
};

}  // namespace

void Checker::checkReach(const std::vector<CheckedRule>& rules, const std::vector<ProtectEntry>& protects) {
  PrefixIndex<const ProtectEntry*> index;
  for (const auto& q : protects) index.add(q.pattern, &q);
  std::set<const Scope*> checked;  // rules of one scope share the answer (unscoped: null)
  for (const auto& r : rules) {
    if (!checked.insert(r.scope).second || r.patterns.empty()) continue;
    const ProtectEntry* by = nullptr;
    bool allCovered = true;
    for (const auto& p : r.patterns) {
      const ProtectEntry* coveredBy = nullptr;
      index.forCandidates(p, [&](const ProtectEntry* q) {
        if (!coveredBy && covers(q->pattern, p)) coveredBy = q;
      });
      if (!coveredBy) allCovered = false;
      by = coveredBy;
    }
    if (!allCovered) continue;
    SourceRange at = r.scope ? r.scope->patterns.front().range : r.rule->range;
    diags_.report(DiagCode::E0300, at, r.scope ? "every cgroup of this scope is protected, so its rules can never act"
                                               : "every cgroup is protected, so this rule can never act")
        .note(by->range, "protected here")
        .help("narrow the `protect` list, or scope the rule to cgroups that may be acted on");
  }
}

void Checker::checkContradictions(const std::vector<CheckedRule>& rules) {
  // One earlier action per (scope, kind of action) is enough to compare
  // with: the first of each is the one the warning names.
  // Rules are told apart by their conditions too: one whose condition
  // cannot hold with another's does not contradict it.
  using Seen = std::pair<const CheckedRule*, const Action*>;
  std::set<std::tuple<const Scope*, ActionKind, ReclaimWhich, std::string>> represented;
  std::map<std::pair<const Scope*, const Scope*>, bool> overlapMemo;  // one answer per pair of scopes
  auto overlapping = [&](const CheckedRule& a, const CheckedRule& b) {
    auto [it, fresh] = overlapMemo.try_emplace({a.scope, b.scope}, false);
    if (fresh) it->second = scopesOverlap(a, b);
    return it->second;
  };
  PrefixIndex<Seen> index;
  for (const auto& r : rules) {
    bool warned = false;
    for (const auto& a : r.rule->actions) {
      if (a.kind != ActionKind::Reclaim && a.kind != ActionKind::Throttle && a.kind != ActionKind::Unthrottle)
        continue;
      for (const auto& p : r.patterns) {
        index.forCandidates(p, [&](const Seen& s) {
          const auto& [other, b] = s;
          if (warned || !contradicts(a, *b) || !overlapping(r, *other)) return;
          if (other != &r && disjointConditions(*r.rule, *other->rule)) return;
          bool sameRule = other == &r;
          diags_.report(DiagCode::E0302, a.range,
                        sameRule ? fmt::format("{} contradicts {} earlier in the same rule", describe(a), describe(*b))
                                 : fmt::format("{} contradicts {} of an earlier rule on the same cgroups",
                                               describe(a), describe(*b)))
              .note(b->range, "the earlier action")
              .help("give the rules disjoint scopes or conditions, or keep one of them");
          warned = true;
        });
      }
      std::string condition = r.rule->condition ? dump(*r.rule->condition) : "";
      if (represented.emplace(r.scope, a.kind, a.which, condition).second)
        for (const auto& p : r.patterns) index.add(p, Seen{&r, &a});
    }
  }
}

}  // namespace mmp

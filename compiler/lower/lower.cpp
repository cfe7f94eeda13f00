#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "abi/mmp_abi.h"
#include "lower/plan.h"

namespace mmp::plan {

using namespace ast;

namespace {

constexpr uint64_t kSecond = kNanosPerSecond;

// Default cooldowns (docs/language.md section 6): a rule takes the longest
// of its actions' defaults.
uint64_t defaultCooldown(ActionKind k) {
  switch (k) {
#define MMP_ACTION_ROW(kind, code, spelling, cooldown, v2file) \
  case ActionKind::kind: return cooldown * kSecond;
#include "abi/mmp_actions.def"
#undef MMP_ACTION_ROW
  }
  return kSecond;
}

uint16_t actionCode(ActionKind k) {
  switch (k) {
#define MMP_ACTION_ROW(kind, code, spelling, cooldown, v2file) \
  case ActionKind::kind: return code;
#include "abi/mmp_actions.def"
#undef MMP_ACTION_ROW
  }
  return 0;
}

uint32_t actionFlags(const ast::Action& a) {
  uint32_t f = 0;
  if (a.which == ReclaimWhich::Anon) f |= MMP_RECLAIM_ANON;
  if (a.which == ReclaimWhich::File) f |= MMP_RECLAIM_FILE;
  if (a.order == ReclaimOrder::First) f |= MMP_RECLAIM_FIRST;
  if (a.order == ReclaimOrder::Only) f |= MMP_RECLAIM_ONLY;
  if (a.kind == ActionKind::Kill) {
    static const uint32_t picks[] = {MMP_KILL_LARGEST, MMP_KILL_OLDEST, MMP_KILL_YOUNGEST, MMP_KILL_GROWING};
    f |= picks[static_cast<int>(a.pick)];
    if (a.target == KillTarget::Cgroup) f |= MMP_KILL_CGROUP;
    switch (a.killKey) {
      case KillKey::OomScore: f |= MMP_KILL_OOM_SCORE; break;
      case KillKey::Swap: f |= MMP_KILL_SWAP; break;
      case KillKey::Reclaim: f |= MMP_KILL_RECLAIM; break;
      case KillKey::Pressure: f |= MMP_KILL_PRESSURE; break;
      case KillKey::SizeOrGrowth: f |= MMP_KILL_SIZE_OR_GROWTH; break;
      case KillKey::OverRequest: f |= MMP_KILL_OVER_REQUEST; break;
      case KillKey::Default:
      case KillKey::Rss:
      case KillKey::Usage: break;  // largest
    }
    if (a.amount) f |= MMP_KILL_ABOVE;
    if (a.inKernel) f |= MMP_KILL_IN_KERNEL;
    f |= static_cast<uint32_t>(a.signalNumber) << MMP_KILL_SIGNAL_SHIFT;
  }
  return f;
}

// Visits every expression node below `e`.
template <typename F>
void walk(const Expr* e, F&& f) {
  if (!e) return;
  f(e);
  if (auto* u = llvm::dyn_cast<UnaryExpr>(e)) walk(u->operand.get(), f);
  if (auto* b = llvm::dyn_cast<BinaryExpr>(e)) {
    walk(b->lhs.get(), f);
    walk(b->rhs.get(), f);
  }
  if (auto* c = llvm::dyn_cast<CallExpr>(e))
    for (const auto& a : c->args) walk(a.get(), f);
}

class Lowering {
public:
  Lowering(const CheckedPolicy& policy, const SourceManager& sm, Diagnostics& diags)
      : policy_(policy), sm_(sm), diags_(diags) {}

  Plan run() {
    plan_.name = policy_.name;
    for (const auto& [policy, decl] : policy_.params) {
      auto text = [](const ast::Expr& e) { return e.constant ? e.constant->str() : ast::dump(e); };
      plan_.params.push_back({policy + "." + decl->name, text(decl->used()), text(*decl->value), decl->given != nullptr});
    }
    plan_.settings = policy_.settings;
    // Imports may protect the same cgroups: each pattern once.
    for (const auto& p : policy_.protects)
      if (std::find(plan_.protects.begin(), plan_.protects.end(), p.pattern.text()) == plan_.protects.end())
        plan_.protects.push_back(p.pattern.text());
    for (const auto& e : policy_.preferences) {
      const SourceFile& f = sm_.file(e.range.file);
      Preference pref{preferModeWord(e.mode), preferWhatWord(e.what), e.text,
                      fmt::format("{}:{}", f.path(), f.position(e.range.begin).line)};
      // Imports may state the same preference: each once.
      bool seen = std::any_of(plan_.preferences.begin(), plan_.preferences.end(), [&](const Preference& q) {
        return q.mode == pref.mode && q.what == pref.what && q.pattern == pref.pattern;
      });
      if (!seen) plan_.preferences.push_back(std::move(pref));
    }
    for (const auto& r : policy_.rules) {
      plan_.rules.push_back(lowerRule(r));
      plan_.rules.back().stateBase = plan_.stateWords;
      plan_.stateWords += plan_.rules.back().stateWords();
    }
    for (const auto& r : plan_.rules) plan_.hooks.insert(r.hooks.begin(), r.hooks.end());
    plan_.hooks.insert(Hook::Replay);
    // A field the reclaim hooks observe needs them, whatever the rules'
    // events: both tracepoints stamp the reclaiming task's memcg; the kprobe,
    // where the kernel has kprobes, the memcg that memcg reclaim names.
    for (const Binding* b : plan_.snapshot)
      if (b->kernel.observed == "reclaim")
        plan_.hooks.insert({Hook::MemcgReclaim, Hook::DirectReclaim, Hook::ReclaimStamp});
    return std::move(plan_);
  }

private:
  uint32_t scopeBit(const CheckedRule& r) {
    auto [it, fresh] = scopeBits_.emplace(r.scope, static_cast<uint32_t>(plan_.scopes.size()));
    if (fresh) {
      Scope s{it->second, {}};
      for (const auto& p : r.patterns) s.patterns.push_back(p.text());
      if (plan_.scopes.size() == MMP_MAX_SCOPES)
        diags_.report(DiagCode::E0400, r.rule->range, fmt::format("a policy can have at most {} scopes", MMP_MAX_SCOPES))
            .help("merge scopes with the same rules into one `in` with several patterns");
      plan_.scopes.push_back(std::move(s));
    }
    return it->second;
  }

  void useField(const Binding* b, SourceRange at) {
    for (const Binding* have : plan_.snapshot)
      if (have == b) return;
    plan_.snapshot.push_back(b);
    plan_.snapshotUse.push_back(at);
  }

  // Fields and rate() calls an expression reads, registered in the snapshot.
  void collect(const Expr* e, Rule& rule, std::vector<const Expr*>* values) {
    walk(e, [&](const Expr* n) {
      if (auto* p = llvm::dyn_cast<PathExpr>(n); p && p->binding) {
        useField(p->binding, p->range);
        if (p->binding->wholeBinding) useField(p->binding->wholeBinding, p->range);
        if (values && values->size() < MMP_MAX_VALUES) {
          bool seen = false;
          for (const Expr* v : *values)
            if (auto* vp = llvm::dyn_cast<PathExpr>(v); vp && vp->binding == p->binding) seen = true;
          if (!seen) values->push_back(p);
        }
      }
      if (auto* b = llvm::dyn_cast<BinaryExpr>(n); b && b->impliedWhole) useField(b->impliedWhole, b->range);
      if (auto* c = llvm::dyn_cast<CallExpr>(n); c && c->callee == "rate") {
        rule.rates.push_back(c);
        if (values && values->size() < MMP_MAX_VALUES) values->push_back(c);
      }
    });
  }

  Rule lowerRule(const CheckedRule& cr) {
    const ast::Rule& src = *cr.rule;
    Rule r;
    r.id = src.id;
    r.source = &src;
    const SourceFile& f = sm_.file(src.range.file);
    r.file = f.path();
    r.line = f.position(src.range.begin).line;
    r.text = std::string(f.slice(src.range));
    r.scopeBit = scopeBit(cr);
    r.condition = src.condition.get();
    if (src.ruleKind == RuleKind::On) r.event = src.event;
    r.system = src.ruleKind == RuleKind::When && !src.memcgSubject;
    collect(r.condition, r, &r.values);
    if (src.hold && src.hold->constant) r.holdNs = static_cast<uint64_t>(src.hold->constant->raw);
    uint64_t cooldown = 0;
    for (const auto& a : src.actions) cooldown = std::max(cooldown, defaultCooldown(a.kind));
    for (const auto& m : src.modifiers) {
      if (m.kind == ModifierKind::Cooldown && m.value->constant) cooldown = static_cast<uint64_t>(m.value->constant->raw);
      if (m.kind == ModifierKind::Unless) {
        r.unless = m.value.get();
        collect(r.unless, r, nullptr);
      }
      if (m.kind == ModifierKind::AtMost && m.times->constant && m.value->constant) {
        r.atMost = static_cast<uint64_t>(m.times->constant->raw);
        r.atMostPerNs = static_cast<uint64_t>(m.value->constant->raw);
      }
    }
    r.cooldownNs = cooldown;
    for (const auto& a : src.actions) r.actions.push_back(lowerAction(a, r));
    r.hooks = hooksOf(r);
    return r;
  }

  Action lowerAction(const ast::Action& a, Rule& r) {
    Action out;
    out.source = &a;
    out.index = static_cast<uint32_t>(r.actions.size());
    out.kind = actionCode(a.kind);
    out.flags = actionFlags(a);
    if (r.system) out.flags |= MMP_SUBJECT_SYSTEM;
    if (a.amount) {
      out.amount = a.amount.get();
      out.amountIsShareOfUsage = a.amount->type == Type::Percent;
      if (out.amountIsShareOfUsage) out.flags |= MMP_ARG_SHARE;
      collect(out.amount, r, nullptr);
    } else if (a.kind == ActionKind::Reclaim) {
      out.flags |= MMP_ARG_DEFAULT;
    }
    for (const auto& part : a.parts) {
      if (!part.expr || out.values.size() >= MMP_MAX_VALUES) continue;
      out.values.push_back(part.expr.get());
      collect(part.expr.get(), r, nullptr);
    }
    return out;
  }

  std::set<Hook> hooksOf(const Rule& r) {
    if (r.event) {
      if (*r.event == "oom") return {Hook::Oom};
      if (*r.event == "reclaim") return {Hook::MemcgReclaim, Hook::DirectReclaim};
      if (*r.event == "cgroup_created") return {Hook::CgroupMkdir};
      return {Hook::Tick};  // pressure: PSI triggers wake the periodic walk early
    }
    if (r.system) return {Hook::Tick, Hook::Replay};
    return {Hook::Tick, Hook::Replay, Hook::MemcgReclaim};
  }

  const CheckedPolicy& policy_;
  const SourceManager& sm_;
  Diagnostics& diags_;
  Plan plan_;
  std::map<const ast::Scope*, uint32_t> scopeBits_;
};

}  // namespace

const char* hookName(Hook h) {
  switch (h) {
    case Hook::Tick: return "tick";
    case Hook::Replay: return "replay";
    case Hook::MemcgReclaim: return "memcg_reclaim";
    case Hook::DirectReclaim: return "direct_reclaim";
    case Hook::Oom: return "oom";
    case Hook::CgroupMkdir: return "cgroup_mkdir";
    case Hook::ReclaimStamp: return "reclaim_stamp";
  }
  return "?";
}

const char* hookSection(Hook h) {
  switch (h) {
    case Hook::Tick: return "iter/cgroup";
    case Hook::Replay: return "syscall";
    case Hook::MemcgReclaim: return "tp_btf/mm_vmscan_memcg_reclaim_begin";
    case Hook::DirectReclaim: return "tp_btf/mm_vmscan_direct_reclaim_begin";
    case Hook::Oom: return "tp_btf/mark_victim";
    case Hook::CgroupMkdir: return "tp_btf/cgroup_mkdir";
    case Hook::ReclaimStamp: return "kprobe/try_to_free_mem_cgroup_pages";
  }
  return "?";
}

uint32_t Rule::rateSlot(const ast::CallExpr& call) const {
  auto fieldOf = [](const ast::CallExpr* c) {
    auto* p = llvm::dyn_cast<PathExpr>(c->args[0].get());
    return p ? p->binding : nullptr;
  };
  std::vector<const Binding*> fields;
  for (const auto* c : rates)
    if (std::find(fields.begin(), fields.end(), fieldOf(c)) == fields.end()) fields.push_back(fieldOf(c));
  auto it = std::find(fields.begin(), fields.end(), fieldOf(&call));
  return static_cast<uint32_t>(it - fields.begin()) + 1;
}

uint32_t Plan::snapshotIndex(const Binding* b) const {
  for (uint32_t i = 0; i < snapshot.size(); ++i)
    if (snapshot[i] == b) return i;
  return UINT32_MAX;
}

uint32_t Rule::rateWord(const ast::CallExpr& call) const {
  return lastWord() + (cooldownNs ? 1 : 0) + 2 * (rateSlot(call) - 1);
}

uint32_t Rule::stateWords() const {
  uint32_t fields = 0;
  for (const auto* c : rates) fields = std::max(fields, rateSlot(*c));
  return (holdNs ? 1 : 0) + (cooldownNs ? 1 : 0) + 2 * fields;
}

Plan lowerPolicy(const CheckedPolicy& policy, const SourceManager& sm, Diagnostics& diags) {
  return Lowering(policy, sm, diags).run();
}

}  // namespace mmp::plan

// The checker's order: settings, protections, then each file's lets and
// rules in source order, then the checks that look across rules.
#include "check/check.h"

#include <fmt/format.h>

#include <set>
#include <utility>

#include "abi/mmp_abi.h"
#include "check/checker.h"

namespace mmp {

using namespace ast;

namespace {

// The `let`s declared directly in `items` (not in nested scopes).
void collectLets(const std::vector<ItemPtr>& items, std::map<std::string, const LetDecl*>& out) {
  for (const auto& item : items)
    if (auto* let = llvm::dyn_cast<LetDecl>(item.get())) out.emplace(let->name, let);
}

}  // namespace

bool checkPolicy(LoadedPolicy& loaded, const Bindings& bindings, Diagnostics& diags, CheckedPolicy& out) {
  return Checker(bindings, diags).run(loaded, out);
}

bool Checker::run(LoadedPolicy& loaded, CheckedPolicy& out) {
  size_t mark = diags_.mark();
  out.name = loaded.main().name;
  settings_ = &out.settings;
  for (auto& file : loaded.files) {
    checkProtects(*file, out);
    checkPreferences(*file, out);
  }
  // Files in load order: imports first, so the importer's settings win.
  for (auto& file : loaded.files) {
    settingsSeen_.clear();
    lets_.assign(1, {});
    brokenLets_ = {file->brokenLets.begin(), file->brokenLets.end()};
    laterLets_.clear();
    collectLets(file->items, laterLets_);
    policyName_ = file->name;
    rescope_ = file->importedBy ? file->importedBy->rescope.get() : nullptr;
    std::vector<ScopePattern> top{ScopePattern{{"**"}}};
    if (rescope_) top = rescopePatterns_ = checkScopePatterns(*rescope_);
    checkItems(file->items, rescope_, std::move(top), out);
  }
  // The cross-rule checks compare scopes pairwise: a policy over the scope
  // cap is refused before them (100,000 scopes took 59 s and 1.6 GB).
  if (!checkScopeCount(out.rules)) return false;
  checkReach(out.rules, out.protects);
  checkPreferenceConflicts(out);
  checkKernelKills(out);
  checkContradictions(out.rules);
  if (!out.settings.allowLimit) {
    for (const auto& [action, range] : limitActions_)
      diags_.report(DiagCode::E0304, range, "`limit to` writes `memory.max` and needs `set allow_limit = true`")
          .note("a wrong `memory.max` makes the kernel's OOM killer act at once, so limits are opt-in")
          .help("add `set allow_limit = true` to the policy, or use `throttle to`, which only slows allocation");
  }
  (void)mark;
  return !diags_.hasErrors();  // errors of loading and parsing count too
}

// A policy's rules live in at most MMP_MAX_SCOPES scopes (one bit each in
// the scope mask).
bool Checker::checkScopeCount(const std::vector<CheckedRule>& rules) {
  std::set<const Scope*> scopes;
  for (const auto& r : rules) {
    if (!scopes.insert(r.scope).second || scopes.size() <= MMP_MAX_SCOPES) continue;
    diags_.report(DiagCode::E0400, r.rule->range, fmt::format("a policy can have at most {} scopes", MMP_MAX_SCOPES))
        .help("merge scopes with the same rules into one `in` with several patterns");
    return false;
  }
  return true;
}

void Checker::checkItems(std::vector<ItemPtr>& items, const Scope* scope, std::vector<ScopePattern> patterns,
                         CheckedPolicy& out) {
  for (auto& item : items) {
    if (auto* let = llvm::dyn_cast<LetDecl>(item.get())) {
      checkLet(*let);
      if (let->param) out.params.push_back({policyName_, let});
    } else if (auto* set = llvm::dyn_cast<SetDecl>(item.get())) {
      if (auto [it, fresh] = settingsSeen_.emplace(set->name, set); !fresh)
        diags_.report(DiagCode::E0102, set->nameRange, fmt::format("setting `{}` is set twice", set->name))
            .note(it->second->nameRange, "first set here")
            .help("keep one `set` per setting");
      else
        checkSetting(*set, out.settings);
    } else if (auto* rule = llvm::dyn_cast<Rule>(item.get())) {
      rule->id = static_cast<uint32_t>(out.rules.size());
      checkRule(*rule);
      out.rules.push_back({rule, scope, patterns});
    } else if (auto* inner = llvm::dyn_cast<Scope>(item.get())) {
      // A re-scoped import's scopes all become the importer's one.
      std::vector<ScopePattern> innerPatterns = rescope_ ? rescopePatterns_ : checkScopePatterns(*inner);
      lets_.emplace_back();
      // The scope's own lets join the "defined later" hints while inside it.
      std::map<std::string, const LetDecl*> own;
      collectLets(inner->items, own);
      std::vector<std::string> added;
      for (const auto& [name, let] : own)
        if (laterLets_.emplace(name, let).second) added.push_back(name);
      checkItems(inner->items, rescope_ ? rescope_ : inner, std::move(innerPatterns), out);
      for (const auto& name : added) laterLets_.erase(name);
      lets_.pop_back();
    }
  }
}

// let := 'let' IDENT '=' expr   (a compile-time constant)
void Checker::checkLet(LetDecl& let) {
  for (const auto& frame : lets_) {
    auto it = frame.find(let.name);
    if (it == frame.end()) continue;
    diags_.report(DiagCode::E0102, let.nameRange, fmt::format("`{}` is already defined", let.name))
        .note(it->second->nameRange, "defined here")
        .help("give this constant another name");
    return;
  }
  ExprContext ctx{Site::Constant, nullptr, let.param ? "a parameter" : "`let`", nullptr};
  checkExpr(*let.value, ctx);
  if (let.given) checkGiven(let);
  lets_.back().emplace(let.name, &let);
}

// An importer's value for a parameter: a constant of the importer's own
// (the imported policy's names are not in reach), of the default's type.
void Checker::checkGiven(LetDecl& param) {
  auto lets = std::exchange(lets_, {{}});
  auto broken = std::exchange(brokenLets_, {});
  auto later = std::exchange(laterLets_, {});
  ExprContext ctx{Site::Constant, nullptr, "a parameter", nullptr};
  Type given = checkExpr(*param.given, ctx);
  lets_ = std::move(lets);
  brokenLets_ = std::move(broken);
  laterLets_ = std::move(later);
  Type declared = param.value->type;
  if (given == declared || declared == Type::Error) return;
  SourceRange at = param.given->range;
  param.given = nullptr;  // the default stands, so that its uses raise nothing more
  if (given == Type::Error) return;
  auto& d = diags_.report(DiagCode::E0200, at,
                          fmt::format("parameter `{}` is a {}, not a {}", param.name, typeName(declared),
                                      typeName(given)))
                .note(param.nameRange, fmt::format("declared here: {}", param.doc.value));
  if (param.value->constant) d.help(fmt::format("write a {} such as its default, `{}`", typeName(declared),
                                                param.value->constant->str()));
}

const LetDecl* Checker::findLet(const std::string& name) const {
  for (auto it = lets_.rbegin(); it != lets_.rend(); ++it)
    if (auto found = it->find(name); found != it->end()) return found->second;
  return nullptr;
}

}  // namespace mmp

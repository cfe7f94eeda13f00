// Semantic analysis: names, types and units, constant folding, context
// rules and the safety checks of docs/language.md section 8. Annotates the
// AST; never emits code.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ast/ast.h"
#include "bindings/bindings.h"
#include "scope_pattern.h"
#include "diagnostics/diagnostics.h"
#include "load/load.h"

namespace mmp {

struct Settings {
  Value interval = Value::of(Type::Duration, kNanosPerSecond);
  bool dryRun = false;
  Value reclaimStep = Value::of(Type::Percent, 1 * kPercentScale);
  bool allowLimit = false;
  uint64_t maxActionsPerSecond = 10;
  Value pressureTrigger = Value::of(Type::Percent, 10 * kPercentScale);
  uint64_t insnBudget = 4096;
};

struct ProtectEntry {
  ScopePattern pattern;
  SourceRange range;
};

// One pattern of a `prefer`, an `avoid`, or a `protect` of processes:
// `text` is the pattern normalised (cgroups) or the regular expression as
// written (process, cmdline, ...).
enum class PreferMode { Prefer, Avoid, Protect };
const char* preferModeWord(PreferMode m);  // "prefer", "avoid", "protect"
struct PreferEntry {
  PreferMode mode = PreferMode::Prefer;
  ast::PreferWhat what = ast::PreferWhat::Cgroup;
  std::string text;
  SourceRange range;
  std::optional<ScopePattern> pattern;  // cgroups only
};
const char* preferWhatWord(ast::PreferWhat w);  // "cgroup", "process", "cmdline", ...

struct CheckedRule {
  ast::Rule* rule;
  const ast::Scope* scope;             // null: every memcg but the root and the protected
  std::vector<ScopePattern> patterns;  // the scope's patterns, or `/**`
};

// A parameter of one of the policy's files, as resolved.
struct CheckedParam {
  std::string policy;  // the declaring file's `policy` name
  const ast::LetDecl* decl;
};

struct CheckedPolicy {
  std::string name;
  Settings settings;
  std::vector<ProtectEntry> protects;
  std::vector<PreferEntry> preferences;  // every file's, in load order
  std::vector<CheckedRule> rules;  // in evaluation order; rule ids are indices
  std::vector<CheckedParam> params;
};

// Checks every file of a loaded policy; false when any error has been
// reported (by this stage or an earlier one).
bool checkPolicy(LoadedPolicy& loaded, const Bindings& bindings, Diagnostics& diags, CheckedPolicy& out);

}  // namespace mmp

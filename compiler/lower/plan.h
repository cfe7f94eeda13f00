// The plan: what the BPF object must do, decided before any LLVM call.
// Hooks, rules with their resolved defaults, state slots, actions, the
// snapshot layout. Code generation is a mechanical walk over it, and
// `--emit=plan` prints it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ast/ast.h"
#include "bindings/bindings.h"
#include "check/check.h"

namespace mmp::plan {

// ReclaimStamp: memcg reclaim of a named memcg (memory.high, memory.max,
// memory.reclaim), whoever asks; it only stamps (memcg.since_reclaim).
enum class Hook { Tick, Replay, MemcgReclaim, DirectReclaim, Oom, CgroupMkdir, ReclaimStamp };
const char* hookName(Hook h);      // "tick"
const char* hookSection(Hook h);   // "iter/cgroup"

struct Action {
  const ast::Action* source;
  uint32_t index;                      // within the rule
  uint16_t kind;                       // enum mmp_action
  uint32_t flags;                      // enum mmp_flags
  const ast::Expr* amount = nullptr;   // bytes, or a percent of memcg.usage
  bool amountIsShareOfUsage = false;
  std::vector<const ast::Expr*> values;  // log: the `{...}` values
};

struct Rule {
  uint32_t id;
  const ast::Rule* source;
  std::string file;
  uint32_t line;
  std::string text;                  // the rule's source text
  bool system = false;               // a system rule: evaluated once per tick
  std::optional<std::string> event;  // an `on` rule's event
  uint32_t scopeBit = 0;             // bit in the scope mask
  const ast::Expr* condition = nullptr;
  const ast::Expr* unless = nullptr;
  uint64_t holdNs = 0;
  uint64_t cooldownNs = 0;
  // A cooldown ends up to 1/20 of it (at most 50 ms) early: the walk
  // reaches a cgroup a few ms earlier or later each tick, and a cooldown
  // equal to the interval must let the rule fire at every tick.
  uint64_t cooldownEndsNs() const { return cooldownNs - std::min<uint64_t>(cooldownNs / 20, 50'000'000); }
  uint64_t atMost = 0, atMostPerNs = 0;  // 0: unbounded
  std::vector<const ast::Expr*> values;  // fields the condition reads
  std::vector<Action> actions;
  std::vector<const ast::CallExpr*> rates;  // each rate() call
  std::set<Hook> hooks;
  // The state slot of a rate() call: one per field, from 1.
  uint32_t rateSlot(const ast::CallExpr& call) const;

  // The rule's words in its cgroup's state row (struct mmp_state_row):
  // `for`'s start if it has `for`, the last firing if it has a cooldown,
  // then a sample and its time per rate() field.
  uint32_t stateBase = 0;
  uint32_t sinceWord() const { return stateBase; }
  uint32_t lastWord() const { return stateBase + (holdNs ? 1 : 0); }
  uint32_t rateWord(const ast::CallExpr& call) const;  // the sample; its time follows
  uint32_t stateWords() const;
  // State needed whatever the condition (not only when the rule fires).
  bool statefulCondition() const { return holdNs || !rates.empty(); }
};

struct Scope {
  uint32_t bit;
  std::vector<std::string> patterns;  // normalised; "/**" for unscoped rules
};

// A parameter's resolved value: `systemd_oomd.pressure_limit = 50%`.
struct Param {
  std::string name;   // policy.param
  std::string value;  // as the user would write it
  std::string declared;
  bool given = false;  // set by the importer
};

// `prefer`/`avoid`: which kill candidates go first, and which last;
// `protect` of processes: which are never killed.
struct Preference {
  std::string mode;      // "prefer", "avoid", "protect"
  std::string what;      // "cgroup", "process", "cmdline", ...
  std::string pattern;   // a normalised cgroup pattern, or a regular expression
  std::string location;  // file:line
};

struct Plan {
  std::string name;
  Settings settings;
  std::vector<Param> params;
  std::vector<std::string> protects;
  std::vector<Preference> preferences;
  std::vector<Scope> scopes;
  std::vector<Rule> rules;
  std::vector<const Binding*> snapshot;  // the fields read, in layout order
  std::vector<SourceRange> snapshotUse;  // where each was first read
  std::set<Hook> hooks;

  uint32_t stateWords = 0;  // words in a cgroup's state row, all rules'

  uint32_t snapshotIndex(const Binding* b) const;
};

// Lowers a checked policy. `sm` gives the rules' file:line and text.
Plan lowerPolicy(const CheckedPolicy& policy, const SourceManager& sm, Diagnostics& diags);

std::string printPlan(const Plan& plan);

}  // namespace mmp::plan

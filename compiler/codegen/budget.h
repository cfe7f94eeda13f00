// E0400: the instruction budget. Generated code has no loops, so a call of
// a function executes each of its instructions at most once: a program's
// worst case is its own instructions and, per call it makes, the worst case
// of the static subprogram it calls (rules in subprograms, the compact
// form's shared subprograms). Each instruction is charged to the rule whose
// source line it carries, to name the costliest rules.
#pragma once

#include <string>

#include "diagnostics/diagnostics.h"
#include "lower/plan.h"

namespace mmp {

struct ProgramCost {
  std::string section;
  uint64_t instructions = 0;  // the worst case, subprograms included
  std::vector<std::pair<uint32_t, uint64_t>> byRule;  // rule id, instructions; costliest first
};

// Measures every program of an object; the error says why it cannot.
llvm::Expected<std::vector<ProgramCost>> measurePrograms(const std::string& object, const plan::Plan& plan);

// Reports E0400 for each program over `plan.settings.insnBudget`; false if any.
bool checkBudget(const std::vector<ProgramCost>& costs, const plan::Plan& plan, Diagnostics& diags);

}  // namespace mmp

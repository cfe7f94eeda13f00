#include "codegen/budget.h"

#include <fmt/format.h>
#include <llvm/DebugInfo/DWARF/DWARFContext.h>
#include <llvm/Object/ObjectFile.h>

#include <map>

namespace mmp {

namespace {

bool isProgramSection(llvm::StringRef name) {
  return name.starts_with("iter/") || name.starts_with("tp_btf/") || name == "syscall" || name.starts_with("raw_tp/");
}

// The rule a source line belongs to: the last rule starting at or before it.
std::optional<uint32_t> ruleAtLine(const plan::Plan& plan, uint64_t line) {
  std::optional<uint32_t> best;
  uint32_t bestLine = 0;
  for (const auto& r : plan.rules)
    if (r.line <= line && r.line >= bestLine && r.file == plan.rules.front().file) {
      best = r.id;
      bestLine = r.line;
    }
  return best;
}

}  // namespace

llvm::Expected<std::vector<ProgramCost>> measurePrograms(const std::string& object, const plan::Plan& plan) {
  auto buffer = llvm::MemoryBuffer::getMemBuffer(object, "object", false);
  auto obj = llvm::object::ObjectFile::createObjectFile(buffer->getMemBufferRef());
  if (!obj) return obj.takeError();
  std::vector<ProgramCost> costs;
  std::map<uint64_t, size_t> bySectionIndex;
  for (const auto& section : (*obj)->sections()) {
    auto name = section.getName();
    if (!name || !isProgramSection(*name)) continue;
    bySectionIndex[section.getIndex()] = costs.size();
    costs.push_back({name->str(), section.getSize() / 8, {}});
  }
  // Charge instructions to rules through the line table.
  auto dwarf = llvm::DWARFContext::create(**obj);
  for (const auto& unit : dwarf->compile_units()) {
    const llvm::DWARFDebugLine::LineTable* table = dwarf->getLineTableForUnit(unit.get());
    if (!table) continue;
    std::map<size_t, std::map<uint32_t, uint64_t>> charged;
    const auto& rows = table->Rows;
    for (size_t i = 0; i + 1 < rows.size(); ++i) {
      if (rows[i].EndSequence) continue;
      auto it = bySectionIndex.find(rows[i].Address.SectionIndex);
      if (it == bySectionIndex.end() || rows[i + 1].Address.SectionIndex != rows[i].Address.SectionIndex) continue;
      uint64_t bytes = rows[i + 1].Address.Address - rows[i].Address.Address;
      if (auto rule = ruleAtLine(plan, rows[i].Line)) charged[it->second][*rule] += bytes / 8;
    }
    for (auto& [index, rules] : charged) {
      auto& list = costs[index].byRule;
      list.assign(rules.begin(), rules.end());
      std::sort(list.begin(), list.end(), [](auto& a, auto& b) { return a.second > b.second; });
    }
  }
  return costs;
}

bool checkBudget(const std::vector<ProgramCost>& costs, const plan::Plan& plan, Diagnostics& diags) {
  bool ok = true;
  for (const auto& c : costs) {
    if (c.instructions <= plan.settings.insnBudget) continue;
    ok = false;
    SourceRange at = plan.rules.empty() ? SourceRange{} : plan.rules.front().source->range;
    if (!c.byRule.empty()) at = plan.rules[c.byRule.front().first].source->range;
    auto& d = diags.report(DiagCode::E0400, at,
                           fmt::format("the `{}` program needs {} instructions, over the budget of {}", c.section,
                                       c.instructions, plan.settings.insnBudget));
    for (size_t i = 0; i < c.byRule.size() && i < 3; ++i) {
      const auto& r = plan.rules[c.byRule[i].first];
      d.note(r.source->range, fmt::format("this rule costs {} instructions", c.byRule[i].second));
    }
    d.help(fmt::format("split the policy, simplify the costliest rules, or raise `set insn_budget` (up to 1000000)"));
  }
  return ok;
}

}  // namespace mmp

#include "codegen/budget.h"

#include <fmt/format.h>
#include <llvm/DebugInfo/DWARF/DWARFContext.h>
#include <llvm/Object/ELFObjectFile.h>
#include <llvm/Object/ObjectFile.h>

#include <algorithm>
#include <map>
#include <optional>

namespace mmp {

namespace {

bool isProgramSection(llvm::StringRef name) {
  return name.starts_with("iter/") || name.starts_with("tp_btf/") || name == "syscall" || name.starts_with("raw_tp/");
}

// The rule a source line belongs to: the last rule starting at or before
// it, in the policy's main file.
class RuleLines {
public:
  explicit RuleLines(const plan::Plan& plan) {
    for (const auto& r : plan.rules)
      if (r.file == plan.rules.front().file) lines_.push_back({r.line, r.id});
    std::stable_sort(lines_.begin(), lines_.end(), [](auto& a, auto& b) { return a.first < b.first; });
  }
  std::optional<uint32_t> at(uint64_t line) const {
    auto it = std::upper_bound(lines_.begin(), lines_.end(), line, [](uint64_t l, auto& e) { return l < e.first; });
    if (it == lines_.begin()) return std::nullopt;
    return std::prev(it)->second;
  }

private:
  std::vector<std::pair<uint64_t, uint32_t>> lines_;  // line, rule id
};

// A function of the object: a program (its whole section) or a static
// subprogram (a FUNC symbol in .text), the calls it makes, and the
// instructions charged to each rule.
struct Function {
  uint64_t section = 0, begin = 0, end = 0;  // bytes
  std::vector<size_t> callees;               // one entry per call site
  std::map<uint32_t, uint64_t> byRule;
};

// Instructions, and those charged to each rule.
using Cost = std::pair<uint64_t, std::map<uint32_t, uint64_t>>;

// A function's worst case: its own instructions and, per call, the
// callee's worst case. BPF calls cannot recurse, so `done` memoises a
// tree walk.
const Cost& worstCase(const std::vector<Function>& fns, size_t i, std::map<size_t, Cost>& done) {
  if (auto it = done.find(i); it != done.end()) return it->second;
  Cost cost{(fns[i].end - fns[i].begin) / 8, fns[i].byRule};
  done[i] = cost;  // a (refused) recursive call counts once
  for (size_t callee : fns[i].callees) {
    if (callee == i) continue;
    const auto& c = worstCase(fns, callee, done);
    cost.first += c.first;
    for (const auto& [rule, n] : c.second) cost.second[rule] += n;
  }
  return done[i] = std::move(cost);
}

}  // namespace

llvm::Expected<std::vector<ProgramCost>> measurePrograms(const std::string& object, const plan::Plan& plan) {
  auto buffer = llvm::MemoryBuffer::getMemBuffer(object, "object", false);
  auto obj = llvm::object::ObjectFile::createObjectFile(buffer->getMemBufferRef());
  if (!obj) return obj.takeError();
  std::vector<ProgramCost> costs;
  std::vector<Function> fns;
  std::vector<size_t> programs;  // costs[i] is fns[programs[i]]
  std::map<uint64_t, llvm::StringRef> code;  // section index -> contents of the sections with code
  for (const auto& section : (*obj)->sections()) {
    auto name = section.getName();
    if (!name) continue;
    if (isProgramSection(*name)) {
      programs.push_back(fns.size());
      fns.push_back({section.getIndex(), 0, section.getSize(), {}, {}});
      costs.push_back({name->str(), 0, {}});
    } else if (*name != ".text") {
      continue;
    }
    auto contents = section.getContents();
    if (!contents) return contents.takeError();
    code[section.getIndex()] = *contents;
  }
  // Static subprograms: the FUNC symbols of .text.
  for (const auto& sym : (*obj)->symbols()) {
    auto type = sym.getType();
    auto sec = sym.getSection();
    auto value = sym.getValue();
    if (!type || *type != llvm::object::SymbolRef::ST_Function || !sec || !value || *sec == (*obj)->section_end())
      continue;
    auto name = (*sec)->getName();
    if (!name || *name != ".text") continue;
    uint64_t size = llvm::object::ELFSymbolRef(sym).getSize();
    fns.push_back({(*sec)->getIndex(), *value, *value + size, {}, {}});
  }
  std::map<std::pair<uint64_t, uint64_t>, size_t> byStart;  // (section, offset) -> function
  for (size_t i = 0; i < fns.size(); ++i) byStart[{fns[i].section, fns[i].begin}] = i;
  auto functionAt = [&](uint64_t section, uint64_t offset) -> std::optional<size_t> {
    auto it = byStart.upper_bound({section, offset});
    if (it == byStart.begin()) return std::nullopt;
    --it;
    const Function& f = fns[it->second];
    if (f.section != section || offset >= f.end) return std::nullopt;
    return it->second;
  };
  // Calls (BPF_JMP | BPF_CALL with src_reg BPF_PSEUDO_CALL): to the
  // instruction imm + 1 after the call, or after the relocated symbol's.
  // call's (section, offset) -> its symbol's (section, value)
  std::map<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, uint64_t>> relocated;
  for (const auto& section : (*obj)->sections()) {
    auto target = section.getRelocatedSection();
    if (!target || *target == (*obj)->section_end() || !code.count((*target)->getIndex())) continue;
    for (const auto& rel : section.relocations()) {
      auto sym = rel.getSymbol();
      if (sym == (*obj)->symbol_end()) continue;
      auto sec = sym->getSection();
      auto value = sym->getValue();
      if (!sec || !value || *sec == (*obj)->section_end()) continue;
      relocated[{(*target)->getIndex(), rel.getOffset()}] = {(*sec)->getIndex(), *value};
    }
  }
  for (auto& f : fns) {
    llvm::StringRef bytes = code[f.section];
    for (uint64_t at = f.begin; at + 8 <= f.end && at + 8 <= bytes.size(); at += 8) {
      auto insn = reinterpret_cast<const uint8_t*>(bytes.data()) + at;
      if (insn[0] != 0x85 || (insn[1] >> 4) != 1) continue;
      int32_t imm = static_cast<int32_t>(insn[4] | insn[5] << 8 | insn[6] << 16 | static_cast<uint32_t>(insn[7]) << 24);
      std::pair<uint64_t, uint64_t> base{f.section, at};
      if (auto it = relocated.find({f.section, at}); it != relocated.end()) base = it->second;
      auto callee = byStart.find({base.first, base.second + (static_cast<int64_t>(imm) + 1) * 8});
      if (callee != byStart.end()) f.callees.push_back(callee->second);
    }
  }
  // Charge instructions to rules through the line table.
  RuleLines ruleAtLine(plan);
  auto dwarf = llvm::DWARFContext::create(**obj);
  for (const auto& unit : dwarf->compile_units()) {
    const llvm::DWARFDebugLine::LineTable* table = dwarf->getLineTableForUnit(unit.get());
    if (!table) continue;
    const auto& rows = table->Rows;
    for (size_t i = 0; i + 1 < rows.size(); ++i) {
      if (rows[i].EndSequence || rows[i + 1].Address.SectionIndex != rows[i].Address.SectionIndex) continue;
      auto f = functionAt(rows[i].Address.SectionIndex, rows[i].Address.Address);
      if (!f) continue;
      uint64_t bytes = rows[i + 1].Address.Address - rows[i].Address.Address;
      if (auto rule = ruleAtLine.at(rows[i].Line)) fns[*f].byRule[*rule] += bytes / 8;
    }
  }
  std::map<size_t, Cost> done;
  for (size_t p = 0; p < programs.size(); ++p) {
    const auto& [instructions, rules] = worstCase(fns, programs[p], done);
    costs[p].instructions = instructions;
    auto& list = costs[p].byRule;
    list.assign(rules.begin(), rules.end());
    std::sort(list.begin(), list.end(),
              [](auto& a, auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
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

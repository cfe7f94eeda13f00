#include "diagnostics/diagnostics.h"

#include <algorithm>

namespace mmp {

const std::vector<DiagInfo>& allDiagnostics() {
  static const std::vector<DiagInfo> table = {
#define DIAGNOSTIC(code, severity, title) {DiagCode::code, #code, Severity::severity, title},
#include "diagnostics/kinds.def"
#undef DIAGNOSTIC
  };
  return table;
}

const DiagInfo& diagInfo(DiagCode code) {
  return allDiagnostics()[static_cast<size_t>(code)];
}

std::optional<DiagCode> parseDiagCode(std::string_view id) {
  for (const auto& d : allDiagnostics()) {
    if (d.id.size() != id.size()) continue;
    if (std::equal(id.begin(), id.end(), d.id.begin(),
                   [](char a, char b) { return std::toupper(a) == b; }))
      return d.code;
  }
  return std::nullopt;
}

Diagnostic& Diagnostics::report(DiagCode code, SourceRange range, std::string message) {
  diags_.push_back({code, diagInfo(code).severity, range, std::move(message), {}, {}});
  return diags_.back();
}

size_t Diagnostics::errorCount() const {
  return std::count_if(diags_.begin(), diags_.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

size_t Diagnostics::warningCount() const { return diags_.size() - errorCount(); }

bool Diagnostics::errorsSince(size_t mark) const {
  for (size_t i = mark; i < diags_.size(); ++i)
    if (diags_[i].severity == Severity::Error) return true;
  return false;
}

}  // namespace mmp

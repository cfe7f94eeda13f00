// Diagnostics: stable codes from kinds.def, attached to source ranges,
// collected for the whole file so every error is reported, not the first.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "source/source_manager.h"

namespace mmp {

enum class DiagCode {
#define DIAGNOSTIC(code, severity, title) code,
#include "diagnostics/kinds.def"
#undef DIAGNOSTIC
};

enum class Severity { Error, Warning };

struct DiagInfo {
  DiagCode code;
  std::string_view id;  // "E0200"
  Severity severity;
  std::string_view title;
};

const DiagInfo& diagInfo(DiagCode code);
const std::vector<DiagInfo>& allDiagnostics();
std::optional<DiagCode> parseDiagCode(std::string_view id);

struct DiagNote {
  std::optional<SourceRange> range;
  std::string message;
};

struct Diagnostic {
  DiagCode code;
  Severity severity;
  SourceRange range;
  std::string message;
  std::vector<DiagNote> notes;
  std::vector<std::string> helps;

  Diagnostic& note(std::string message) {
    notes.push_back({std::nullopt, std::move(message)});
    return *this;
  }
  Diagnostic& note(SourceRange at, std::string message) {
    notes.push_back({at, std::move(message)});
    return *this;
  }
  Diagnostic& help(std::string message) {
    helps.push_back(std::move(message));
    return *this;
  }
};

class Diagnostics {
public:
  // Records a diagnostic; the returned reference takes notes and helps.
  Diagnostic& report(DiagCode code, SourceRange range, std::string message);

  void add(Diagnostic d) { diags_.push_back(std::move(d)); }
  const std::deque<Diagnostic>& all() const { return diags_; }
  size_t errorCount() const;
  size_t warningCount() const;
  bool hasErrors() const { return errorCount() > 0; }
  // Whether an error was reported at or after the given mark.
  size_t mark() const { return diags_.size(); }
  bool errorsSince(size_t mark) const;

private:
  std::deque<Diagnostic> diags_;
};

}  // namespace mmp

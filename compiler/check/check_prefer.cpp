// `prefer` and `avoid` (docs/language.md §7): cgroup patterns are checked
// as `protect`'s are, regular expressions are compiled as mmrun compiles
// them (POSIX extended, regcomp), and both are set against the
// protections. Protection is absolute: preferring a protected cgroup is an
// error (E0306), avoiding one changes nothing (E0307).
#include <fmt/format.h>
#include <regex.h>

#include <map>

#include "check/checker.h"
#include "support/suggest.h"

namespace mmp {

using namespace ast;

namespace {

// regcomp's own words for an expression it refuses; nothing if it compiles.
std::optional<std::string> regexError(const std::string& re) {
  regex_t compiled;
  int rc = regcomp(&compiled, re.c_str(), REG_EXTENDED | REG_NOSUB);
  if (rc == 0) {
    regfree(&compiled);
    return std::nullopt;
  }
  char message[256];
  regerror(rc, &compiled, message, sizeof message);
  return std::string(message);
}

const char* modeWord(bool avoid) { return avoid ? "avoid" : "prefer"; }

}  // namespace

const char* preferWhatWord(PreferWhat w) {
  switch (w) {
    case PreferWhat::Cgroup: return "cgroup";
    case PreferWhat::Process: return "process";
    case PreferWhat::Cmdline: return "cmdline";
  }
  return "cgroup";
}

void Checker::checkPreferences(const Policy& p, CheckedPolicy& out) {
  for (const auto& item : p.items) {
    auto* decl = llvm::dyn_cast<PreferDecl>(item.get());
    if (!decl) continue;
    if (decl->whatWord == "process") {
      decl->what = PreferWhat::Process;
    } else if (decl->whatWord == "cmdline") {
      decl->what = PreferWhat::Cmdline;
    } else if (!decl->whatWord.empty()) {
      auto& d = diags_.report(DiagCode::E0100, decl->whatRange,
                              fmt::format("`{} {}` names no kind of candidate", modeWord(decl->avoid), decl->whatWord))
                    .note("a preference names cgroups by pattern (no word before it), or processes by `process` name "
                          "or by `cmdline`");
      if (auto best = closestMatch(decl->whatWord, {"process", "cmdline"})) d.help(fmt::format("did you mean `{}`?", *best));
      else d.help(fmt::format("write `{} process \"REGEX\"` or `{} \"/a.slice/*\"`", modeWord(decl->avoid),
                              modeWord(decl->avoid)));
      continue;
    }
    for (const auto& s : decl->patterns) {
      PreferEntry e{decl->avoid, decl->what, s.value, s.range, std::nullopt};
      if (decl->what == PreferWhat::Cgroup) {
        auto pattern = parsePattern(s, diags_);
        if (!pattern) continue;
        e.text = pattern->text();
        e.pattern = std::move(*pattern);
      } else if (auto error = regexError(s.value)) {
        diags_.report(DiagCode::E0004, s.range, fmt::format("\"{}\" is not a regular expression: {}", s.value, *error))
            .help(fmt::format("write a POSIX extended regular expression, as earlyoom's --{} takes: \"^(chrome|firefox)$\"",
                              modeWord(decl->avoid)));
        continue;
      }
      out.preferences.push_back(std::move(e));
    }
  }
}

void Checker::checkPreferenceConflicts(const CheckedPolicy& out) {
  if (out.preferences.empty()) return;
  for (const auto& e : out.preferences) {
    if (!e.pattern) continue;
    for (const auto& q : out.protects) {
      if (!covers(q.pattern, *e.pattern)) continue;
      if (!e.avoid)
        diags_.report(DiagCode::E0306, e.range, fmt::format("\"{}\" is protected: it is never killed, so it cannot go first", e.text))
            .note(q.range, "protected here")
            .help("drop the `prefer`, or narrow the `protect` to leave these cgroups out");
      else
        diags_.report(DiagCode::E0307, e.range, fmt::format("\"{}\" is protected: it is never killed, so avoiding it changes nothing", e.text))
            .note(q.range, "protected here")
            .help("drop the `avoid`");
      break;
    }
  }
  std::map<std::pair<PreferWhat, std::string>, const PreferEntry*> seen;
  for (const auto& e : out.preferences) {
    auto [it, fresh] = seen.try_emplace({e.what, e.text}, &e);
    if (fresh || it->second->avoid == e.avoid) continue;
    diags_.report(DiagCode::E0306, e.range, fmt::format("\"{}\" is both preferred and avoided", e.text))
        .note(it->second->range, it->second->avoid ? "avoided here" : "preferred here")
        .help("keep one of the two");
  }
  // A preference ranks the candidates of a kill: of a process kill for
  // `process` and `cmdline`, of any kill for cgroup patterns.
  bool anyKill = false, processKill = false;
  for (const auto& r : out.rules)
    for (const auto& a : r.rule->actions)
      if (a.kind == ActionKind::Kill) {
        anyKill = true;
        processKill |= a.target == KillTarget::Process;
      }
  for (const auto& e : out.preferences) {
    if (!anyKill) {
      diags_.report(DiagCode::E0307, e.range, "this policy kills nothing: its preferences are never used")
          .help(fmt::format("drop the `{}`, or add a rule that kills", modeWord(e.avoid)));
      return;
    }
    if (e.what != PreferWhat::Cgroup && !processKill) {
      diags_.report(DiagCode::E0307, e.range,
                    fmt::format("`{} {}` ranks processes, and every kill of this policy kills a cgroup",
                                modeWord(e.avoid), preferWhatWord(e.what)))
          .help(fmt::format("name the cgroups instead (`{} \"/user.slice/**/app-firefox*.scope\"`), or kill a process",
                            modeWord(e.avoid)));
      return;
    }
  }
}

}  // namespace mmp

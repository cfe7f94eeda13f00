// `prefer`, `avoid` and `protect` of processes (docs/language.md §7):
// cgroup patterns are checked as `protect`'s are, regular expressions are
// compiled as mmrun compiles them (POSIX extended, regcomp), and all are
// set against the protections. Protection is absolute: preferring what is
// protected is an error (E0306), avoiding it changes nothing (E0307).
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

// The words after `prefer`, `avoid` and `protect`, and the kinds they name.
const std::pair<const char*, PreferWhat> kWhatWords[] = {
    {"process", PreferWhat::Process}, {"cmdline", PreferWhat::Cmdline}, {"exe", PreferWhat::Exe},
    {"cwd", PreferWhat::Cwd},         {"uid", PreferWhat::Uid},         {"environ", PreferWhat::Environ},
};

}  // namespace

const char* preferWhatWord(PreferWhat w) {
  if (w == PreferWhat::Cgroup) return "cgroup";
  for (const auto& [word, what] : kWhatWords)
    if (what == w) return word;
  return "cgroup";
}

const char* preferModeWord(PreferMode m) {
  switch (m) {
    case PreferMode::Prefer: return "prefer";
    case PreferMode::Avoid: return "avoid";
    case PreferMode::Protect: return "protect";
  }
  return "prefer";
}

// The kind a word names; a diagnostic (with the closest word) if none.
std::optional<PreferWhat> Checker::preferWhat(PreferMode mode, const std::string& word, SourceRange range) {
  if (word.empty()) return PreferWhat::Cgroup;
  std::vector<std::string> words;
  for (const auto& [w, what] : kWhatWords) {
    if (word == w) return what;
    words.push_back(w);
  }
  const char* verb = preferModeWord(mode);
  auto& d = diags_.report(DiagCode::E0100, range, fmt::format("`{} {}` names no kind of candidate", verb, word))
                .note(fmt::format("`{}` names cgroups by pattern (no word before it), or processes by a regular "
                                  "expression over their `process` name, `cmdline`, `exe`, `cwd`, `uid` or `environ`",
                                  verb));
  if (auto best = closestMatch(word, words)) d.help(fmt::format("did you mean `{}`?", *best));
  else d.help(fmt::format("write `{} process \"REGEX\"` or `{} \"/a.slice/*\"`", verb, verb));
  return std::nullopt;
}

void Checker::addPreferences(PreferMode mode, const std::string& word, SourceRange wordRange,
                             const std::vector<StringLit>& patterns, CheckedPolicy& out) {
  auto what = preferWhat(mode, word, wordRange);
  if (!what) return;
  for (const auto& s : patterns) {
    PreferEntry e{mode, *what, s.value, s.range, std::nullopt};
    if (*what == PreferWhat::Cgroup) {
      auto pattern = parsePattern(s, diags_);
      if (!pattern) continue;
      e.text = pattern->text();
      e.pattern = std::move(*pattern);
    } else if (auto error = regexError(s.value)) {
      diags_.report(DiagCode::E0004, s.range, fmt::format("\"{}\" is not a regular expression: {}", s.value, *error))
          .help(fmt::format("write a POSIX extended regular expression, as earlyoom's --{} takes: \"^(chrome|firefox)$\"",
                            mode == PreferMode::Protect ? "ignore" : preferModeWord(mode)));
      continue;
    }
    out.preferences.push_back(std::move(e));
  }
}

void Checker::checkPreferences(const Policy& p, CheckedPolicy& out) {
  for (const auto& item : p.items) {
    if (auto* decl = llvm::dyn_cast<PreferDecl>(item.get()))
      addPreferences(decl->avoid ? PreferMode::Avoid : PreferMode::Prefer, decl->whatWord, decl->whatRange,
                     decl->patterns, out);
    else if (auto* protect = llvm::dyn_cast<ProtectDecl>(item.get()); protect && !protect->whatWord.empty())
      addPreferences(PreferMode::Protect, protect->whatWord, protect->whatRange, protect->patterns, out);
  }
}

void Checker::checkPreferenceConflicts(const CheckedPolicy& out) {
  if (out.preferences.empty()) return;
  for (const auto& e : out.preferences) {
    if (!e.pattern) continue;
    for (const auto& q : out.protects) {
      if (!covers(q.pattern, *e.pattern)) continue;
      reportProtected(e, q.range);
      break;
    }
  }
  // The same pattern twice, in two modes: protection beats both
  // preferences, and preferring and avoiding it cannot both hold.
  std::map<std::pair<PreferWhat, std::string>, const PreferEntry*> seen;
  for (const auto& e : out.preferences) {
    auto [it, fresh] = seen.try_emplace({e.what, e.text}, &e);
    const PreferEntry& first = *it->second;
    if (fresh || first.mode == e.mode) continue;
    if (first.mode == PreferMode::Protect || e.mode == PreferMode::Protect) {
      const PreferEntry& pref = e.mode == PreferMode::Protect ? first : e;
      reportProtected(pref, (e.mode == PreferMode::Protect ? e : first).range);
      continue;
    }
    diags_.report(DiagCode::E0306, e.range, fmt::format("\"{}\" is both preferred and avoided", e.text))
        .note(first.range, first.mode == PreferMode::Avoid ? "avoided here" : "preferred here")
        .help("keep one of the two");
  }
  // A preference ranks the candidates of a kill: of a process kill for
  // regular expressions, of any kill for cgroup patterns. A protected
  // process also spares the cgroups it is in from cgroup kills.
  bool anyKill = false, processKill = false;
  for (const auto& r : out.rules)
    for (const auto& a : r.rule->actions)
      if (a.kind == ActionKind::Kill) {
        anyKill = true;
        processKill |= a.target == KillTarget::Process;
      }
  for (const auto& e : out.preferences) {
    const char* verb = preferModeWord(e.mode);
    if (!anyKill) {
      diags_.report(DiagCode::E0307, e.range,
                    e.mode == PreferMode::Protect ? "this policy kills nothing: its protections of processes are never used"
                                                  : "this policy kills nothing: its preferences are never used")
          .help(fmt::format("drop the `{}`, or add a rule that kills", verb));
      return;
    }
    if (e.what != PreferWhat::Cgroup && e.mode != PreferMode::Protect && !processKill) {
      diags_.report(DiagCode::E0307, e.range,
                    fmt::format("`{} {}` ranks processes, and every kill of this policy kills a cgroup", verb,
                                preferWhatWord(e.what)))
          .help(fmt::format("name the cgroups instead (`{} \"/user.slice/**/app-firefox*.scope\"`), or kill a process",
                            verb));
      return;
    }
  }
}

// A preference of what a protection covers: protection is absolute.
void Checker::reportProtected(const PreferEntry& e, SourceRange protectedAt) {
  if (e.mode == PreferMode::Prefer)
    diags_.report(DiagCode::E0306, e.range, fmt::format("\"{}\" is protected: it is never killed, so it cannot go first", e.text))
        .note(protectedAt, "protected here")
        .help(fmt::format("drop the `prefer`, or narrow the `protect` to leave these {} out",
                          e.what == PreferWhat::Cgroup ? "cgroups" : "processes"));
  else
    diags_.report(DiagCode::E0307, e.range, fmt::format("\"{}\" is protected: it is never killed, so avoiding it changes nothing", e.text))
        .note(protectedAt, "protected here")
        .help("drop the `avoid`");
}

}  // namespace mmp

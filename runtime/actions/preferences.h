// `prefer`, `avoid` and `protect` of processes (docs/language.md §7) as
// mmrun applies them: each kill candidate gets a rank, +1 preferred, -1
// avoided (avoid wins over prefer), 0 neither, and the preference that gave
// it, for the log; a protected process (protection wins over both) is no
// candidate at all, nor is a cgroup it runs in. The pick
// (actions/victims.h) ranks by the rank before its key.
#pragma once

#include <regex.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <llvm/Support/Error.h>

#include "manifest.h"
#include "scope_pattern.h"

namespace mmp::runtime {

struct PreferenceVerdict {
  int rank = 0;     // +1 preferred, -1 avoided, 0 neither
  std::string by;   // `prefer process "^chrome$" (p.mmp:4)`; empty for 0
  bool isProtected = false;  // by `by`: never killed
};

// The texts of a process a regular expression matches, as `what` names
// them: its name (comm), command line (arguments joined by spaces),
// executable and working directory (the links /proc/PID/exe and cwd
// resolve to), effective UID (decimal), and environment (one NAME=value
// per line; ^ and $ match at each line). Only those some preference
// matches are read.
struct ProcessTexts {
  std::string name, cmdline, exe, cwd, uid, environ;
};

class Preferences {
public:
  // Refuses (saying which and why) a pattern or expression it cannot use:
  // mmpc checked them, so only a damaged object gets here.
  static llvm::Expected<Preferences> compile(const std::vector<ManifestPreference>& specs);

  bool empty() const { return rules_.empty(); }
  bool ranksProcesses() const;      // some regular expression over a process
  bool protectsProcesses() const;   // some `protect process|cmdline|...`

  // A cgroup candidate, by its path below the root ("/a/b").
  PreferenceVerdict ofCgroup(const std::string& path) const;
  // A process candidate: the cgroup it is in, and its texts.
  PreferenceVerdict ofProcess(const std::string& cgroupPath, const ProcessTexts& texts) const;
  // The texts of process `pid` (named `name`) that the preferences match;
  // "" for one gone or unreadable.
  ProcessTexts readTexts(int pid, const std::string& name) const;
  // The `protect` matching a process of `pids` (its name read here), if
  // one does: a cgroup holding it is no kill candidate.
  std::optional<std::string> protectedAmong(const std::vector<int>& pids) const;

private:
  struct Rule {
    ManifestPreference spec;
    std::optional<ScopePattern> cgroup;
    std::shared_ptr<regex_t> regex;  // freed with the last copy
    std::string text() const;
  };
  PreferenceVerdict decide(const std::vector<const Rule*>& matched) const;
  bool cgroupMatches(const Rule& r, const std::string& path) const;
  bool reads(const char* what) const;
  std::vector<Rule> rules_;
};

// /proc/PID/cmdline with its NULs as spaces ("" when gone).
std::string commandLine(int pid);

}  // namespace mmp::runtime

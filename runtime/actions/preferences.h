// `prefer` and `avoid` (docs/language.md §7) as mmrun applies them: each
// kill candidate gets a rank, +1 preferred, -1 avoided (avoid wins over
// prefer), 0 neither, and the preference that gave it, for the log. The
// pick (actions/victims.h) ranks by it before its key.
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
};

class Preferences {
public:
  // Refuses (saying which and why) a pattern or expression it cannot use:
  // mmpc checked them, so only a damaged object gets here.
  static llvm::Expected<Preferences> compile(const std::vector<ManifestPreference>& specs);

  bool empty() const { return rules_.empty(); }
  bool ranksProcesses() const;  // some `process` or `cmdline` preference
  bool readsCommandLine() const;

  // A cgroup candidate, by its path below the root ("/a/b").
  PreferenceVerdict ofCgroup(const std::string& path) const;
  // A process candidate: the cgroup it is in, its name (comm) and its
  // command line (arguments joined by spaces; only read when
  // readsCommandLine()).
  PreferenceVerdict ofProcess(const std::string& cgroupPath, const std::string& name,
                              const std::string& cmdline) const;

private:
  struct Rule {
    ManifestPreference spec;
    std::optional<ScopePattern> cgroup;
    std::shared_ptr<regex_t> regex;  // freed with the last copy
    std::string text() const;
  };
  PreferenceVerdict decide(const std::vector<const Rule*>& matched) const;
  bool cgroupMatches(const Rule& r, const std::string& path) const;
  std::vector<Rule> rules_;
};

// /proc/PID/cmdline with its NULs as spaces ("" when gone).
std::string commandLine(int pid);

}  // namespace mmp::runtime

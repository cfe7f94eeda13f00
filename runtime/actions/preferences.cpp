#include "actions/preferences.h"

#include <fmt/format.h>

#include <fstream>
#include <iterator>

namespace mmp::runtime {

namespace {

llvm::Error refuse(const ManifestPreference& s, const std::string& why) {
  return llvm::createStringError(std::errc::invalid_argument, "%s: `%s %s \"%s\"`: %s", s.location.c_str(),
                                 s.avoid ? "avoid" : "prefer", s.what.c_str(), s.pattern.c_str(), why.c_str());
}

}  // namespace

std::string Preferences::Rule::text() const {
  std::string what = spec.what == "cgroup" ? "" : spec.what + " ";
  return fmt::format("{} {}\"{}\" ({})", spec.avoid ? "avoid" : "prefer", what, spec.pattern, spec.location);
}

llvm::Expected<Preferences> Preferences::compile(const std::vector<ManifestPreference>& specs) {
  Preferences out;
  for (const auto& s : specs) {
    Rule r{s, std::nullopt, nullptr};
    if (s.what == "cgroup") {
      std::string error;
      r.cgroup = parseScopePattern(s.pattern, error);
      if (!r.cgroup) return refuse(s, "not a cgroup pattern: " + error);
    } else if (s.what == "process" || s.what == "cmdline") {
      auto compiled = std::make_unique<regex_t>();
      if (int rc = regcomp(compiled.get(), s.pattern.c_str(), REG_EXTENDED | REG_NOSUB); rc != 0) {
        char message[256];
        regerror(rc, compiled.get(), message, sizeof message);
        return refuse(s, std::string("not a regular expression: ") + message);  // nothing to regfree
      }
      r.regex = std::shared_ptr<regex_t>(compiled.release(), [](regex_t* p) {
        regfree(p);
        delete p;
      });
    } else {
      return refuse(s, "unknown kind of preference (this mmrun knows cgroup, process and cmdline)");
    }
    out.rules_.push_back(std::move(r));
  }
  return out;
}

bool Preferences::ranksProcesses() const {
  for (const auto& r : rules_)
    if (r.regex) return true;
  return false;
}

bool Preferences::readsCommandLine() const {
  for (const auto& r : rules_)
    if (r.spec.what == "cmdline") return true;
  return false;
}

// As `protect`: the cgroup a pattern matches, and everything below it.
bool Preferences::cgroupMatches(const Rule& r, const std::string& path) const {
  for (size_t i = 1; i <= path.size(); ++i)
    if ((i == path.size() || path[i] == '/') && matches(*r.cgroup, path.substr(0, i))) return true;
  return false;
}

// The first avoid that matched, else the first prefer: avoid wins.
PreferenceVerdict Preferences::decide(const std::vector<const Rule*>& matched) const {
  for (const Rule* r : matched)
    if (r->spec.avoid) return {-1, r->text()};
  for (const Rule* r : matched)
    if (!r->spec.avoid) return {1, r->text()};
  return {};
}

PreferenceVerdict Preferences::ofCgroup(const std::string& path) const {
  std::vector<const Rule*> matched;
  for (const auto& r : rules_)
    if (r.cgroup && cgroupMatches(r, path)) matched.push_back(&r);
  return decide(matched);
}

PreferenceVerdict Preferences::ofProcess(const std::string& cgroupPath, const std::string& name,
                                         const std::string& cmdline) const {
  std::vector<const Rule*> matched;
  for (const auto& r : rules_) {
    bool hit = r.cgroup ? cgroupMatches(r, cgroupPath)
                        : regexec(r.regex.get(), (r.spec.what == "cmdline" ? cmdline : name).c_str(), 0, nullptr, 0) == 0;
    if (hit) matched.push_back(&r);
  }
  return decide(matched);
}

std::string commandLine(int pid) {
  std::ifstream in(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && text.back() == '\0') text.pop_back();
  for (char& c : text)
    if (c == '\0') c = ' ';
  return text;
}

}  // namespace mmp::runtime

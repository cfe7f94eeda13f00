#include "actions/preferences.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "abi/mmp_manifest_keys.h"

namespace mmp::runtime {

namespace {

const char* modeWord(PreferenceMode m) {
  switch (m) {
    case PreferenceMode::Prefer: return "prefer";
    case PreferenceMode::Avoid: return "avoid";
    case PreferenceMode::Protect: return "protect";
  }
  return "prefer";
}

llvm::Error refuse(const ManifestPreference& s, const std::string& why) {
  return llvm::createStringError(std::errc::invalid_argument, "%s: `%s %s \"%s\"`: %s", s.location.c_str(),
                                 modeWord(s.mode), s.what.c_str(), s.pattern.c_str(), why.c_str());
}

bool processText(const std::string& what) {
  const auto& texts = manifest_key::preference::kWhats;
  return std::find(std::begin(texts), std::end(texts), what) != std::end(texts);
}

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string linkTarget(int pid, const char* link) {
  std::error_code ec;
  auto target = std::filesystem::read_symlink(fmt::format("/proc/{}/{}", pid, link), ec);
  return ec ? "" : target.string();
}

// The second field of /proc/PID/status's "Uid:" line: the effective UID.
std::string effectiveUid(int pid) {
  std::istringstream status(readAll(fmt::format("/proc/{}/status", pid)));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Uid:", 0) != 0) continue;
    std::istringstream words(line.substr(4));
    std::string real, effective;
    words >> real >> effective;
    return effective;
  }
  return "";
}

// NUL-separated, as /proc/PID/cmdline and environ are: `sep` between.
std::string joined(std::string text, char sep) {
  while (!text.empty() && text.back() == '\0') text.pop_back();
  std::replace(text.begin(), text.end(), '\0', sep);
  return text;
}

}  // namespace

std::string Preferences::Rule::text() const {
  std::string what = spec.what == "cgroup" ? "" : spec.what + " ";
  return fmt::format("{} {}\"{}\" ({})", modeWord(spec.mode), what, spec.pattern, spec.location);
}

llvm::Expected<Preferences> Preferences::compile(const std::vector<ManifestPreference>& specs) {
  Preferences out;
  for (const auto& s : specs) {
    Rule r{s, std::nullopt, nullptr};
    if (s.what == "cgroup") {
      if (s.mode == PreferenceMode::Protect) return refuse(s, "cgroups are protected by the manifest's `protect`");
      std::string error;
      r.cgroup = parseScopePattern(s.pattern, error);
      if (!r.cgroup) return refuse(s, "not a cgroup pattern: " + error);
    } else if (!processText(s.what)) {
      return refuse(s, "unknown kind of preference (this mmrun knows cgroup, process, cmdline, exe, cwd, uid and environ)");
    } else {
      // One variable per line of the environment: ^ and $ at each.
      int flags = REG_EXTENDED | REG_NOSUB | (s.what == "environ" ? REG_NEWLINE : 0);
      auto compiled = std::make_unique<regex_t>();
      if (int rc = regcomp(compiled.get(), s.pattern.c_str(), flags); rc != 0) {
        char message[256];
        regerror(rc, compiled.get(), message, sizeof message);
        return refuse(s, std::string("not a regular expression: ") + message);  // nothing to regfree
      }
      r.regex = std::shared_ptr<regex_t>(compiled.release(), [](regex_t* p) {
        regfree(p);
        delete p;
      });
    }
    out.rules_.push_back(std::move(r));
  }
  return out;
}

bool Preferences::ranksProcesses() const {
  return std::any_of(rules_.begin(), rules_.end(), [](const Rule& r) { return r.regex != nullptr; });
}

bool Preferences::protectsProcesses() const {
  return std::any_of(rules_.begin(), rules_.end(),
                     [](const Rule& r) { return r.regex && r.spec.mode == PreferenceMode::Protect; });
}

bool Preferences::reads(const char* what) const {
  return std::any_of(rules_.begin(), rules_.end(), [&](const Rule& r) { return r.spec.what == what; });
}

// As `protect`: the cgroup a pattern matches, and everything below it.
bool Preferences::cgroupMatches(const Rule& r, const std::string& path) const {
  for (size_t i = 1; i <= path.size(); ++i)
    if ((i == path.size() || path[i] == '/') && matches(*r.cgroup, path.substr(0, i))) return true;
  return false;
}

// The first protect that matched, else the first avoid, else the first
// prefer: protection is absolute, and avoid wins over prefer.
PreferenceVerdict Preferences::decide(const std::vector<const Rule*>& matched) const {
  for (PreferenceMode mode : {PreferenceMode::Protect, PreferenceMode::Avoid, PreferenceMode::Prefer})
    for (const Rule* r : matched)
      if (r->spec.mode == mode)
        return {mode == PreferenceMode::Prefer ? 1 : mode == PreferenceMode::Avoid ? -1 : 0, r->text(),
                mode == PreferenceMode::Protect};
  return {};
}

PreferenceVerdict Preferences::ofCgroup(const std::string& path) const {
  std::vector<const Rule*> matched;
  for (const auto& r : rules_)
    if (r.cgroup && cgroupMatches(r, path)) matched.push_back(&r);
  return decide(matched);
}

PreferenceVerdict Preferences::ofProcess(const std::string& cgroupPath, const ProcessTexts& t) const {
  std::vector<const Rule*> matched;
  for (const auto& r : rules_) {
    bool hit = false;
    if (r.cgroup) {
      hit = cgroupMatches(r, cgroupPath);
    } else {
      const std::string& w = r.spec.what;
      const std::string& text = w == "cmdline" ? t.cmdline
                                : w == "exe"   ? t.exe
                                : w == "cwd"   ? t.cwd
                                : w == "uid"   ? t.uid
                                : w == "environ" ? t.environ
                                                 : t.name;
      hit = regexec(r.regex.get(), text.c_str(), 0, nullptr, 0) == 0;
    }
    if (hit) matched.push_back(&r);
  }
  return decide(matched);
}

ProcessTexts Preferences::readTexts(int pid, const std::string& name) const {
  ProcessTexts t;
  t.name = name;
  if (reads("cmdline")) t.cmdline = commandLine(pid);
  if (reads("exe")) t.exe = linkTarget(pid, "exe");
  if (reads("cwd")) t.cwd = linkTarget(pid, "cwd");
  if (reads("uid")) t.uid = effectiveUid(pid);
  if (reads("environ")) t.environ = joined(readAll(fmt::format("/proc/{}/environ", pid)), '\n');
  return t;
}

std::optional<std::string> Preferences::protectedAmong(const std::vector<int>& pids) const {
  if (!protectsProcesses()) return std::nullopt;
  for (int pid : pids) {
    std::string comm = readAll(fmt::format("/proc/{}/comm", pid));
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    PreferenceVerdict v = ofProcess("", readTexts(pid, comm));
    if (v.isProtected) return fmt::format("pid {} ({}): {}", pid, comm, v.by);
  }
  return std::nullopt;
}

std::string commandLine(int pid) { return joined(readAll(fmt::format("/proc/{}/cmdline", pid)), ' '); }

}  // namespace mmp::runtime

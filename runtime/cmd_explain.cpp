// `mmrun explain POLICY.bpf.o RULE`: the victim a rule's kill would take
// now, and why, whatever its condition. The rule's kill goes through the
// enactor as a dry run, once for each cgroup its scope holds now (or each
// one given), and prints the records `mmrun load --dry-run` would, the
// candidate table included. Nothing is loaded into the kernel and nothing
// is killed: only the manifest and the live hierarchy are read.
#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string_view>
#include <thread>

#include "abi/mmp_abi.h"
#include "actions/preferences.h"
#include "cgroupfs.h"
#include "commands.h"
#include "enactor.h"
#include "manifest.h"
#include "scopes.h"

namespace mmp::runtime {

namespace {

int error(const std::string& what) {
  std::cerr << fmt::format("mmrun: error: {}\n", what);
  return 1;
}

// RULE as a person gives it: the manifest's `file:line`, the file's base
// name and line (`web.mmp:4`), or the line alone.
const ManifestRule* findRule(const Manifest& m, const std::string& want) {
  for (const auto& r : m.rules) {
    std::string base = std::filesystem::path(r.file).filename().string();
    if (r.location == want || want == fmt::format("{}:{}", base, r.line) || want == std::to_string(r.line)) return &r;
  }
  return nullptr;
}

// A kill's constant threshold ("16MiB", "300"), as its decision carries
// it; nothing for an expression, which only the program computes.
std::optional<uint64_t> constantAmount(const std::string& amount) {
  if (amount.empty() || amount[0] == '(') return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(amount.c_str(), &end);
  if (end == amount.c_str() || v < 0) return std::nullopt;
  static const std::pair<std::string_view, double> units[] = {
      {"", 1}, {"B", 1}, {"KiB", 0x1p10}, {"MiB", 0x1p20}, {"GiB", 0x1p30}, {"TiB", 0x1p40}};
  for (auto [unit, scale] : units)
    if (unit == end) return static_cast<uint64_t>(v * scale);
  return std::nullopt;
}

uint64_t monotonicNs() {
  struct timespec now {};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace

int runExplain(const ExplainOptions& o) {
  auto manifest = readManifest(o.object);
  if (!manifest) return error(llvm::toString(manifest.takeError()));
  const Manifest& m = *manifest;
  const ManifestRule* rule = findRule(m, o.rule);
  if (!rule) {
    std::string kills;
    for (const auto& r : m.rules)
      if (std::any_of(r.actions.begin(), r.actions.end(), [](const auto& a) { return a.kind == "kill"; }))
        kills += fmt::format("\n  {}  {}", r.location, r.text);
    return error(fmt::format("policy {} has no rule {}; its rules that kill:{}", m.policy, o.rule,
                             kills.empty() ? " none" : kills));
  }
  auto kill = std::find_if(rule->actions.begin(), rule->actions.end(), [](const auto& a) { return a.kind == "kill"; });
  if (kill == rule->actions.end())
    return error(fmt::format("rule {} (`{}`) does not kill: explain shows the victim a kill would take",
                             rule->location, rule->text));
  auto h = findMemoryHierarchy(o.cgroupRoot);
  if (!h) return error(llvm::toString(h.takeError()));
  auto preferences = Preferences::compile(m.preferences);
  if (!preferences) return error(llvm::toString(preferences.takeError()));
  Scopes scopes(m, *h);
  Enactor enactor(m, *h, scopes,
                  {.dryRun = true, .format = o.format, .preferences = std::move(*preferences), .explain = true});
  auto cgroups = listCgroups(*h);
  enactor.setCgroups(cgroups);

  // The decision the rule's program would send, but for its condition.
  struct mmp_decision d {};
  d.version = MMP_DECISION_VERSION;
  d.action = MMP_ACTION_KILL;
  d.rule = rule->id;
  d.action_index = kill->index;
  d.flags = kill->flags;
  std::string note;
  if (d.flags & MMP_KILL_ABOVE) {
    if (auto threshold = constantAmount(kill->amount)) {
      d.arg = *threshold;
    } else {
      d.flags &= ~static_cast<uint32_t>(MMP_KILL_ABOVE);
      note = fmt::format("; its threshold `by {} > {}` is computed by the program when the rule fires, and is not "
                         "applied here", kill->by, kill->amount);
    }
  }
  // `by reclaim` ranks by the pgscan rate between two samples.
  if (d.flags & MMP_KILL_RECLAIM) {
    enactor.sampleReclaim();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    enactor.sampleReclaim();
  }
  std::cerr << fmt::format("mmrun explain: {} `{}`: the victim its kill would take now, whatever the condition{}\n",
                           rule->location, rule->text, note);
  if (d.flags & MMP_SUBJECT_SYSTEM) {
    d.time_ns = monotonicNs();
    enactor.onDecision(d);
    return 0;
  }
  size_t subjects = 0;
  for (const auto& c : cgroups) {
    bool asked = std::find(o.cgroups.begin(), o.cgroups.end(), c.path) != o.cgroups.end();
    if (o.cgroups.empty() ? !scopes.inScope(rule->scope, c.path) || scopes.isProtected(c.path) : !asked) continue;
    d.cgroup_id = c.id;
    d.time_ns = monotonicNs();
    enactor.onDecision(d);
    ++subjects;
  }
  for (const auto& want : o.cgroups)
    if (std::none_of(cgroups.begin(), cgroups.end(), [&](const Cgroup& c) { return c.path == want; }))
      return error(fmt::format("no cgroup {} below {} (give a path below the hierarchy's root, as the records do)",
                               want, h->root));
  if (subjects == 0)
    return error(fmt::format("no cgroup is in the scope of rule {} now: nothing it could be asked about",
                             rule->location));
  return 0;
}

}  // namespace mmp::runtime

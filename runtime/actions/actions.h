// What mmrun does to a cgroup, one file per kind of action. Each returns
// the outcome: empty on success, else what failed (with errno's text).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actions/held_files.h"
#include "actions/preferences.h"
#include "cgroupfs.h"
#include "log.h"

namespace mmp::runtime {

struct ActionResult {
  bool ok = true;
  std::string detail;  // what was written or chosen, or why it failed
  // A kill whose victim was already dying (the kernel's OOM killer, or
  // another signal, got there first): not this policy's kill.
  bool superseded = false;
  // A kill whose candidates were all under the rule's threshold (Pick::
  // noneQualified): no victim by the policy's choice, not a failure.
  bool noVictim = false;
  // A kill's candidate table (actions/victims.h, candidateTable).
  std::vector<CandidateRow> candidates = {};
  size_t candidatesOmitted = 0;
  // The processes a kill sent SIGKILL (urgent.h, hastenExit).
  std::vector<int> killed = {};
};

// Writes `content` to `file` in cgroup directory `dir`.
ActionResult writeCgroupFile(const std::string& dir, const std::string& file, const std::string& content);

// reclaim.cpp: memory.reclaim, with swappiness= for anon/file where the
// kernel takes it (detected once), plain otherwise.
ActionResult reclaim(const std::string& dir, uint64_t bytes, uint32_t flags);
// limits.cpp: memory.high (throttle, "max" to unthrottle) and memory.max
// (memory.limit_in_bytes on v1).
ActionResult setHigh(const std::string& dir, uint64_t bytes);
ActionResult setMax(const Hierarchy& h, const std::string& dir, uint64_t bytes);
// kill.cpp: a process of the cgroups `dirs`, chosen by the decision's
// flags and threshold `arg` (actions/victims.h), signalled through a pidfd;
// or a whole cgroup (cgroup.kill on v2, every process on v1).
// `pretend`: choose the victim and say so, signal nothing (a dry run).
// `before`: called with the victim's pid and why it was chosen, right
// before the signal (the --pre-kill hook).
// `rank`: each candidate's preference (actions/preferences.h), from the
// cgroup directory it was listed in, its pid and its name; a protected
// one is no candidate (all protected: no victim).
using BeforeKill = std::function<void(int pid, const std::string& why)>;
using RankProcess = std::function<PreferenceVerdict(const std::string& dir, int pid, const std::string& name)>;
ActionResult killProcess(const std::vector<std::string>& dirs, uint32_t flags, uint64_t arg, bool pretend = false,
                         const BeforeKill& before = nullptr, const RankProcess& rank = nullptr);
// The processes of a cgroup and of the cgroups below it.
std::vector<pid_t> procsBelow(const std::string& dir);
// `leaf`: the caller knows it has no child cgroup, so its processes are
// read without walking the directory (a kill is on the clock).
ActionResult killCgroup(const Hierarchy& h, const std::string& dir, bool leaf = false);

// The file of a cgroup's memory usage: memory.current, memory.usage_in_bytes on v1.
const char* usageFile(const Hierarchy& h);
// The memory a cgroup uses now, read through `held` when given (held_files.h).
uint64_t cgroupUsage(const Hierarchy& h, const std::string& dir, HeldFiles* held = nullptr);
// The swap it uses: memory.swap.current (v2), memory.memsw.usage_in_bytes
// less memory.usage_in_bytes (v1); none where swap is not accounted.
std::optional<uint64_t> cgroupSwap(const Hierarchy& h, const std::string& dir);
// What the cgroup is promised, its request as kubelet's Memory QoS writes
// it: memory.min, else memory.low (MMP_UNLIMITED for "max"); none on v1,
// which has neither.
std::optional<uint64_t> cgroupRequest(const Hierarchy& h, const std::string& dir);
// memory.stat's pgscan (pages scanned by reclaim, ever); none on v1.
std::optional<uint64_t> cgroupPgscan(const Hierarchy& h, const std::string& dir);
// The share of time the cgroup's tasks all stalled on memory, as oomd's
// kill_by_pressure weighs it: memory.pressure's full avg10 and avg60,
// averaged (percent); none on v1, or a kernel without PSI.
std::optional<double> cgroupPressure(const Hierarchy& h, const std::string& dir);
// Whether a process runs in the cgroup itself (not below it).
bool hasProcesses(const std::string& dir);
// Whether a process runs in the cgroup or below it (v2's cgroup.events
// read through `held` when given).
bool populated(const std::string& dir, HeldFiles* held = nullptr);
// Seconds since the cgroup was made.
double cgroupAge(const std::string& dir);

}  // namespace mmp::runtime

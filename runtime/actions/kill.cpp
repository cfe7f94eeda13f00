#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "abi/mmp_abi.h"
#include "actions/actions.h"
#include "actions/victims.h"
#include "log.h"

namespace mmp::runtime {

namespace {

std::vector<pid_t> procsOf(const std::string& dir) {
  std::vector<pid_t> out;
  std::ifstream in(dir + "/cgroup.procs");
  pid_t pid;
  while (in >> pid) out.push_back(pid);
  return out;
}

// Clock ticks since boot, the unit of /proc/PID/stat's start time.
double uptimeTicks() {
  std::ifstream in("/proc/uptime");
  double seconds = 0;
  in >> seconds;
  return seconds * static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A "Name:   N kB" line of /proc/PID/status, in bytes (0 if absent: a
// kernel without swap has no VmSwap).
uint64_t statusBytes(pid_t pid, const std::string& name) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + ":", 0) == 0) return std::strtoull(line.c_str() + name.size() + 1, nullptr, 10) << 10;
  return 0;
}

// Field N (1-based, as proc(5) numbers them) of /proc/PID/stat, read past
// the parenthesised name, which may hold spaces; none when it is gone.
std::optional<uint64_t> statField(pid_t pid, int n) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  std::getline(stat, line);
  size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));  // from field 3, the state
  std::string field;
  for (int i = 3; i < n && rest >> field; ++i) {
  }
  uint64_t value = 0;
  if (!(rest >> value)) return std::nullopt;
  return value;
}

// A small /proc file in one read (no stream: a kill reads one to three
// per candidate, as memory runs out); empty when it is gone.
std::string readSmall(const std::string& path) {
  char buf[4096];
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// What the pick needs of one process. /proc/PID/stat alone gives its name
// (field 2, in parentheses: it may hold spaces and parentheses itself),
// start time (field 22, clock ticks since boot) and RSS (field 24, pages);
// swap and oom_score only where the flags ask for them.
bool readProcess(pid_t pid, uint32_t flags, double nowTicks, ProcessCandidate& p) {
  std::string stat = readSmall(fmt::format("/proc/{}/stat", pid));
  size_t nameStart = stat.find('('), nameEnd = stat.rfind(')');
  if (nameStart == std::string::npos || nameEnd == std::string::npos || nameEnd < nameStart || nameEnd + 2 > stat.size())
    return false;
  uint64_t fields[25] = {};
  const char* at = stat.c_str() + nameEnd + 2;  // field 3, the state: not a number
  while (*at && *at != ' ') ++at;
  for (int i = 4; i <= 24; ++i) {
    char* end = nullptr;
    fields[i] = std::strtoull(at, &end, 10);
    if (end == at) return false;
    at = end;
  }
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  p = {pid, fields[24] * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)), 0, 0,
       std::max(0.0, (nowTicks - static_cast<double>(fields[22])) / ticks)};
  p.name = stat.substr(nameStart + 1, nameEnd - nameStart - 1);
  if (flags & MMP_KILL_SWAP) p.swap = statusBytes(pid, "VmSwap");
  if (flags & MMP_KILL_OOM_SCORE) {
    std::string score = readSmall(fmt::format("/proc/{}/oom_score", pid));
    char* end = nullptr;
    p.oomScore = std::strtoull(score.c_str(), &end, 10);
    if (end == score.c_str()) return false;  // gone
  }
  return true;
}

// Already on its way out (actions/victims.h), or gone: also a process in
// the middle of its exit, whose SIGKILL is no longer pending but whose
// flags (field 9 of /proc/PID/stat) carry PF_EXITING.
bool dying(pid_t pid) {
  std::string status = readSmall(fmt::format("/proc/{}/status", pid));
  if (status.empty() || dyingStatus(status)) return true;
  constexpr uint64_t kExiting = 0x4;  // PF_EXITING
  auto flags = statField(pid, 9);
  return !flags || (*flags & kExiting);
}

ActionResult signalPid(pid_t pid, int sig) {
  std::string name = signalName(sig);
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return {false, fmt::format("pidfd_open({}): {}", pid, std::strerror(errno))};
  int rc = static_cast<int>(syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0));
  int err = errno;
  close(fd);
  if (rc < 0) return {false, fmt::format("pidfd_send_signal({}, {}): {}", pid, name, std::strerror(err))};
  return {true, fmt::format("{} to pid {}", name, pid)};
}

}  // namespace

std::vector<pid_t> procsBelow(const std::string& dir) {
  std::vector<pid_t> out = procsOf(dir);
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (e.is_directory(ec)) {
      auto more = procsOf(e.path().string());
      out.insert(out.end(), more.begin(), more.end());
    }
  return out;
}

ActionResult killProcess(const std::vector<std::string>& dirs, uint32_t flags, uint64_t arg, bool pretend,
                         const BeforeKill& before, const RankProcess& rank) {
  std::vector<ProcessCandidate> candidates;
  std::vector<CandidateRow> gone;  // listed, then gone before they could be read; or protected
  size_t protectedCount = 0;
  double now = uptimeTicks();
  for (const auto& dir : dirs)
    for (pid_t pid : procsOf(dir)) {
      ProcessCandidate p;
      if (pid == getpid()) continue;
      if (!readProcess(pid, flags, now, p)) {
        gone.push_back({fmt::format("pid {}", pid), "", "", "gone"});
        continue;
      }
      if (rank) {
        PreferenceVerdict v = rank(dir, pid, p.name);
        if (v.isProtected) {
          gone.push_back({fmt::format("pid {} ({})", pid, p.name), "", "", "protected: " + v.by});
          ++protectedCount;
          continue;
        }
        p.preference = v.rank;
        p.preferredBy = std::move(v.by);
      }
      candidates.push_back(p);
    }
  Pick pick = pickProcess(candidates, flags, arg);
  auto withTable = [&](ActionResult r) {
    candidateTable(pick, [&](size_t i) { return fmt::format("pid {} ({})", candidates[i].pid, candidates[i].name); },
                   gone, r.candidates, r.candidatesOmitted);
    return r;
  };
  if (candidates.empty() && protectedCount > 0)
    return withTable({.ok = false,
                      .detail = fmt::format("every process of the subject is protected ({})", protectedCount),
                      .noVictim = true});
  if (!pick.victim) return withTable({.ok = false, .detail = pick.detail, .noVictim = pick.noneQualified()});
  int sig = MMP_KILL_SIGNAL(flags) ? static_cast<int>(MMP_KILL_SIGNAL(flags)) : SIGKILL;
  pid_t victim = candidates[*pick.victim].pid;
  if (pretend)
    return withTable({true, fmt::format("would send {} to pid {} ({})", signalName(sig), victim, pick.detail)});
  if (dying(victim))
    return withTable({false,
                      fmt::format("pid {} is already dying: another kill (the kernel's OOM killer?) got there first ({})",
                                  victim, pick.detail),
                      true});
  if (before) before(victim, pick.detail);
  ActionResult r = signalPid(victim, sig);
  if (r.ok) r.detail += " (" + pick.detail + ")";
  if (r.ok && sig == SIGKILL) r.killed = {victim};
  return withTable(r);
}

ActionResult killCgroup(const Hierarchy& h, const std::string& dir, bool leaf) {
  std::vector<pid_t> before = leaf ? procsOf(dir) : procsBelow(dir);
  if (before.empty() && leaf) before = procsBelow(dir);  // a child made since the listing
  if (before.empty()) return {false, "no process is left in it: another kill got there first", true};
  if (std::all_of(before.begin(), before.end(), dying))
    return {false, fmt::format("its {} process(es) are already dying: another kill (the kernel's OOM killer?) got "
                               "there first", before.size()), true};
  if (h.version == CgroupVersion::V2) {
    ActionResult r = writeCgroupFile(dir, "cgroup.kill", "1");
    if (r.ok) r.killed = before;  // and any forked since, not hastened
    return r;
  }
  ActionResult all{true, ""};
  for (pid_t pid : procsOf(dir)) {
    if (pid == getpid()) continue;
    ActionResult r = signalPid(pid, SIGKILL);
    all.detail += (all.detail.empty() ? "" : "; ") + r.detail;
    all.ok &= r.ok;
    if (r.ok) all.killed.push_back(pid);
  }
  if (all.detail.empty()) return {false, "no process in " + dir};
  return all;
}

}  // namespace mmp::runtime

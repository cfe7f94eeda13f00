#include <fmt/format.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "abi/mmp_abi.h"
#include "actions/actions.h"
#include "log.h"

namespace mmp::runtime {

namespace {

struct Process {
  pid_t pid;
  uint64_t rssBytes;
  uint64_t startTicks;
};

std::vector<pid_t> procsOf(const std::string& dir) {
  std::vector<pid_t> out;
  std::ifstream in(dir + "/cgroup.procs");
  pid_t pid;
  while (in >> pid) out.push_back(pid);
  return out;
}

bool readProcess(pid_t pid, Process& p) {
  std::ifstream statm(fmt::format("/proc/{}/statm", pid));
  uint64_t size, resident;
  if (!(statm >> size >> resident)) return false;
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  std::getline(stat, line);
  size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  // Fields after the name: state is 3; starttime is 22.
  for (int i = 3; i < 22 && rest >> field; ++i) {
  }
  uint64_t start = 0;
  rest >> start;
  p = {pid, resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)), start};
  return true;
}

// Clock ticks since boot, the unit of /proc/PID/stat's start time.
double uptimeTicks() {
  std::ifstream in("/proc/uptime");
  double seconds = 0;
  in >> seconds;
  return seconds * static_cast<double>(sysconf(_SC_CLK_TCK));
}

ActionResult signalPid(pid_t pid) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return {false, fmt::format("pidfd_open({}): {}", pid, std::strerror(errno))};
  int rc = static_cast<int>(syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0));
  int err = errno;
  close(fd);
  if (rc < 0) return {false, fmt::format("pidfd_send_signal({}, SIGKILL): {}", pid, std::strerror(err))};
  return {true, fmt::format("SIGKILL to pid {}", pid)};
}

}  // namespace

ActionResult killProcess(const std::vector<std::string>& dirs, uint32_t flags) {
  std::vector<Process> candidates;
  for (const auto& dir : dirs)
    for (pid_t pid : procsOf(dir)) {
      Process p;
      if (pid != getpid() && readProcess(pid, p)) candidates.push_back(p);
    }
  if (candidates.empty()) return {false, "no process to kill in the subject"};
  // growing: the fastest average growth over the process's life (RSS per
  // second of age; at least one second), which needs no history.
  double now = uptimeTicks();
  auto growth = [&](const Process& p) {
    double age = std::max(1.0, (now - static_cast<double>(p.startTicks)) / static_cast<double>(sysconf(_SC_CLK_TCK)));
    return static_cast<double>(p.rssBytes) / age;
  };
  auto better = [&](const Process& a, const Process& b) {
    if (flags & MMP_KILL_OLDEST) return a.startTicks < b.startTicks;
    if (flags & MMP_KILL_YOUNGEST) return a.startTicks > b.startTicks;
    if (flags & MMP_KILL_GROWING) return growth(a) > growth(b);
    return a.rssBytes > b.rssBytes;  // largest
  };
  const Process* victim = &candidates[0];
  for (const auto& p : candidates)
    if (better(p, *victim)) victim = &p;
  ActionResult r = signalPid(victim->pid);
  if (r.ok)
    r.detail += flags & MMP_KILL_GROWING
                    ? fmt::format(" (rss {}, {}/s over its life)", formatValue("bytes", victim->rssBytes),
                                  formatValue("bytes", static_cast<uint64_t>(growth(*victim))))
                    : fmt::format(" (rss {})", formatValue("bytes", victim->rssBytes));
  return r;
}

ActionResult killCgroup(const Hierarchy& h, const std::string& dir) {
  if (h.version == CgroupVersion::V2) return writeCgroupFile(dir, "cgroup.kill", "1");
  ActionResult all{true, ""};
  for (pid_t pid : procsOf(dir)) {
    if (pid == getpid()) continue;
    ActionResult r = signalPid(pid);
    all.detail += (all.detail.empty() ? "" : "; ") + r.detail;
    all.ok &= r.ok;
  }
  if (all.detail.empty()) return {false, "no process in " + dir};
  return all;
}

}  // namespace mmp::runtime

#include "urgent.h"

#include <fmt/format.h>
#include <sched.h>
#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>

namespace mmp::runtime {

Urgent::Urgent(bool enabled) {
  if (!enabled) return;
  struct sched_param p {};
  p.sched_priority = 1;  // the lowest real-time priority: above every normal task, below the kernel's own
  raised_ = sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &p) == 0;
}

Urgent::~Urgent() {
  if (!raised_) return;
  struct sched_param p {};
  sched_setscheduler(0, SCHED_OTHER, &p);
}

void hastenExit(int pid) {
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    int tid = std::atoi(task.path().filename().c_str());
    if (tid > 0) setpriority(PRIO_PROCESS, static_cast<id_t>(tid), -20);
  }
}

}  // namespace mmp::runtime

#include "urgent.h"

#include <sched.h>

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

}  // namespace mmp::runtime

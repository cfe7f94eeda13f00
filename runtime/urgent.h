// While mmrun enacts decisions it runs SCHED_FIFO: a kill comes as memory
// runs out, when the machine's CPUs are busiest (the leak, its victim's
// neighbours, reclaim), and a daemon of the normal class waits its turn at
// every step of its own kill. In the arena's guest, with a service and its
// load on both CPUs, each step of a kill (the rate limit, the pick of five
// cgroups) took 1-10 ms of waiting, 40-90 ms in all (bench/RESULTS.md).
// Only the decisions run so: the periodic walk stays in the normal class.
// Android's lmkd runs SCHED_FIFO for the same reason. The kernel's RT
// throttling (sched_rt_runtime_us) bounds what a runaway could take, and
// a child (a --pre-kill command) starts in the normal class.
#pragma once

namespace mmp::runtime {

class Urgent {
public:
  // Raises the calling thread when `enabled` (mmrun load --no-realtime
  // turns it off); without CAP_SYS_NICE it stays as it was.
  explicit Urgent(bool enabled);
  ~Urgent();
  Urgent(const Urgent&) = delete;
  Urgent& operator=(const Urgent&) = delete;

private:
  bool raised_ = false;
};

}  // namespace mmp::runtime

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

// A victim killed with SIGKILL: each of its threads to nice -20, so that
// its exit, the freeing of its memory, does not wait its turn behind the
// load that starved the machine (Android's lmkd raises its victims
// likewise). Not real-time: a task on its way out needs the CPU, not the
// right to keep it from the kernel's threads. Only after SIGKILL: a
// process that handles the signal would live on raised. Without
// CAP_SYS_NICE, or gone, nothing changes.
void hastenExit(int pid);

}  // namespace mmp::runtime

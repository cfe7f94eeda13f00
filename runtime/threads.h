// Threads beside mmrun's loop (the log's writer, the metrics server).
#pragma once

#include <signal.h>

#include <thread>
#include <utility>

namespace mmp::runtime {

// A thread that takes no signal: SIGHUP, SIGINT and SIGTERM go to the main
// thread, whose wait they interrupt and whose mask holds them during a
// reload. The threads it makes inherit its mask.
template <class F>
std::thread signalFreeThread(F&& f) {
  sigset_t all, before;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &before);
  std::thread t(std::forward<F>(f));
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  return t;
}

}  // namespace mmp::runtime

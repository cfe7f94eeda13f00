// `mmrun load --pre-kill COMMAND`: a command run right before each kill,
// with the victim in its environment, for heap dumps and notifications
// (earlyoom's -P). The kill waits for it, at most its time limit.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace mmp::runtime {

struct HookResult {
  bool started = false;   // false: fork or exec failed (`detail` says why)
  bool timedOut = false;  // killed (its whole process group) at the limit
  int status = 0;         // exit status, or 128 + the signal that ended it
  std::chrono::milliseconds elapsed{0};
  std::string detail;     // for the log: "exited 0 after 12 ms"
};

// Runs `/bin/sh -c command` in a process group of its own, with the
// caller's environment plus `env`, its stdin /dev/null and its output on
// mmrun's stderr, and waits at most `limit`.
HookResult runHook(const std::string& command, const std::vector<std::pair<std::string, std::string>>& env,
                   std::chrono::milliseconds limit);

}  // namespace mmp::runtime

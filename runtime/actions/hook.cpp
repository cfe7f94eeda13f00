#include "actions/hook.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace mmp::runtime {

namespace {

// The child: its own process group (so that a timeout kills what it
// started too), default signal handling, stdin from /dev/null.
[[noreturn]] void execHook(const std::string& command, std::vector<char*>& envp) {
  setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP}) signal(sig, SIG_DFL);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) dup2(null, STDIN_FILENO);
  dup2(STDERR_FILENO, STDOUT_FILENO);  // mmrun's stdout is its log
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  execve("/bin/sh", const_cast<char* const*>(argv), envp.data());
  _exit(127);
}

}  // namespace

HookResult runHook(const std::string& command, const std::vector<std::pair<std::string, std::string>>& env,
                   std::chrono::milliseconds limit) {
  HookResult r;
  // The environment: mmrun's, then the victim's variables (which win).
  std::vector<std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string v = *e;
    bool replaced = false;
    for (const auto& [k, _] : env) replaced |= v.rfind(k + "=", 0) == 0;
    if (!replaced) vars.push_back(v);
  }
  for (const auto& [k, v] : env) vars.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);

  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) {
    r.detail = fmt::format("cannot start `{}`: fork: {}", command, std::strerror(errno));
    return r;
  }
  if (pid == 0) execHook(command, envp);
  setpgid(pid, pid);  // also here: no race with the timeout's kill(-pid)
  r.started = true;
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  int err = errno;
  struct pollfd p {fd, POLLIN, 0};
  int ready = fd >= 0 ? poll(&p, 1, static_cast<int>(limit.count())) : 0;
  if (fd >= 0) close(fd);
  if (ready <= 0) {
    r.timedOut = true;
    kill(-pid, SIGKILL);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.detail = fd < 0        ? fmt::format("`{}` killed: pidfd_open: {}", command, std::strerror(err))
             : r.timedOut ? fmt::format("`{}` did not finish within {} ms: killed", command, limit.count())
                          : fmt::format("`{}` exited {} after {} ms", command, r.status, r.elapsed.count());
  return r;
}

}  // namespace mmp::runtime

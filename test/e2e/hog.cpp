// A memory hog for the end-to-end tests: joins the cgroup given (a cgroup
// directory), touches N MiB, prints "ready", and sleeps until killed.
// With MORE, it then waits for a line on stdin, prints "go NS" (the
// CLOCK_MONOTONIC time it starts) and touches MORE MiB: the latency
// benchmark's controlled threshold crossing.
// With `loop`, it touches its N MiB again and again instead of sleeping:
// under memory.high with swap it keeps faulting pages back in, which makes
// memory pressure (the VM tests' PSI rules).
//   mmp_hog CGROUP_DIR MIB [MORE|loop]
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: mmp_hog CGROUP_DIR MIB [MORE|loop]\n");
    return 2;
  }
  std::ofstream(std::string(argv[1]) + "/cgroup.procs") << getpid() << std::flush;
  size_t bytes = std::strtoull(argv[2], nullptr, 10) << 20;
  std::vector<char> mem(bytes);
  for (size_t i = 0; i < bytes; i += 4096) mem[i] = 1;  // make it resident
  std::printf("ready %d\n", getpid());
  std::fflush(stdout);
  if (argc == 4 && std::strcmp(argv[3], "loop") == 0) {
    volatile char* p = mem.data();  // stores the compiler must keep
    for (char round = 2;; ++round)
      for (size_t i = 0; i < bytes; i += 4096) p[i] = round;
  }
  std::vector<char> extra;  // lives until the hog is killed, like `mem`
  if (argc == 4) {
    char line[16];
    if (!std::fgets(line, sizeof line, stdin)) return 1;
    size_t more = std::strtoull(argv[3], nullptr, 10) << 20;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    std::printf("go %lld\n", static_cast<long long>(t.tv_sec) * 1000000000LL + t.tv_nsec);
    std::fflush(stdout);
    extra.resize(more);
    for (size_t i = 0; i < more; i += 4096) extra[i] = 1;
  }
  for (;;) pause();
}

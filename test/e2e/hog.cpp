// A memory hog for the end-to-end tests: joins the cgroup given (a cgroup
// directory), touches N MiB, prints "ready", and sleeps until killed.
//   mmp_hog CGROUP_DIR MIB
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: mmp_hog CGROUP_DIR MIB\n");
    return 2;
  }
  std::ofstream(std::string(argv[1]) + "/cgroup.procs") << getpid() << std::flush;
  size_t bytes = std::strtoull(argv[2], nullptr, 10) << 20;
  std::vector<char> mem(bytes);
  for (size_t i = 0; i < bytes; i += 4096) mem[i] = 1;  // make it resident
  std::printf("ready %d\n", getpid());
  std::fflush(stdout);
  for (;;) pause();
}

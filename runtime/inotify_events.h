// Reading what an inotify descriptor holds, for the watches of mmrun load
// (cgroup_watch.cpp, policy_dir.cpp).
#pragma once

#include <sys/inotify.h>
#include <unistd.h>

#include <cstdint>

namespace mmp::runtime {

// Reads every pending event of the non-blocking inotify `fd`; true if one
// of them has a bit of `mask` (IN_Q_OVERFLOW: events were lost, so
// anything may have changed).
inline bool drainInotify(int fd, uint32_t mask) {
  alignas(struct inotify_event) char buf[4096];
  bool seen = false;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t at = 0; at < n;) {
      auto* e = reinterpret_cast<struct inotify_event*>(buf + at);
      if (e->mask & (mask | IN_Q_OVERFLOW)) seen = true;
      at += static_cast<ssize_t>(sizeof(struct inotify_event) + e->len);
    }
  }
  return seen;
}

}  // namespace mmp::runtime

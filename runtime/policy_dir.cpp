#include "policy_dir.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include <fmt/format.h>

#include "inotify_events.h"

namespace mmp::runtime {

namespace fs = std::filesystem;

PolicyDir::PolicyDir(std::string dir) : dir_(std::move(dir)) {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  // What a copy, a move, a removal or the kubelet's link swap does to DIR.
  // IN_MODIFY is left out: a file being written is loaded once it is
  // closed (IN_CLOSE_WRITE), not half-written.
  uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF |
                  IN_MOVE_SELF;
  if (fd_ < 0) {
    error_ = fmt::format("inotify: {}", std::strerror(errno));
  } else if (inotify_add_watch(fd_, dir_.c_str(), mask) < 0) {
    error_ = fmt::format("cannot watch {}: {}", dir_, std::strerror(errno));
    close(fd_);
    fd_ = -1;
  }
}

PolicyDir::~PolicyDir() {
  if (fd_ >= 0) close(fd_);
}

// Every event the watch's mask lets through may change the listing.
bool PolicyDir::drain() { return fd_ >= 0 && drainInotify(fd_, ~0u); }

std::vector<std::string> PolicyDir::list() const {
  std::vector<std::string> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    constexpr std::string_view suffix = ".bpf.o";
    if (name.empty() || name[0] == '.' || name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    struct stat st {};
    if (stat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) found.push_back(it->path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace mmp::runtime

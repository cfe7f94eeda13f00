#include "actions/held_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <set>

namespace mmp::runtime {

HeldFiles::~HeldFiles() {
  for (const auto& [path, fd] : fds_) close(fd);
}

void HeldFiles::hold(const std::vector<std::string>& dirs, const std::vector<std::string>& names) {
  std::set<std::string> wanted;
  for (const auto& d : dirs)
    for (const auto& n : names) wanted.insert(d + "/" + n);
  for (auto it = fds_.begin(); it != fds_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    close(it->second);
    it = fds_.erase(it);
  }
  for (const auto& path : wanted) {
    if (fds_.size() >= kMaxHeld) break;
    if (fds_.count(path)) continue;
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) fds_[path] = fd;  // gone already, or out of descriptors: read() opens it then
  }
}

HeldFiles& HeldFiles::proc() {
  static HeldFiles files;
  return files;
}

std::string HeldFiles::read(const std::string& dir, const std::string& name, bool keep) {
  char buf[4096];
  std::string path = dir + "/" + name;
  auto it = fds_.find(path);
  ssize_t n = it != fds_.end() ? pread(it->second, buf, sizeof buf, 0) : -1;
  if (n < 0) {
    // Not held; or held past its cgroup's removal (a new one may have been
    // made at the path since): opened now, and held from now if it was.
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "";
    n = ::read(fd, buf, sizeof buf);
    if (it != fds_.end()) {
      close(it->second);
      it->second = fd;
    } else if (keep && fds_.size() < kMaxHeld) {
      fds_[path] = fd;
    } else {
      close(fd);
    }
  }
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

}  // namespace mmp::runtime

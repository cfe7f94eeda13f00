#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "actions/actions.h"

namespace mmp::runtime {

ActionResult writeCgroupFile(const std::string& dir, const std::string& file, const std::string& content) {
  std::string path = dir + "/" + file;
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return {false, path + ": " + std::strerror(errno)};
  ssize_t n = write(fd, content.data(), content.size());
  int err = errno;
  close(fd);
  if (n < 0) return {false, path + " <- \"" + content + "\": " + std::strerror(err)};
  return {true, path + " <- \"" + content + "\""};
}

uint64_t cgroupUsage(const Hierarchy& h, const std::string& dir) {
  std::ifstream in(dir + (h.version == CgroupVersion::V2 ? "/memory.current" : "/memory.usage_in_bytes"));
  uint64_t v = 0;
  in >> v;
  return v;
}

}  // namespace mmp::runtime

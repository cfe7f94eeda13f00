#include "cgroupfs.h"

#include <fmt/format.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/vfs.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mmp::runtime {

namespace fs = std::filesystem;

namespace {

constexpr long kCgroup2Magic = 0x63677270;

bool isCgroup2(const std::string& dir) {
  struct statfs s;
  return statfs(dir.c_str(), &s) == 0 && s.f_type == kCgroup2Magic;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool hasMemoryController(const std::string& dir) {
  std::istringstream in(readFile(dir + "/cgroup.controllers"));
  std::string c;
  while (in >> c)
    if (c == "memory") return true;
  return false;
}

}  // namespace

uint64_t cgroupId(const std::string& dir) {
  struct stat st;
  return stat(dir.c_str(), &st) == 0 ? st.st_ino : 0;
}

llvm::Expected<Hierarchy> findMemoryHierarchy(const std::string& override) {
  if (!override.empty()) {
    std::error_code ec;
    if (!fs::is_directory(override, ec))
      return llvm::createStringError(std::errc::no_such_file_or_directory,
                                     "the cgroup root '%s' does not exist or is not a directory", override.c_str());
    std::string root = fs::canonical(override, ec).string();
    return Hierarchy{root, isCgroup2(root) ? CgroupVersion::V2 : CgroupVersion::V1};
  }
  for (const char* candidate : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"})
    if (isCgroup2(candidate) && hasMemoryController(candidate)) return Hierarchy{candidate, CgroupVersion::V2};
  if (fs::exists("/sys/fs/cgroup/memory/memory.usage_in_bytes"))
    return Hierarchy{"/sys/fs/cgroup/memory", CgroupVersion::V1};
  return llvm::createStringError(std::errc::no_such_file_or_directory,
                                 "no memory cgroup hierarchy found (neither cgroup v2 with the memory controller "
                                 "nor a v1 memory mount); pass --cgroup-root");
}

namespace {

// Depth first, pre-order, with the directory's fd in hand: openat and
// fstatat on names, no path objects. This runs every interval over every
// cgroup (a v1 cgroup directory also holds some 30 files), and was most of
// mmrun's CPU time with std::filesystem (bench/RESULTS.md, footprint).
void listBelow(int dirFd, const std::string& dir, size_t rootLen, std::vector<Cgroup>& out) {
  DIR* d = fdopendir(dirFd);
  if (!d) {
    close(dirFd);
    return;
  }
  while (struct dirent* e = readdir(d)) {
    if (e->d_type != DT_DIR || std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    int child = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (child < 0) continue;  // gone since readdir, or not ours to read
    struct stat st;
    if (fstat(child, &st) != 0) {
      close(child);
      continue;
    }
    std::string path = dir + "/" + e->d_name;
    out.push_back({st.st_ino, path.substr(rootLen), path});
    listBelow(child, path, rootLen, out);
  }
  closedir(d);
}

}  // namespace

std::vector<Cgroup> listCgroups(const Hierarchy& h) {
  std::vector<Cgroup> out{{cgroupId(h.root), "/", h.root}};
  int fd = open(h.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) listBelow(fd, h.root == "/" ? "" : h.root, h.root == "/" ? 0 : h.root.size(), out);
  return out;
}

std::string ownCgroup(const Hierarchy& h) {
  // /proc/self/cgroup: "0::/path" (v2) or "N:memory:/path" (v1).
  std::istringstream in(readFile("/proc/self/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1);
    bool match = h.version == CgroupVersion::V2 ? controllers.empty()
                                                : ("," + controllers + ",").find(",memory,") != std::string::npos;
    if (match) return line.substr(b + 1);
  }
  return "";
}

}  // namespace mmp::runtime

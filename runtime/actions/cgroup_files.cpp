#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "abi/mmp_abi.h"
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

const char* usageFile(const Hierarchy& h) {
  return h.version == CgroupVersion::V2 ? "memory.current" : "memory.usage_in_bytes";
}

uint64_t cgroupUsage(const Hierarchy& h, const std::string& dir, HeldFiles* held) {
  HeldFiles none;  // holds nothing: its read opens the file
  return std::strtoull((held ? *held : none).read(dir, usageFile(h)).c_str(), nullptr, 10);
}

namespace {

std::optional<uint64_t> readNumber(const std::string& path) {
  std::ifstream in(path);
  uint64_t v = 0;
  if (!(in >> v)) return std::nullopt;
  return v;
}

}  // namespace

std::optional<uint64_t> cgroupSwap(const Hierarchy& h, const std::string& dir) {
  if (h.version == CgroupVersion::V2) return readNumber(dir + "/memory.swap.current");
  // v1 accounts memory and swap together (memsw), with swapaccount=1 only.
  auto both = readNumber(dir + "/memory.memsw.usage_in_bytes");
  auto memory = readNumber(dir + "/memory.usage_in_bytes");
  if (!both || !memory) return std::nullopt;
  return *both > *memory ? *both - *memory : 0;
}

std::optional<uint64_t> cgroupRequest(const Hierarchy& h, const std::string& dir) {
  if (h.version != CgroupVersion::V2) return std::nullopt;
  auto read = [&](const char* file) -> std::optional<uint64_t> {
    std::ifstream in(dir + "/" + file);
    std::string text;
    if (!(in >> text)) return std::nullopt;
    if (text == "max") return MMP_UNLIMITED;
    char* end = nullptr;
    uint64_t v = std::strtoull(text.c_str(), &end, 10);
    return end && *end == '\0' ? std::optional<uint64_t>(v) : std::nullopt;
  };
  auto min = read("memory.min");
  if (!min) return std::nullopt;
  if (*min) return min;
  return read("memory.low");
}

std::optional<uint64_t> cgroupPgscan(const Hierarchy& h, const std::string& dir) {
  if (h.version != CgroupVersion::V2) return std::nullopt;  // v1's memory.stat has no pgscan
  std::ifstream in(dir + "/memory.stat");
  std::string key;
  uint64_t value;
  while (in >> key >> value)
    if (key == "pgscan") return value;
  return std::nullopt;
}

std::optional<double> cgroupPressure(const Hierarchy& h, const std::string& dir) {
  if (h.version != CgroupVersion::V2) return std::nullopt;
  // "full avg10=1.23 avg60=4.56 avg300=0.00 total=12345"
  std::ifstream in(dir + "/memory.pressure");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("full ", 0) != 0) continue;
    double avg10 = 0, avg60 = 0;
    if (std::sscanf(line.c_str(), "full avg10=%lf avg60=%lf", &avg10, &avg60) != 2) return std::nullopt;
    return avg10 / 2 + avg60 / 2;
  }
  return std::nullopt;
}

bool hasProcesses(const std::string& dir) {
  // One read of a few bytes: a kill checks every candidate leaf with it.
  int fd = open((dir + "/cgroup.procs").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char digit = 0;
  ssize_t n = read(fd, &digit, 1);
  close(fd);
  return n == 1 && digit >= '0' && digit <= '9';
}

bool populated(const std::string& dir, HeldFiles* held) {
  // cgroup v2 says it in one line; v1 has no cgroup.events: look below.
  HeldFiles none;  // holds nothing: its read opens the file
  std::istringstream in((held ? *held : none).read(dir, "cgroup.events"));
  std::string key;
  int value = 0;
  while (in >> key >> value)
    if (key == "populated") return value != 0;
  if (hasProcesses(dir)) return true;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (e.is_directory(ec) && hasProcesses(e.path().string())) return true;
  return false;
}

double cgroupAge(const std::string& dir) {
  // kernfs sets a directory's ctime when the cgroup is made.
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) return 0;
  double born = static_cast<double>(st.st_ctim.tv_sec) + static_cast<double>(st.st_ctim.tv_nsec) / 1e9;
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return std::max(0.0, now - born);
}

}  // namespace mmp::runtime

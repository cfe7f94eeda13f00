// The files a kill reads of each candidate cgroup, held open from the
// moment the cgroup is listed. When memory runs out, every open() costs
// the kernel allocations (a struct file, the seq_file's page) that may
// stall in reclaim, while a pread() at offset 0 of a file already open
// reuses its buffer: a kill that reads 60 candidates' usage then pays 60
// preads, not 60 opens (bench/RESULTS.md, "the kill path's files").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mmp::runtime {

class HeldFiles {
public:
  HeldFiles() = default;
  HeldFiles(const HeldFiles&) = delete;
  HeldFiles& operator=(const HeldFiles&) = delete;
  ~HeldFiles();

  // Holds each of `names` of each directory in `dirs` open and closes
  // those of directories no longer given; at most kMaxHeld files (beyond,
  // a read opens the file as it would without this).
  void hold(const std::vector<std::string>& dirs, const std::vector<std::string>& names);
  // The start of DIR/NAME (at most 4 KiB): through the held file when there
  // is one, else opened for this read (and held from now with `keep`).
  // Empty when it cannot be read.
  std::string read(const std::string& dir, const std::string& name, bool keep = false);
  // The files of /proc mmrun reads at every tick (/proc/meminfo), held
  // for the life of the process.
  static HeldFiles& proc();
  size_t size() const { return fds_.size(); }

  static constexpr size_t kMaxHeld = 8192;

private:
  std::map<std::string, int> fds_;  // DIR/NAME -> its descriptor
};

}  // namespace mmp::runtime

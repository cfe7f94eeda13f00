// `mmrun load --policy-dir DIR`: the objects a directory holds, and word
// when that may have changed. A ConfigMap volume is the case it is made
// for: the kubelet writes a new timestamped directory and swaps the
// `..data` link to it, and each `NAME.bpf.o` is a link through `..data`;
// a plain directory takes files copied or moved in. Every change is seen
// as an inotify event on DIR itself, and the daemon then lists it again
// and compares each object's digest with the one it runs.
#pragma once

#include <string>
#include <vector>

namespace mmp::runtime {

class PolicyDir {
public:
  explicit PolicyDir(std::string dir);
  ~PolicyDir();
  PolicyDir(const PolicyDir&) = delete;
  PolicyDir& operator=(const PolicyDir&) = delete;

  const std::string& path() const { return dir_; }
  int fd() const { return fd_; }
  // Why DIR cannot be watched (empty when it is): then the daemon lists
  // it at every interval instead.
  const std::string& error() const { return error_; }
  // Reads the pending events; true if any may have changed the listing.
  bool drain();
  // DIR's `*.bpf.o` that are regular files (through links), by name;
  // names beginning with a dot (the kubelet's own, editors' temporaries)
  // are not policies.
  std::vector<std::string> list() const;

private:
  std::string dir_, error_;
  int fd_ = -1;
};

}  // namespace mmp::runtime

// `mmrun status`: a running mmrun answers on a unix socket with its
// policies' uptime and per-rule counters (JSON); `mmrun status` asks every
// running mmrun and prints the answers.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace mmp::runtime {

// The directory where each running mmrun listens (`POLICY.sock`; a second
// mmrun of the same policy: `POLICY.PID.sock`; a name too long for a socket
// address: its start and a hash of it).
std::string statusDirectory();

// Why `dir` is not to be trusted (not a directory, another user's, writable
// by others), or nothing.
std::optional<std::string> untrustedDirectory(const std::string& dir);

class StatusServer {
public:
  // Listens on statusDirectory()/NAME.sock (or `path` when given), mode
  // 0600 in a directory of mode 0700 (made so whatever the umask). A
  // socket another live mmrun listens on is never taken over.
  StatusServer(const std::string& name, const std::string& path);
  ~StatusServer();
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // Why it does not listen (empty when it does).
  const std::string& error() const { return error_; }
  // Answers one waiting client with `report()`.
  void serve(const std::function<nlohmann::json()>& report);

private:
  int fd_ = -1;
  std::string path_, error_;
  dev_t dev_ = 0;  // the socket's inode: removed at exit only if still ours
  ino_t ino_ = 0;
};

int runStatus(const std::string& socketPath, bool json);

}  // namespace mmp::runtime

// `mmrun status`: a running mmrun answers on a unix socket with its
// policies' uptime and per-rule counters (JSON); `mmrun status` asks every
// running mmrun and prints the answers.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace mmp::runtime {

// The directory where each running mmrun listens (`POLICY.sock`).
std::string statusDirectory();

class StatusServer {
public:
  // Listens on statusDirectory()/NAME.sock (or `path` when given).
  StatusServer(const std::string& name, const std::string& path);
  ~StatusServer();
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // Answers one waiting client with `report()`.
  void serve(const std::function<nlohmann::json()>& report);

private:
  int fd_ = -1;
  std::string path_;
};

int runStatus(const std::string& socketPath, bool json);

}  // namespace mmp::runtime

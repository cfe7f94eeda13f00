#include "status.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>

namespace mmp::runtime {

namespace fs = std::filesystem;

std::string statusDirectory() {
  if (const char* env = getenv("MMRUN_STATUS_DIR"); env && *env) return env;
  return geteuid() == 0 ? "/run/mmrun" : "/tmp/mmrun-" + std::to_string(geteuid());
}

StatusServer::StatusServer(const std::string& name, const std::string& path) {
  path_ = path.empty() ? statusDirectory() + "/" + name + ".sock" : path;
  std::error_code ec;
  fs::create_directories(fs::path(path_).parent_path(), ec);
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
  unlink(path_.c_str());
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd_, 8) != 0) {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
}

StatusServer::~StatusServer() {
  if (fd_ < 0) return;
  close(fd_);
  unlink(path_.c_str());
}

void StatusServer::serve(const std::function<nlohmann::json()>& report) {
  int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0) return;
  std::string text = report().dump() + "\n";
  for (size_t put = 0; put < text.size();) {
    ssize_t n = write(client, text.data() + put, text.size() - put);
    if (n <= 0) break;
    put += n;
  }
  close(client);
}

namespace {

std::optional<nlohmann::json> ask(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) close(fd);
    return std::nullopt;
  }
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, n);
  close(fd);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

void printText(const nlohmann::json& s) {
  std::cout << fmt::format("policy {} ({}), up {} s{}\n", s.value("policy", "?"), s.value("object", ""),
                           s.value("uptime_s", 0), s.value("dry_run", false) ? ", dry run" : "");
  std::cout << fmt::format("  {:<16} {:>11} {:>8} {:>7} {:>8} {:>7} {:>8} {:>8}\n", "rule", "evaluations", "firings",
                           "dropped", "enacted", "failed", "overrul.", "supers.");
  for (const auto& r : s.value("rules", nlohmann::json::array()))
    std::cout << fmt::format("  {:<16} {:>11} {:>8} {:>7} {:>8} {:>7} {:>8} {:>8}\n", r.value("location", ""),
                             r.value("evaluations", 0), r.value("firings", 0), r.value("dropped_decisions", 0),
                             r.value("enacted", 0), r.value("failed", 0), r.value("overruled", 0),
                             r.value("superseded", 0));
  for (const auto& note : s.value("not_attached", nlohmann::json::array()))
    std::cout << "  not attached: " << note.get<std::string>() << "\n";
}

}  // namespace

int runStatus(const std::string& socketPath, bool json) {
  std::vector<std::string> sockets;
  if (!socketPath.empty()) {
    sockets.push_back(socketPath);
  } else {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(statusDirectory(), ec))
      if (e.path().extension() == ".sock") sockets.push_back(e.path().string());
  }
  std::sort(sockets.begin(), sockets.end());
  nlohmann::json all = nlohmann::json::array();
  // Each mmrun answers with its policies (an array; one object from older ones).
  for (const auto& s : sockets)
    if (auto answer = ask(s)) {
      if (answer->is_array())
        for (auto& p : *answer) all.push_back(p);
      else all.push_back(*answer);
    }
  if (all.empty()) {
    std::cerr << fmt::format("mmrun: no running mmrun answers{}\n",
                             socketPath.empty() ? " in " + statusDirectory() : " on " + socketPath);
    return 1;
  }
  if (json) std::cout << all.dump(2) << "\n";
  else
    for (const auto& s : all) printText(s);
  return 0;
}

}  // namespace mmp::runtime

#include "status.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>

#include "text_escape.h"

namespace mmp::runtime {

namespace fs = std::filesystem;

std::string statusDirectory() {
  if (const char* env = getenv("MMRUN_STATUS_DIR"); env && *env) return env;
  return geteuid() == 0 ? "/run/mmrun" : "/tmp/mmrun-" + std::to_string(geteuid());
}

std::optional<std::string> untrustedDirectory(const std::string& dir) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) return std::string(std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return std::string("it is not a directory");
  if (st.st_uid != geteuid() && st.st_uid != 0)
    return fmt::format("it is owned by uid {}, not by uid {}", st.st_uid, geteuid());
  if (st.st_mode & 022) return fmt::format("it is writable by others (mode {:o})", st.st_mode & 07777);
  return std::nullopt;
}

namespace {

constexpr size_t kSunPath = sizeof(sockaddr_un::sun_path);

// NAME.sock, or, where that would not fit in a socket address, as much of
// the name as fits and a hash of the whole: never a truncated path.
std::string socketName(const std::string& dir, const std::string& name, const std::string& suffix) {
  std::string plain = name + suffix + ".sock";
  if (dir.size() + 1 + plain.size() < kSunPath) return plain;
  std::string hash = fmt::format("-{:016x}", std::hash<std::string>{}(name));
  size_t room = kSunPath - 1 - dir.size() - 1 - hash.size() - suffix.size() - 5;
  if (room > kSunPath) room = 0;  // the directory alone is too long
  return name.substr(0, room) + hash + suffix + ".sock";
}

sockaddr_un addressOf(const std::string& path) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), std::min(path.size(), kSunPath - 1));
  return addr;
}

// Whether a running mmrun listens at `path`.
bool answers(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = addressOf(path);
  bool ok = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

}  // namespace

StatusServer::StatusServer(const std::string& name, const std::string& path) {
  std::string dir = path.empty() ? statusDirectory() : fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  // The directory: made 0700 whatever the umask, or one of ours already.
  if (mkdir(dir.c_str(), 0700) == 0) chmod(dir.c_str(), 0700);
  if (auto why = untrustedDirectory(dir)) {
    error_ = fmt::format("status: not listening in {}: {}", dir, *why);
    return;
  }
  path_ = path.empty() ? dir + "/" + socketName(dir, name, "") : path;
  if (path_.size() >= kSunPath) {
    error_ = fmt::format("status: the socket path {} is longer than {} bytes", path_, kSunPath - 1);
    return;
  }
  // A live mmrun's socket is never taken over: this one gets another name
  // (or, given with --socket, none).
  if (answers(path_)) {
    if (!path.empty()) {
      error_ = fmt::format("status: another mmrun listens on {}", path_);
      return;
    }
    path_ = dir + "/" + socketName(dir, name, fmt::format(".{}", getpid()));
  }
  struct stat st {};
  if (lstat(path_.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
    error_ = fmt::format("status: {} exists and is not a socket", path_);
    return;
  }
  unlink(path_.c_str());  // a socket left by an mmrun that died
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un addr = addressOf(path_);
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || chmod(path_.c_str(), 0600) != 0 ||
      lstat(path_.c_str(), &st) != 0 || listen(fd_, 8) != 0) {
    error_ = fmt::format("status: cannot listen on {}: {}", path_, std::strerror(errno));
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    return;
  }
  dev_ = st.st_dev;
  ino_ = st.st_ino;
}

StatusServer::~StatusServer() {
  if (fd_ < 0) return;
  close(fd_);
  // Only our own socket: another mmrun may have replaced a stale name.
  struct stat st {};
  if (lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) unlink(path_.c_str());
}

void StatusServer::serve(const std::function<nlohmann::json()>& report) {
  int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0) return;
  // A client that closes at once (another mmrun looking for a free name)
  // must not kill the daemon with SIGPIPE, nor one that never reads block it.
  struct timeval timeout {0, 200'000};
  setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  std::string text = report().dump() + "\n";
  for (size_t put = 0; put < text.size();) {
    ssize_t n = send(client, text.data() + put, text.size() - put, MSG_NOSIGNAL);
    if (n <= 0) break;
    put += n;
  }
  close(client);
}

namespace {

std::optional<nlohmann::json> ask(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = addressOf(path);
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

// Another process's words: escaped before they reach a terminal.
std::string text(const nlohmann::json& j, const char* key, const char* otherwise = "") {
  auto it = j.find(key);
  return escapeText(it != j.end() && it->is_string() ? it->get<std::string>() : otherwise);
}

void printText(const nlohmann::json& s) {
  std::cout << fmt::format("policy {} ({}), up {} s{}\n", text(s, "policy", "?"), text(s, "object"),
                           s.value("uptime_s", 0), s.value("dry_run", false) ? ", dry run" : "");
  std::cout << fmt::format("  {:<16} {:>11} {:>8} {:>7} {:>8} {:>7} {:>8} {:>8} {:>9}\n", "rule", "evaluations",
                           "firings", "dropped", "enacted", "failed", "overrul.", "supers.", "no victim");
  for (const auto& r : s.value("rules", nlohmann::json::array()))
    std::cout << fmt::format("  {:<16} {:>11} {:>8} {:>7} {:>8} {:>7} {:>8} {:>8} {:>9}\n", text(r, "location"),
                             r.value("evaluations", 0), r.value("firings", 0), r.value("dropped_decisions", 0),
                             r.value("enacted", 0), r.value("failed", 0), r.value("overruled", 0),
                             r.value("superseded", 0), r.value("no_victim", 0));
  if (uint64_t dropped = s.value("log_records_dropped", uint64_t{0}))
    std::cout << fmt::format("  log records dropped: {} (stdout did not keep up)\n", dropped);
  for (const auto& note : s.value("not_attached", nlohmann::json::array()))
    std::cout << "  not attached: " << escapeText(note.is_string() ? note.get<std::string>() : "") << "\n";
  // The last decisions, each with what became of it and why.
  const auto recent = s.value("recent", nlohmann::json::array());
  if (!recent.empty()) std::cout << "  last decisions:\n";
  for (const auto& d : recent) {
    std::string line = fmt::format("    {} {} {} {} {}", text(d, "time"), text(d, "rule"), text(d, "cgroup"),
                                   text(d, "action"), text(d, "outcome"));
    if (d.contains("detail")) line += " (" + text(d, "detail") + ")";
    std::cout << line << "\n";
    for (const auto& c : d.value("candidates", nlohmann::json::array())) {
      std::string row = "      " + text(c, "candidate");
      if (c.contains("key")) row += " " + text(c, "key") + "=" + text(c, "value");
      std::cout << row << " " << text(c, "verdict") << "\n";
    }
    if (d.value("candidates_omitted", 0) > 0)
      std::cout << fmt::format("      and {} more\n", d.value("candidates_omitted", 0));
  }
}

}  // namespace

int runStatus(const std::string& socketPath, bool json) {
  std::vector<std::string> sockets;
  if (!socketPath.empty()) {
    sockets.push_back(socketPath);
  } else {
    // Only a directory of our own (or root's), that no one else can write
    // to: another user could make /tmp/mmrun-UID first and answer in it.
    std::string dir = statusDirectory();
    struct stat st {};
    if (lstat(dir.c_str(), &st) == 0)
      if (auto why = untrustedDirectory(dir)) {
        std::cerr << fmt::format("mmrun: error: refusing the status directory {}: {}\n", escapeText(dir), *why);
        return 1;
      }
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".sock" && e.is_socket(ec)) sockets.push_back(e.path().string());
  }
  std::sort(sockets.begin(), sockets.end());
  nlohmann::json all = nlohmann::json::array();
  size_t answered = 0;
  // Each mmrun answers with its policies (an array; one object from older ones).
  for (const auto& s : sockets)
    if (auto answer = ask(s)) {
      ++answered;
      if (answer->is_array())
        for (auto& p : *answer) all.push_back(p);
      else all.push_back(*answer);
    }
  // A daemon of --policy-dir whose directory holds no policy yet answers
  // with none: it runs, and says so.
  if (all.empty() && answered > 0) {
    if (json) std::cout << "[]\n";
    else std::cout << fmt::format("{} running mmrun{} answered: no policy loaded (an empty --policy-dir?)\n", answered,
                                  answered == 1 ? "" : "s");
    return 0;
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

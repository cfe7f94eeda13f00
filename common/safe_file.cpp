#include "safe_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <random>

namespace mmp {

namespace {

std::string errnoText() { return std::strerror(errno); }

std::string randomName(const std::string& base) {
  static std::mt19937_64 gen{std::random_device{}()};
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(gen()));
  return "." + base + "." + suffix + ".tmp";
}

// A link the caller may follow: its own, or root's (/dev/stdout). Another
// user's link in a shared directory is the attack.
bool trustedLink(const struct stat& st) { return st.st_uid == geteuid() || st.st_uid == 0; }

}  // namespace

ReplacementFile::~ReplacementFile() {
  if (!committed_ && !tmpName_.empty() && dirFd_ >= 0) unlinkat(dirFd_, tmpName_.c_str(), 0);
  if (fd_ >= 0) close(fd_);
  if (dirFd_ >= 0) close(dirFd_);
}

bool ReplacementFile::fail(const std::string& what) {
  error_ = what;
  return false;
}

bool ReplacementFile::open(const std::string& path, bool allowSpecial) {
  path_ = path;
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  base_ = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base_.empty() || base_ == "." || base_ == "..") return fail("not a file name");
  dirFd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd_ < 0) return fail(errnoText());

  struct stat st {};
  bool exists = fstatat(dirFd_, base_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (!exists && errno != ENOENT) return fail(errnoText());
  if (exists && S_ISLNK(st.st_mode)) {
    if (!trustedLink(st))
      return fail("it is a symbolic link owned by uid " + std::to_string(st.st_uid) +
                  ": refusing to write through another user's link (remove it first)");
    char target[PATH_MAX];
    if (!realpath(path.c_str(), target)) return fail("it is a symbolic link whose target cannot be resolved");
    close(dirFd_);
    dirFd_ = -1;
    return open(target, allowSpecial);
  }
  if (exists && !S_ISREG(st.st_mode)) {
    if (!allowSpecial || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) return fail("it is not a regular file");
    fd_ = openat(dirFd_, base_.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    inPlace_ = committed_ = fd_ >= 0;
    return fd_ >= 0 || fail(errnoText());
  }

  // The new file: nameless where the file system can, else a fresh name.
  mode_t mode = exists ? 0600 : 0666;  // a new file: the umask applies
  fd_ = openat(dirFd_, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
  anonymous_ = fd_ >= 0;
  for (int tries = 0; fd_ < 0 && tries < 16; ++tries) {
    tmpName_ = randomName(base_);
    fd_ = openat(dirFd_, tmpName_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd_ < 0 && errno != EEXIST) break;
  }
  if (fd_ < 0) {
    tmpName_.clear();
    return fail(errnoText());
  }
  if (!exists) return true;
  // The replaced file's owner and mode (chown first: it clears set-id bits).
  if ((st.st_uid != geteuid() || st.st_gid != getegid()) && fchown(fd_, st.st_uid, st.st_gid) != 0)
    return fail("cannot keep its owner: " + errnoText());
  if (fchmod(fd_, st.st_mode & 07777) != 0) return fail("cannot keep its mode: " + errnoText());
  return true;
}

bool ReplacementFile::write(const std::string& data) {
  for (size_t put = 0; put < data.size();) {
    ssize_t n = ::write(fd_, data.data() + put, data.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(errnoText());
    put += static_cast<size_t>(n);
  }
  return true;
}

// An O_TMPFILE file gets a fresh name first; the rename then replaces.
bool ReplacementFile::linkTemporary() {
  std::string proc = "/proc/self/fd/" + std::to_string(fd_);
  for (int tries = 0; tries < 16; ++tries) {
    tmpName_ = randomName(base_);
    if (linkat(AT_FDCWD, proc.c_str(), dirFd_, tmpName_.c_str(), AT_SYMLINK_FOLLOW) == 0) return true;
    if (errno != EEXIST) break;
  }
  tmpName_.clear();
  return fail("cannot name the new file: " + errnoText());
}

bool ReplacementFile::commit() {
  if (committed_) return true;
  if (fsync(fd_) != 0) return fail(errnoText());
  if (anonymous_ && !linkTemporary()) return false;
  if (renameat(dirFd_, tmpName_.c_str(), dirFd_, base_.c_str()) != 0) return fail(errnoText());
  committed_ = true;
  return true;
}

bool readRegularFile(const std::string& path, size_t maxBytes, std::string& text, std::string& error) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    error = errnoText();
    return false;
  }
  struct stat st {};
  auto done = [&](const std::string& why) {
    close(fd);
    error = why;
    return why.empty();
  };
  if (fstat(fd, &st) != 0) return done(errnoText());
  if (S_ISDIR(st.st_mode)) return done("is a directory");
  if (!S_ISREG(st.st_mode)) return done("is not a regular file (a FIFO, a socket or a device)");
  auto tooLarge = [&] { return "is larger than the limit of " + std::to_string(maxBytes) + " bytes"; };
  if (static_cast<uint64_t>(st.st_size) > maxBytes) return done(tooLarge());
  text.clear();
  text.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return done(errnoText());
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > maxBytes) return done(tooLarge());  // it grew meanwhile
    text.append(buf, static_cast<size_t>(n));
  }
  return done("");
}

}  // namespace mmp

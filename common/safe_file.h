// Writing files as root where another user may have planted a link: mmpc
// and mmrun never open an existing name for writing. A new file is made
// beside the target (O_TMPFILE, or a fresh name with O_EXCL), given the
// owner and mode of the file it replaces, and renamed over it: a symbolic
// or hard link at the target is replaced, never written through.
#pragma once

#include <string>

namespace mmp {

class ReplacementFile {
public:
  ReplacementFile() = default;
  ReplacementFile(const ReplacementFile&) = delete;
  ReplacementFile& operator=(const ReplacementFile&) = delete;
  ~ReplacementFile();  // not committed: the new file is removed

  // Prepares to replace `path`. A path that names a symbolic link owned by
  // another user than the caller or root is refused, as is one that names
  // neither a regular file nor nothing (a directory, a device); such a
  // target is written in place only when `allowSpecial` (/dev/null, a
  // FIFO), opened without following links. Returns false and sets error().
  bool open(const std::string& path, bool allowSpecial = false);
  int fd() const { return fd_; }
  // Writes all of `data`; false and error() on failure.
  bool write(const std::string& data);
  // Puts the new file at the path (rename over the old one). The file
  // stays open: a trace goes on writing to it.
  bool commit();
  const std::string& error() const { return error_; }

private:
  bool fail(const std::string& what);
  bool linkTemporary();

  int dirFd_ = -1, fd_ = -1;
  std::string path_, base_, tmpName_, error_;
  bool anonymous_ = false, committed_ = false, inPlace_ = false;
};

// Reads `path`, which must be a regular file of at most `maxBytes` (a FIFO,
// a device or /dev/zero are refused before any read). Returns false and an
// error message.
bool readRegularFile(const std::string& path, size_t maxBytes, std::string& text, std::string& error);

}  // namespace mmp

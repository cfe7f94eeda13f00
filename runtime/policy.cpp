#include "policy.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <vector>
#include <sys/stat.h>

#include <filesystem>

#include "abi/mmp_abi.h"
#include "kernel_kill.h"
#include "object_check.h"
#include "verifier_log.h"
#include "abi/mmp_record.h"

namespace mmp::runtime {

namespace {

// The snapshot ring buffer while recording: room for a walk of some
// 50,000 cgroups of a 40-field policy between two drains.
constexpr uint32_t kRecordRingBytes = 16 << 20;

llvm::Error fail(const std::string& what) {
  return llvm::createStringError(std::errc::invalid_argument, "%s", what.c_str());
}

// libbpf reports a failed CO-RE relocation in its log; keep the last lines
// so the error can name the field.
std::string& lastLibbpfLog() {
  static std::string log;
  return log;
}

int captureLog(enum libbpf_print_level level, const char* fmt, va_list args) {
  // Whole: the verifier's log comes as one message, with the failed
  // relocation at its end.
  va_list again;
  va_copy(again, args);
  int n = vsnprintf(nullptr, 0, fmt, args);
  std::string line(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) vsnprintf(line.data(), line.size() + 1, fmt, again);
  va_end(again);
  if (line.find("CO-RE") != std::string::npos || line.find("relo") != std::string::npos ||
      level == LIBBPF_WARN)
    lastLibbpfLog() += line;
  if (level == LIBBPF_WARN && getenv("MMRUN_VERBOSE")) fputs(line.c_str(), stderr);
  return 0;
}

}  // namespace

Policy::~Policy() {
  // A clean stop takes the pins away too: only a crash leaves them.
  for (auto* l : links_)
    if (bpf_link__pin_path(l)) bpf_link__unpin(l);
  if (!pinDir_.empty()) rmdir(pinDir_.c_str());
  for (auto* l : links_) bpf_link__destroy(l);
  if (iter_) bpf_link__destroy(iter_);
  if (obj_) bpf_object__close(obj_);
  if (rootFd_ >= 0) close(rootFd_);
}

llvm::Expected<std::unique_ptr<Policy>> Policy::load(const std::string& path, const Hierarchy& h,
                                                     const PolicyOptions& o) {
  auto p = openObject(path, o);
  if (!p) return p.takeError();
  if (auto err = (*p)->attach(h)) return err;
  return p;
}

llvm::Expected<std::unique_ptr<Policy>> Policy::loadDetached(const std::string& path) { return openObject(path, {}); }

llvm::Expected<std::unique_ptr<Policy>> Policy::openObject(const std::string& path, const PolicyOptions& o) {
  auto manifest = readManifest(path);
  if (!manifest) return manifest.takeError();
  // libbpf 1.1.2 crashes on some malformed objects (in its open, and in
  // its CO-RE relocation once the kernel refused the BTF): the layout is
  // checked here, and the whole open and load is tried in a child process
  // first, with its hash maps and ring buffers shrunk.
  if (auto err = checkElfLayout(path)) return err;
  auto p = std::unique_ptr<Policy>(new Policy());
  p->path_ = path;
  p->manifest_ = std::move(*manifest);
  if (auto err = probeInChild(path, [&] {
        llvm::Error loaded = p->openAndLoad(o, /*probe=*/true);
        bool ok = !loaded;
        llvm::consumeError(std::move(loaded));
        return ok;
      }))
    return err;
  if (auto err = p->openAndLoad(o)) return err;
  return p;
}

llvm::Error Policy::openAndLoad(const PolicyOptions& o, bool probe) {
  const std::string& path = path_;
  libbpf_set_print(captureLog);
  // A signal during verification makes the kernel give up with EAGAIN
  // (the daemon blocks them while it reloads): tried again, a few times.
  constexpr int kTries = 3;
  for (int attempt = 1;; ++attempt) {
    lastLibbpfLog().clear();
    obj_ = bpf_object__open_file(path.c_str(), nullptr);
    if (!obj_) return fail(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
    if (o.record) {
      struct bpf_map* snapshots = map(MMP_MAP_SNAPSHOTS);
      if (!snapshots)
        return fail(fmt::format("'{}' cannot record: it has no snapshot channel (its policy has no `when` rule, or "
                                "an older mmpc compiled it)",
                                path));
      bpf_map__set_max_entries(snapshots, kRecordRingBytes);
      if (int err = mmp_set_recording(obj_, 1))
        return fail(fmt::format("cannot switch the snapshot channel of '{}' on: {}", path, std::strerror(-err)));
    }
    // One of the reclaim hook's two programs (kernel_kill.h).
    killPath_ = chooseKillPath(obj_, o.kernelKills);
    if (struct bpf_map* state = map(MMP_MAP_STATE); state && o.stateRows && o.stateRows < bpf_map__max_entries(state))
      bpf_map__set_max_entries(state, o.stateRows);
    // memory.stat's counters: their slots on this kernel (stat_slots.h).
    if (auto err = setSlots(obj_, manifest_.slots)) return err;
    if (probe) prepareProbe(obj_);
    int err = bpf_object__load(obj_);
    if (!err) return llvm::Error::success();
    if (err == -EAGAIN && attempt < kTries) {
      bpf_object__close(obj_);
      obj_ = nullptr;
      continue;
    }
    if (err == -EAGAIN)
      return fail(fmt::format("the kernel's load of '{}' was interrupted {} times (EAGAIN: a signal during "
                              "verification); try again",
                              path, kTries));
    return loadError(lastLibbpfLog(), err);
  }
}

llvm::Error Policy::loadError(const std::string& log, int err) const {
  std::string field;
  // "failed to resolve CO-RE relocation <byte_off> [12] struct mem_cgroup.memory_events ..."
  // (earlier lines name the candidates libbpf tried: "[197] struct mm_struct (0:0 ...")
  size_t failed = log.find("failed to resolve CO-RE relocation");
  if (size_t at = failed == std::string::npos ? std::string::npos : log.find("struct ", failed);
      at != std::string::npos)
    field = log.substr(at, log.find_first_of(" (\n", at + 7) - at);
  if (!field.empty())
    return fail(fmt::format("'{}' reads `{}`, which the running kernel does not have (CO-RE relocation failed); "
                            "compile the policy for this kernel",
                            path_, field));
  return fail(fmt::format("the kernel refused '{}': {}", path_, verifierVerdict(log, -err)));
}

llvm::Error Policy::attach(const Hierarchy& h) {
  rootFd_ = open(h.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootFd_ < 0) return fail(fmt::format("cannot open the cgroup root '{}': {}", h.root, std::strerror(errno)));
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, obj_) {
    std::string name = bpf_program__name(prog);
    if (name == MMP_PROG_REPLAY) continue;  // run on demand, never attached
    if (!bpf_program__autoload(prog)) continue;  // the other of two ways (kernel_kill.h)
    if (name == MMP_PROG_TICK) {
      union bpf_iter_link_info info;
      std::memset(&info, 0, sizeof info);
      info.cgroup.cgroup_fd = rootFd_;
      info.cgroup.order = BPF_CGROUP_ITER_DESCENDANTS_PRE;
      LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info, .link_info_len = sizeof info);
      iter_ = bpf_program__attach_iter(prog, &opts);
      if (!iter_) return fail(fmt::format("cannot attach `{}` to {}: {}", name, h.root, std::strerror(errno)));
      continue;
    }
    struct bpf_link* link = bpf_program__attach(prog);
    if (!link) {
      std::string section = bpf_program__section_name(prog), why = std::strerror(errno);
      std::string optional;
      for (const auto& p : manifest_.programs)
        if (p.section == section) optional = p.optional;
      if (optional.empty()) return fail(fmt::format("cannot attach `{}` ({}): {}", name, section, why));
      unattached_.push_back(fmt::format("`{}` ({}) is not attached ({}): {}", name, section, why, optional));
      continue;
    }
    links_.push_back(link);
    linkNames_.push_back(name);
  }
  return llvm::Error::success();
}

struct bpf_map* Policy::map(const char* name) const { return bpf_object__find_map_by_name(obj_, name); }

std::vector<ProgramStats> Policy::programStats() const {
  std::vector<ProgramStats> out;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, obj_) {
    int fd = bpf_program__fd(prog);
    if (fd < 0) continue;  // not loaded
    struct bpf_prog_info info {};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) continue;
    out.push_back({bpf_program__name(prog), info.run_cnt, info.run_time_ns});
  }
  return out;
}

int Policy::decisionsFd() const { return bpf_map__fd(map(MMP_MAP_DECISIONS)); }

int Policy::replay(const std::vector<uint64_t>& snapshot) {
  struct bpf_program* prog = bpf_object__find_program_by_name(obj_, MMP_PROG_REPLAY);
  if (!prog) return -ENOENT;
  LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = snapshot.data(),
              .ctx_size_in = static_cast<uint32_t>(snapshot.size() * sizeof(uint64_t)));
  return bpf_prog_test_run_opts(bpf_program__fd(prog), &run);
}

bool Policy::tick() {
  if (!iter_) return true;
  int fd = bpf_iter_create(bpf_link__fd(iter_));
  if (fd < 0) return false;
  char buf[256];
  while (read(fd, buf, sizeof buf) > 0) {
  }
  close(fd);
  return true;
}

// DIR/POLICY must be a directory of mmrun's own user, not a link, that no
// one else can write to: another user who owned it could rename and delete
// the pins.
namespace {

llvm::Error checkPinDirectory(const std::string& at) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(at).parent_path(), ec);  // DIR itself, if missing
  if (mkdir(at.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(fmt::format("cannot make the pin directory {}: {} (is it on a bpf file system?)", at,
                            std::strerror(errno)));
  struct stat st {};
  if (lstat(at.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return fail(fmt::format("the pin directory {} is not a directory", at));
  if (st.st_uid != geteuid())
    return fail(fmt::format("the pin directory {} is owned by uid {}, not by mmrun's uid {}: remove it", at,
                            st.st_uid, geteuid()));
  if (st.st_mode & 022)
    return fail(fmt::format("the pin directory {} is writable by others (mode {:o}): remove it", at,
                            st.st_mode & 07777));
  return llvm::Error::success();
}

}  // namespace

// DIR/POLICY/PROGRAM for each hook's link. A pin left by an mmrun that
// died is replaced: ours is attached already, so the hook has no gap.
llvm::Error Policy::pin(const std::string& dir) {
  std::string at = dir + "/" + manifest_.policy;
  if (auto err = checkPinDirectory(at)) return err;
  pinDir_ = at;  // ours: removed at a clean stop
  for (size_t i = 0; i < links_.size(); ++i) {
    std::string at = pinDir_ + "/" + linkNames_[i];
    unlink(at.c_str());
    if (int err = bpf_link__pin(links_[i], at.c_str()))
      return fail(fmt::format("cannot pin {}: {} (--pin needs a directory on a bpf file system, e.g. /sys/fs/bpf)", at,
                              std::strerror(-err)));
  }
  return llvm::Error::success();
}

}  // namespace mmp::runtime

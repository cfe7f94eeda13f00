// `mmrun check POLICY.bpf.o`: load every program into the kernel's
// verifier, print its size, unload. Nothing is attached.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cstring>
#include <iostream>

#include "commands.h"
#include "manifest.h"
#include "kernel_kill.h"
#include "object_check.h"
#include "verifier_log.h"

namespace mmp::runtime {

namespace {

// libbpf's own messages go to stderr only with --verbose: the verifier log
// of a failed load is printed in full either way.
bool verbose = false;
std::string warnings;  // for the one-line verdict
int libbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG && !verbose) return 0;
  if (level == LIBBPF_INFO && !verbose) return 0;
  va_list again;
  va_copy(again, args);
  char buf[4096];
  vsnprintf(buf, sizeof buf, fmt, again);
  va_end(again);
  if (level == LIBBPF_WARN) warnings += buf;
  return vfprintf(stderr, fmt, args);
}

}  // namespace

int runCheck(const std::string& path, bool beVerbose) {
  verbose = beVerbose;
  libbpf_set_print(libbpfPrint);
  auto manifest = readManifest(path);
  if (!manifest) {
    std::cerr << fmt::format("mmrun: error: {}\n", llvm::toString(manifest.takeError()));
    return 1;
  }
  // libbpf 1.1.2 crashes on some malformed objects: tried in a child first.
  llvm::Error malformed = checkElfLayout(path);
  if (!malformed)
    malformed = probeInChild(path, [&] {
      struct bpf_object* o = bpf_object__open_file(path.c_str(), nullptr);
      if (o) prepareProbe(o);
      if (o) chooseKillPath(o, true);
      return o && bpf_object__load(o) == 0;
    });
  if (malformed) {
    std::cerr << fmt::format("mmrun: error: {}\n", llvm::toString(std::move(malformed)));
    return 1;
  }
  struct bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
  if (!obj) {
    std::cerr << fmt::format("mmrun: error: cannot open '{}': {}\n", path, std::strerror(errno));
    return 1;
  }
  // The reclaim hook's copy with the kills `in kernel`, where it would run.
  std::string killPath = chooseKillPath(obj, true);
  // memory.stat's counters: their slots on this kernel, as `mmrun run` sets them.
  if (llvm::Error err = setSlots(obj, manifest->slots)) {
    std::cerr << fmt::format("mmrun: error: {}\n", llvm::toString(std::move(err)));
    bpf_object__close(obj);
    return 1;
  }
  if (int err = bpf_object__load(obj)) {
    std::cerr << fmt::format("mmrun: error: the kernel refused '{}': {}\n", path, verifierVerdict(warnings, -err));
    bpf_object__close(obj);
    return 1;
  }
  std::cout << fmt::format("policy {} ({}): loaded and verified\n", manifest->policy, path);
  if (!killPath.empty()) std::cout << fmt::format("  kills in kernel made by: {}\n", killPath);
  std::cout << fmt::format("  {:<26} {:<40} {:>8} {:>9}\n", "program", "section", "insns", "verified");
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    if (!bpf_program__autoload(prog)) continue;
    struct bpf_prog_info info;
    std::memset(&info, 0, sizeof info);
    uint32_t len = sizeof info;
    bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len);
    std::cout << fmt::format("  {:<26} {:<40} {:>8} {:>9}\n", bpf_program__name(prog), bpf_program__section_name(prog),
                             info.xlated_prog_len / 8, info.verified_insns);
  }
  bpf_object__close(obj);  // unloads: nothing stays behind
  return 0;
}

}  // namespace mmp::runtime

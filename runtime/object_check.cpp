#include "object_check.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace mmp::runtime {

namespace {

llvm::Error fail(const std::string& what) {
  return llvm::createStringError(std::errc::invalid_argument, "%s", what.c_str());
}

// Why the section at index `i` does not fit, or nothing.
std::optional<std::string> badSection(const GElf_Shdr& s, size_t i, size_t count, uint64_t fileSize) {
  if (s.sh_type != SHT_NOBITS && (s.sh_offset > fileSize || s.sh_size > fileSize - s.sh_offset))
    return fmt::format("section {} lies past the end of the file ({} bytes at {}, file {} bytes)", i, s.sh_size,
                       s.sh_offset, fileSize);
  if (s.sh_link >= count) return fmt::format("section {} links to section {}, of {}", i, s.sh_link, count);
  bool table = s.sh_type == SHT_SYMTAB || s.sh_type == SHT_REL || s.sh_type == SHT_RELA;
  size_t entry = s.sh_type == SHT_SYMTAB ? sizeof(Elf64_Sym) : s.sh_type == SHT_REL ? sizeof(Elf64_Rel) : sizeof(Elf64_Rela);
  if (table && (s.sh_entsize != entry || s.sh_size % entry != 0))
    return fmt::format("section {} is a table of {}-byte entries, {} bytes long", i, s.sh_entsize, s.sh_size);
  if ((s.sh_type == SHT_REL || s.sh_type == SHT_RELA) && s.sh_info >= count)
    return fmt::format("relocations of section {} apply to section {}, of {}", i, s.sh_info, count);
  return std::nullopt;
}

}  // namespace

llvm::Error checkElfLayout(const std::string& path) {
  if (elf_version(EV_CURRENT) == EV_NONE) return fail("libelf is unusable");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  struct stat st {};
  Elf* elf = fstat(fd, &st) == 0 ? elf_begin(fd, ELF_C_READ, nullptr) : nullptr;
  std::optional<std::string> why;
  GElf_Ehdr ehdr;
  size_t count = 0;
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr) || gelf_getclass(elf) != ELFCLASS64)
    why = "it is not a 64-bit ELF object";
  else if (ehdr.e_shoff > size || static_cast<uint64_t>(ehdr.e_shnum) * ehdr.e_shentsize > size - ehdr.e_shoff)
    why = "its section headers lie past its end (truncated?)";
  else if (ehdr.e_shentsize != sizeof(Elf64_Shdr) || elf_getshdrnum(elf, &count) != 0)
    why = "its section header table is malformed";
  for (size_t i = 1; !why && i < count; ++i) {
    GElf_Shdr shdr;
    Elf_Scn* scn = elf_getscn(elf, i);
    if (!scn || !gelf_getshdr(scn, &shdr)) why = fmt::format("section {} cannot be read", i);
    else why = badSection(shdr, i, count, size);
  }
  if (elf) elf_end(elf);
  close(fd);
  if (why) return fail(fmt::format("'{}' is malformed: {}", path, *why));
  return llvm::Error::success();
}

llvm::Error probeInChild(const std::string& path, const std::function<bool()>& open) {
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t child = fork();
  if (child < 0) return fail(fmt::format("cannot check '{}' in a child process: {}", path, std::strerror(errno)));
  if (child == 0) {
    // Nothing of the parent's is flushed or destroyed here.
    int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, STDERR_FILENO);
    _exit(open() ? 0 : 1);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0)
    if (errno != EINTR) return fail(fmt::format("cannot wait for the check of '{}': {}", path, std::strerror(errno)));
  if (WIFSIGNALED(status))
    return fail(fmt::format("'{}' is malformed: opening it crashed libbpf in a child process ({}); nothing was "
                            "loaded",
                            path, strsignal(WTERMSIG(status))));
  return llvm::Error::success();
}

void prepareProbe(struct bpf_object* obj) {
  // No program type: libbpf refuses each program at its load, before the
  // kernel is asked (bpf_object_load_prog's first test), after everything
  // that reads the object (the BTF, the maps, the CO-RE relocations).
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, obj) bpf_program__set_type(prog, BPF_PROG_TYPE_UNSPEC);
  struct bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    switch (bpf_map__type(map)) {
      case BPF_MAP_TYPE_HASH:
      case BPF_MAP_TYPE_LRU_HASH:
      case BPF_MAP_TYPE_PERCPU_HASH:
      case BPF_MAP_TYPE_LRU_PERCPU_HASH: bpf_map__set_max_entries(map, 1); break;
      case BPF_MAP_TYPE_RINGBUF: bpf_map__set_max_entries(map, static_cast<uint32_t>(sysconf(_SC_PAGESIZE))); break;
      default: break;
    }
  }
}

}  // namespace mmp::runtime

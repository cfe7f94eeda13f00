#include "manifest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstring>

#include "abi/mmp_abi.h"

namespace mmp::runtime {

namespace {

llvm::Error fail(const std::string& what) {
  return llvm::createStringError(std::errc::invalid_argument, "%s", what.c_str());
}

// The bytes of the named section, or nothing.
std::optional<std::string> sectionBytes(Elf* elf, const char* wanted) {
  size_t shstrndx;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return std::nullopt;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) continue;
    const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (!name || std::strcmp(name, wanted) != 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || !data->d_buf) return std::string();
    return std::string(static_cast<const char*>(data->d_buf), data->d_size);
  }
  return std::nullopt;
}

}  // namespace

llvm::Expected<Manifest> readManifest(const std::string& path) {
  if (elf_version(EV_CURRENT) == EV_NONE) return fail("libelf is unusable");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  std::optional<std::string> text;
  bool isElf = elf && elf_kind(elf) == ELF_K_ELF;
  bool truncated = false;
  if (isElf) {
    // The section headers sit at the end: a cut file loses them first.
    GElf_Ehdr ehdr;
    struct stat st;
    truncated = gelf_getehdr(elf, &ehdr) && fstat(fd, &st) == 0 &&
                ehdr.e_shoff + static_cast<uint64_t>(ehdr.e_shnum) * ehdr.e_shentsize > static_cast<uint64_t>(st.st_size);
    if (!truncated) text = sectionBytes(elf, MMP_MANIFEST_SECTION);
  }
  if (elf) elf_end(elf);
  close(fd);
  if (!isElf) return fail(fmt::format("'{}' is not an ELF object file", path));
  if (truncated) return fail(fmt::format("'{}' is truncated: its section headers lie past its end", path));
  if (!text) return fail(fmt::format("'{}' has no {} section: it was not made by mmpc", path, MMP_MANIFEST_SECTION));
  Manifest m;
  try {
    m.json = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception&) {
    return fail(fmt::format("'{}': its manifest is not valid JSON (a damaged object?)", path));
  }
  if (!m.json.is_object() || !m.json.contains("format") || !m.json["format"].is_number_integer())
    return fail(fmt::format("'{}': its manifest has no format version", path));
  m.format = m.json["format"].get<int>();
  if (m.format != MMP_MANIFEST_FORMAT)
    return fail(fmt::format("'{}' has manifest format {}, but this mmrun knows format {}: compile it again with "
                            "the mmpc that comes with this mmrun",
                            path, m.format, MMP_MANIFEST_FORMAT));
  m.policy = m.json.value("policy", "");
  return m;
}

}  // namespace mmp::runtime

// The kernel's BTF: how a binding's access path maps onto the kernel's
// types, so code generation can describe exactly those types (with CO-RE
// relocations) and a member the kernel lacks is a compile error naming the
// field.
//
// Read in place, not with libbpf's btf__parse: that copies the 5.5 MB of
// the running kernel's BTF twice and indexes all its 126,000 types, about
// 10 ms, a third of a small compile. Here the file is mapped (sysfs maps
// /sys/kernel/btf/vmlinux since 6.16; elsewhere it is read), and types are
// indexed lazily, in id order, only as far as a lookup needs: the types a
// policy uses come early. libbpf's <bpf/btf.h> inline accessors still read
// the records.
#pragma once

#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct btf_type;

namespace mmp {

// One step of an access path.
struct BtfStep {
  enum Kind { Member, Index, Deref } kind = Member;
  uint32_t ownerType = 0;    // Member: the struct or union; Index: the array
  uint32_t memberIndex = 0;  // Member: index in the owner; Index: the element
  std::string name;          // Member: the member's name
  uint32_t byteOffset = 0;   // offset from the start of the owner
  uint32_t resultType = 0;   // the type reached, typedefs and modifiers skipped
};

// A struct to add to the kernel's types: its name and its members, each
// with its type's name (a struct added, a type of the kernel's, or either
// as `NAME[N]`). Members are laid out one after the other, aligned.
struct StructDecl {
  std::string name;
  std::vector<std::pair<std::string, std::string>> members;
};

class KernelBtf {
public:
  // `path` empty: the running kernel's (/sys/kernel/btf/vmlinux).
  static llvm::Expected<std::unique_ptr<KernelBtf>> load(const std::string& path);

  const std::string& path() const { return path_; }

  // The record of type `id`; an id past the last type reads as void.
  const struct btf_type* type(uint32_t id) const;
  // A string of the string section ("" when out of bounds).
  const char* str(uint32_t offset) const;

  std::optional<uint32_t> findStruct(const std::string& name) const;
  // Skips typedefs, const, volatile and restrict.
  uint32_t resolve(uint32_t id) const;
  bool isPointer(uint32_t id) const;
  bool isComposite(uint32_t id) const;
  bool isInteger(uint32_t id) const;
  bool isUnion(uint32_t id) const;
  uint32_t pointee(uint32_t id) const;
  uint32_t size(uint32_t id) const;
  std::string name(uint32_t id) const;

  // Adds structs the kernel's BTF lacks (another kernel's layout, under a
  // CO-RE flavour name): their ids come after every id of the kernel's,
  // and findStruct finds them first. One whose member types the kernel
  // lacks (or that holds itself) is left out. The error names a member
  // type that is not NAME or NAME[N].
  llvm::Error addStructs(const std::vector<StructDecl>& decls);

  // Walks `path` (member names, or decimal array indices) from struct
  // `root`, dereferencing pointers between steps; `(NAME)` reads the
  // pointer reached as a pointer to struct NAME. The error names the
  // first member the kernel's types lack.
  llvm::Expected<std::vector<BtfStep>> resolvePath(const std::string& root,
                                                   const std::vector<std::string>& path) const;

  std::optional<int64_t> enumValue(const std::string& enumName, const std::string& enumerator) const;
  // The argument types of the tp_btf hook `name` (btf_trace_<name>), or
  // nothing when the kernel has no such tracepoint.
  std::optional<std::vector<uint32_t>> tracepointArgs(const std::string& name) const;

private:
  KernelBtf() = default;
  llvm::Error init(llvm::StringRef data);
  bool findMember(uint32_t id, const std::string& name, std::vector<BtfStep>& out) const;
  // The first type of kind `kind` named `name`, indexing as it goes.
  std::optional<uint32_t> findByName(const std::string& name, unsigned kind) const;
  // Indexes one more type record; false at the end (or a malformed record).
  bool indexNext() const;

  std::unique_ptr<llvm::MemoryBuffer> file_;
  std::vector<uint64_t> copy_;  // the BTF, aligned, when the file's was not
  std::string path_;
  const char* types_ = nullptr;
  uint32_t typesLen_ = 0;
  const char* strings_ = nullptr;
  uint32_t stringsLen_ = 0;
  mutable std::vector<uint32_t> offsets_;  // type id → offset in types_; [0] is void
  mutable uint32_t scanned_ = 0;           // bytes of types_ indexed so far
  // addStructs's types: records (a btf_type and what follows it, in 32-bit
  // words) with ids from kAddedIds, names in addedStrings_ from kAddedStrings.
  static constexpr uint32_t kAddedIds = 0x40000000, kAddedStrings = 0x40000000;
  std::vector<std::vector<uint32_t>> added_;
  std::string addedStrings_;
  uint32_t addString(const std::string& s);
};

}  // namespace mmp

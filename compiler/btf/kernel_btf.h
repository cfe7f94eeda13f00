// The kernel's BTF, read through libbpf: how a binding's access path maps
// onto the kernel's types, so code generation can describe exactly those
// types (with CO-RE relocations) and a member the kernel lacks is a
// compile error naming the field.
#pragma once

#include <llvm/Support/Error.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct btf;

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

class KernelBtf {
public:
  ~KernelBtf();
  // `path` empty: the running kernel's (/sys/kernel/btf/vmlinux).
  static llvm::Expected<std::unique_ptr<KernelBtf>> load(const std::string& path);

  const struct btf* raw() const { return btf_; }
  const std::string& path() const { return path_; }

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

  // Walks `path` (member names, or decimal array indices) from struct
  // `root`, dereferencing pointers between steps. The error names the
  // first member the kernel's types lack.
  llvm::Expected<std::vector<BtfStep>> resolvePath(const std::string& root,
                                                   const std::vector<std::string>& path) const;

  std::optional<int64_t> enumValue(const std::string& enumName, const std::string& enumerator) const;
  // The argument types of the tp_btf hook `name` (btf_trace_<name>), or
  // nothing when the kernel has no such tracepoint.
  std::optional<std::vector<uint32_t>> tracepointArgs(const std::string& name) const;

private:
  bool findMember(uint32_t id, const std::string& name, std::vector<BtfStep>& out) const;
  KernelBtf(struct btf* b, std::string path) : btf_(b), path_(std::move(path)) {}
  struct btf* btf_;
  std::string path_;
};

}  // namespace mmp

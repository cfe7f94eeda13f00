// Local descriptions of the kernel types the policy reads. Each struct gets
// only the members the policy's access paths go through, at the offsets of
// the BTF compiled against; CO-RE relocations (llvm.preserve.*.access.index
// with these DI types) let libbpf move every access to the running
// kernel's layout by member name.
#pragma once

#include <llvm/IR/IRBuilder.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "btf/kernel_btf.h"
#include "codegen/debug_types.h"

namespace mmp::codegen {

// One element of an access path as the bindings write it: a member name, a
// decimal index or `@ENUM:ENUMERATOR`; or an index into a two-dimensional
// array, `{"index": [ROW, COLUMN], "rows": ROWS}` in the bindings (each a
// decimal or `@ENUM:ENUMERATOR`), which BTF may describe flattened (pahole
// writes `u64 total[2][6]` as `total[12]`): then the element is
// ROW * (elements / ROWS) + COLUMN.
struct PathElement {
  std::string name;                // a plain element
  std::vector<std::string> index;  // a two-dimensional index: row, column
  std::string rows;                // its number of rows
  int slot = -1;                   // an index mmrun writes to mmp_slots[slot] at load time
  PathElement(std::string n) : name(std::move(n)) {}
  PathElement(const char* n) : name(n) {}
  PathElement(std::vector<std::string> i, std::string r) : index(std::move(i)), rows(std::move(r)) {}
  static PathElement slotted(int k) {
    PathElement e("");
    e.slot = k;
    return e;
  }
};

// A term of an index: an enum value of the running kernel (relocated), or a
// constant when `enumName` is empty, times `scale`; or, when `slot` is set,
// the element of mmp_slots mmrun wrote at load time.
struct IndexTerm {
  std::string enumName, enumerator;
  int64_t value = 0;  // in the BTF compiled against
  uint64_t scale = 1;
  int slot = -1;
};

// An access path resolved against BTF: steps, with enum-indexed steps
// (`@memcg_memory_event:MEMCG_OOM`) kept aside.
struct AccessPath {
  std::string root;  // struct name
  std::vector<BtfStep> steps;
  // Index steps whose index is computed from enum values: step position → its terms, summed.
  std::map<size_t, std::vector<IndexTerm>> enumIndex;
  uint32_t resultType = 0;  // BTF id of the integer read at the end
};

class KernelTypes {
public:
  KernelTypes(const KernelBtf& btf, DebugTypes& di, llvm::Module& m) : btf_(btf), di_(di), m_(m) {}

  // Resolves and registers a path; the error names the missing member.
  llvm::Expected<AccessPath> resolve(const std::string& root, const std::vector<PathElement>& path);
  // Registers a struct used as a whole (a cast target, a root).
  void useStruct(uint32_t id);
  // Builds the LLVM and DI types of everything registered.
  void finalize();

  llvm::StructType* llvmStruct(uint32_t id) const { return structs_.at(id).llvm; }
  llvm::DICompositeType* diStruct(uint32_t id) const { return structs_.at(id).di; }
  std::optional<uint32_t> structId(const std::string& name) const { return btf_.findStruct(name); }
  llvm::DICompositeType* diEnum(const std::string& name, const std::string& enumerator, int64_t value);

  // Makes one load of `type` from `address`: a direct load by default;
  // bpf_probe_read_kernel for memory the verifier does not let a program
  // load directly (the memcg around a css, see Emitter::memcgOf).
  using Loader = std::function<llvm::Value*(llvm::Value* address, llvm::Type* type)>;
  // Emits the reads of `path` from `base` (a pointer to its root struct).
  // A null pointer met on the way branches to `onNull` when given, and
  // reads as 0 otherwise. Returns the integer read, zero-extended (or
  // sign-extended) to 64 bits, or the pointer read. Every load goes
  // through `load` when given.
  llvm::Value* emitRead(llvm::IRBuilder<>& b, llvm::Value* base, const AccessPath& path, llvm::BasicBlock* onNull,
                        const Loader& load = nullptr);
  // Whether the running kernel has the field `path` ends at, as its types
  // and the local ones match (a CO-RE field-existence relocation: an i32,
  // 1 or 0, that libbpf writes at load time). The reads before it are
  // made, as emitRead makes them.
  llvm::Value* emitExists(llvm::IRBuilder<>& b, llvm::Value* base, const AccessPath& path, const Loader& load = nullptr);
  // The running kernel's BTF id of struct `id` (a CO-RE type-id
  // relocation, bpf_core_type_id_kernel: libbpf writes it at load time).
  llvm::Value* emitTypeId(llvm::IRBuilder<>& b, uint32_t id);
  // mmp_slots (.rodata), which slot terms read; set before any read needs it.
  void setSlots(llvm::GlobalVariable* slots) { slots_ = slots; }
  // The address of member `name` of struct `id` from `base`, relocatable.
  llvm::Value* memberAddress(llvm::IRBuilder<>& b, llvm::Value* base, uint32_t id, uint32_t memberIndex);

private:
  struct Local {
    std::set<uint32_t> members;  // BTF member indices used
    llvm::StructType* llvm = nullptr;
    llvm::DICompositeType* di = nullptr;
    std::map<uint32_t, std::pair<unsigned, unsigned>> index;  // member → (gep, di)
  };

  static llvm::Value* loadAt(llvm::IRBuilder<>& b, const Loader& load, llvm::Type* ty, llvm::Value* at,
                             unsigned align);
  // The address `path` leads to from `base`: emitRead but its last load.
  llvm::Value* emitAddress(llvm::IRBuilder<>& b, llvm::Value* base, const AccessPath& path, llvm::BasicBlock* onNull,
                           const Loader& load);
  llvm::Type* llvmType(uint32_t id);
  llvm::DIType* diType(uint32_t id);
  void buildBody(uint32_t id, Local& s);
  void buildUnionBody(uint32_t id, Local& s);
  unsigned nextSeq() { return seq_++; }
  std::string uniqueName(uint32_t id) const;

  const KernelBtf& btf_;
  DebugTypes& di_;
  llvm::Module& m_;
  std::map<uint32_t, Local> structs_;
  std::map<uint32_t, llvm::DIType*> diCache_;
  std::map<std::string, llvm::DICompositeType*> enums_;
  unsigned seq_ = 0;
  llvm::GlobalVariable* slots_ = nullptr;
};

}  // namespace mmp::codegen

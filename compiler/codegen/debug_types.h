// Debug info for the generated module. The BPF back end turns it into the
// object's BTF (.BTF, .BTF.ext): maps, programs, and the kernel types that
// CO-RE relocations name. Without it libbpf refuses the object.
#pragma once

#include <llvm/IR/DIBuilder.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <string>
#include <vector>

namespace mmp::codegen {

struct DIMember {
  std::string name;
  llvm::DIType* type;
  uint64_t offsetBytes;
  uint64_t sizeBytes;
};

class DebugTypes {
public:
  DebugTypes(llvm::Module& m, const std::string& sourcePath);
  void finalize() { dib_.finalize(); }

  llvm::DIBuilder& builder() { return dib_; }
  llvm::DICompileUnit* unit() const { return cu_; }
  llvm::DIFile* file() const { return file_; }

  llvm::DIBasicType* intType(unsigned bits, bool isSigned);
  llvm::DIType* pointerTo(llvm::DIType* t);
  llvm::DICompositeType* arrayOf(llvm::DIType* element, uint64_t count, uint64_t elementBytes);
  llvm::DICompositeType* structType(const std::string& name, uint64_t sizeBytes, const std::vector<DIMember>& members);
  // A struct whose members are filled in later (`setMembers`), for types
  // that refer to each other.
  // `identifier` keeps apart types LLVM would otherwise merge: metadata is
  // uniqued by content, and two anonymous structs of one size declared
  // without members are the same node until their members are set.
  llvm::DICompositeType* declareStruct(const std::string& name, uint64_t sizeBytes, bool isUnion = false,
                                       const std::string& identifier = "");
  void setMembers(llvm::DICompositeType*& s, const std::vector<DIMember>& members);
  llvm::DICompositeType* forwardStruct(const std::string& name);
  llvm::DICompositeType* enumType(const std::string& name, const std::string& enumerator, int64_t value);

  // Debug info for a global (maps, license, manifest).
  void global(llvm::GlobalVariable* g, const std::string& name, llvm::DIType* type);
  // A DISubprogram for `f` (returning int, taking the given parameters);
  // sets the builder's location so every instruction has one.
  llvm::DISubprogram* function(llvm::Function* f, llvm::DIType* ret, const std::vector<llvm::DIType*>& params,
                               llvm::IRBuilder<>& b);
  // The declaration of an extern function (a kfunc): BTF gives libbpf its
  // prototype to check against the kernel's.
  void declaration(llvm::Function* f, llvm::DIType* ret, const std::vector<llvm::DIType*>& params);

private:
  llvm::DIBuilder dib_;
  llvm::DICompileUnit* cu_;
  llvm::DIFile* file_;
  std::vector<llvm::Metadata*> globals_;
};

}  // namespace mmp::codegen

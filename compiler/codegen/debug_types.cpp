#include "codegen/debug_types.h"

#include <llvm/BinaryFormat/Dwarf.h>

#include <filesystem>

namespace mmp::codegen {

DebugTypes::DebugTypes(llvm::Module& m, const std::string& sourcePath) : dib_(m) {
  std::filesystem::path p(sourcePath);
  file_ = dib_.createFile(p.filename().string(), p.parent_path().string());
  cu_ = dib_.createCompileUnit(llvm::dwarf::DW_LANG_C11, file_, std::string("mmpc ") + MMP_VERSION,
                               /*isOptimized=*/true, "", 0);
  m.addModuleFlag(llvm::Module::Warning, "Debug Info Version", llvm::DEBUG_METADATA_VERSION);
  m.addModuleFlag(llvm::Module::Warning, "Dwarf Version", 5);
}

llvm::DIBasicType* DebugTypes::intType(unsigned bits, bool isSigned) {
  std::string name = (isSigned ? "s" : "u") + std::to_string(bits);
  if (bits == 32 && isSigned) name = "int";
  return dib_.createBasicType(name, bits, isSigned ? llvm::dwarf::DW_ATE_signed : llvm::dwarf::DW_ATE_unsigned);
}

llvm::DIType* DebugTypes::pointerTo(llvm::DIType* t) { return dib_.createPointerType(t, 64); }

llvm::DICompositeType* DebugTypes::arrayOf(llvm::DIType* element, uint64_t count, uint64_t elementBytes) {
  auto range = dib_.getOrCreateArray({dib_.getOrCreateSubrange(0, static_cast<int64_t>(count))});
  return dib_.createArrayType(count * elementBytes * 8, 0, element, range);
}

llvm::DICompositeType* DebugTypes::declareStruct(const std::string& name, uint64_t sizeBytes, bool isUnion,
                                                const std::string& identifier) {
  if (isUnion)
    return dib_.createUnionType(cu_, name, file_, 0, sizeBytes * 8, 0, llvm::DINode::FlagZero, dib_.getOrCreateArray({}),
                                0, identifier);
  return dib_.createStructType(cu_, name, file_, 0, sizeBytes * 8, 0, llvm::DINode::FlagZero, nullptr,
                               dib_.getOrCreateArray({}), 0, nullptr, identifier);
}

void DebugTypes::setMembers(llvm::DICompositeType*& s, const std::vector<DIMember>& members) {
  std::vector<llvm::Metadata*> elems;
  for (const auto& m : members)
    elems.push_back(dib_.createMemberType(s, m.name, file_, 0, m.sizeBytes * 8, 0, m.offsetBytes * 8,
                                          llvm::DINode::FlagZero, m.type));
  dib_.replaceArrays(s, dib_.getOrCreateArray(elems));
}

llvm::DICompositeType* DebugTypes::structType(const std::string& name, uint64_t sizeBytes,
                                              const std::vector<DIMember>& members) {
  llvm::DICompositeType* s = declareStruct(name, sizeBytes);
  setMembers(s, members);
  return s;
}

llvm::DICompositeType* DebugTypes::forwardStruct(const std::string& name) {
  return dib_.createForwardDecl(llvm::dwarf::DW_TAG_structure_type, name, cu_, file_, 0);
}

llvm::DICompositeType* DebugTypes::enumType(const std::string& name, const std::string& enumerator, int64_t value) {
  auto elems = dib_.getOrCreateArray({dib_.createEnumerator(enumerator, value)});
  return dib_.createEnumerationType(cu_, name, file_, 0, 32, 32, elems, intType(32, false));
}

void DebugTypes::global(llvm::GlobalVariable* g, const std::string& name, llvm::DIType* type) {
  auto* expr = dib_.createGlobalVariableExpression(cu_, name, "", file_, 0, type, /*isLocalToUnit=*/false);
  g->addDebugInfo(expr);
  globals_.push_back(expr);
  cu_->replaceGlobalVariables(llvm::MDTuple::get(cu_->getContext(), globals_));
}

llvm::DISubprogram* DebugTypes::function(llvm::Function* f, llvm::DIType* ret, const std::vector<llvm::DIType*>& params,
                                         llvm::IRBuilder<>& b) {
  std::vector<llvm::Metadata*> types{ret};
  types.insert(types.end(), params.begin(), params.end());
  auto* fnType = dib_.createSubroutineType(dib_.getOrCreateTypeArray(types));
  // Internal functions are static in BTF: the verifier checks them per
  // call, where a global one would have to return a scalar.
  auto flags = llvm::DISubprogram::SPFlagDefinition | llvm::DISubprogram::SPFlagOptimized;
  if (f->hasLocalLinkage()) flags |= llvm::DISubprogram::SPFlagLocalToUnit;
  auto* sp = dib_.createFunction(file_, f->getName(), f->getName(), file_, 1, fnType, 1, llvm::DINode::FlagPrototyped,
                                 flags);
  f->setSubprogram(sp);
  for (unsigned i = 0; i < params.size(); ++i) {
    auto* var = dib_.createParameterVariable(sp, "ctx", i + 1, file_, 1, params[i], true);
    (void)var;
  }
  b.SetCurrentDebugLocation(llvm::DILocation::get(f->getContext(), 1, 1, sp));
  return sp;
}

void DebugTypes::declaration(llvm::Function* f, llvm::DIType* ret, const std::vector<llvm::DIType*>& params) {
  std::vector<llvm::Metadata*> types{ret};
  types.insert(types.end(), params.begin(), params.end());
  auto* fnType = dib_.createSubroutineType(dib_.getOrCreateTypeArray(types));
  f->setSubprogram(dib_.createFunction(file_, f->getName(), f->getName(), file_, 1, fnType, 1,
                                       llvm::DINode::FlagPrototyped, llvm::DISubprogram::SPFlagOptimized));
}

}  // namespace mmp::codegen

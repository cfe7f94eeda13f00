// The module's debug types (compiler/codegen/debug_types): the kernel's
// anonymous structs keep their own identity.
#include "codegen/debug_types.h"

#include <gtest/gtest.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

namespace mmp::codegen {
namespace {

llvm::StringRef firstMember(llvm::DICompositeType* s) {
  return llvm::cast<llvm::DIDerivedType>(s->getElements()[0])->getName();
}

// atomic_long_t and sigset_t are both an anonymous struct of 8 bytes:
// declared alike, LLVM would hand back one node for both, and the second's
// members would overwrite the first's (a CO-RE relocation named
// `mem_cgroup.memory.usage.sig`).
TEST(DebugTypes, AnonymousStructsOfOneSizeStayApart) {
  llvm::LLVMContext ctx;
  llvm::Module m("t", ctx);
  DebugTypes di(m, "t.mmp");
  EXPECT_EQ(di.declareStruct("", 16), di.declareStruct("", 16)) << "what identifiers are for: LLVM uniques by content";
  llvm::DICompositeType* counter = di.declareStruct("", 8, false, "mmp.btf.7");
  llvm::DICompositeType* sigset = di.declareStruct("", 8, false, "mmp.btf.9");
  ASSERT_NE(counter, sigset);
  di.setMembers(counter, {{"counter", di.intType(64, true), 0, 8}});
  di.setMembers(sigset, {{"sig", di.arrayOf(di.intType(64, false), 1, 8), 0, 8}});
  EXPECT_EQ(firstMember(counter), "counter");
  EXPECT_EQ(firstMember(sigset), "sig");
}

}  // namespace
}  // namespace mmp::codegen

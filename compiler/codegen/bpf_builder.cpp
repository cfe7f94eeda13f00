#include "codegen/bpf_builder.h"

namespace mmp::codegen {

llvm::Value* BpfBuilder::helper(int id, llvm::Type* ret, llvm::ArrayRef<llvm::Value*> args) {
  std::vector<llvm::Type*> types;
  for (auto* a : args) types.push_back(a->getType());
  auto* fnTy = llvm::FunctionType::get(ret, types, false);
  // BPF calls helpers by number: `call inttoptr (i64 ID to ptr)`.
  auto* callee = llvm::ConstantExpr::getIntToPtr(b_.getInt64(id), ptrTy());
  return b_.CreateCall(fnTy, callee, args);
}

llvm::Value* BpfBuilder::mapLookup(llvm::GlobalVariable* map, llvm::Value* key) {
  return helper(kMapLookupElem, ptrTy(), {map, key});
}

llvm::Value* BpfBuilder::mapUpdate(llvm::GlobalVariable* map, llvm::Value* key, llvm::Value* value, uint64_t flags) {
  return helper(kMapUpdateElem, b_.getInt64Ty(), {map, key, value, b_.getInt64(flags)});
}

llvm::Value* BpfBuilder::ktimeNs() { return helper(kKtimeGetNs, b_.getInt64Ty(), {}); }

llvm::Value* BpfBuilder::ringbufReserve(llvm::GlobalVariable* map, uint64_t size) {
  return helper(kRingbufReserve, ptrTy(), {map, b_.getInt64(size), b_.getInt64(0)});
}

void BpfBuilder::ringbufSubmit(llvm::Value* record) {
  helper(kRingbufSubmit, b_.getVoidTy(), {record, b_.getInt64(0)});
}

llvm::Value* BpfBuilder::ringbufOutput(llvm::GlobalVariable* map, llvm::Value* data, uint64_t size) {
  return helper(kRingbufOutput, b_.getInt64Ty(), {map, data, b_.getInt64(size), b_.getInt64(0)});
}

llvm::Value* BpfBuilder::currentTask() { return helper(kGetCurrentTaskBtf, ptrTy(), {}); }

llvm::Value* BpfBuilder::probeReadKernel(llvm::Value* dst, uint32_t size, llvm::Value* src) {
  return helper(kProbeReadKernel, b_.getInt64Ty(), {dst, b_.getInt32(size), src});
}

llvm::AllocaInst* BpfBuilder::slot(llvm::Type* t, const llvm::Twine& name) {
  llvm::Function* f = b_.GetInsertBlock()->getParent();
  llvm::IRBuilder<> entry(&f->getEntryBlock(), f->getEntryBlock().begin());
  auto* a = entry.CreateAlloca(t, nullptr, name);
  a->setAlignment(llvm::Align(8));
  return a;
}

llvm::BasicBlock* BpfBuilder::block(const llvm::Twine& name) {
  return llvm::BasicBlock::Create(context(), name, b_.GetInsertBlock()->getParent());
}

void BpfBuilder::require(llvm::Value* cond, llvm::BasicBlock* otherwise, const llvm::Twine& name) {
  llvm::BasicBlock* next = block(name);
  b_.CreateCondBr(cond, next, otherwise);
  b_.SetInsertPoint(next);
}

}  // namespace mmp::codegen

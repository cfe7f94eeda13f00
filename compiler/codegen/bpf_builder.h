// IR-building for BPF: helper calls, map operations, the ring buffer,
// stack slots. Thin wrappers so that the emitters read like the policy.
#pragma once

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

namespace mmp::codegen {

// BPF helper ids (include/uapi/linux/bpf.h); stable kernel ABI.
enum BpfHelper : int {
  kMapLookupElem = 1,
  kMapUpdateElem = 2,
  kKtimeGetNs = 5,
  kRingbufOutput = 130,
  kProbeReadKernel = 113,
  kRingbufReserve = 131,
  kRingbufSubmit = 132,
  kGetCurrentTaskBtf = 158,
};

class BpfBuilder {
public:
  BpfBuilder(llvm::Module& m, llvm::IRBuilder<>& b) : m_(m), b_(b) {}

  llvm::IRBuilder<>& ir() { return b_; }
  llvm::Module& module() { return m_; }
  llvm::LLVMContext& context() { return m_.getContext(); }
  llvm::PointerType* ptrTy() { return llvm::PointerType::get(context(), 0); }

  llvm::Value* helper(int id, llvm::Type* ret, llvm::ArrayRef<llvm::Value*> args);
  llvm::Value* mapLookup(llvm::GlobalVariable* map, llvm::Value* key);
  llvm::Value* mapUpdate(llvm::GlobalVariable* map, llvm::Value* key, llvm::Value* value, uint64_t flags);
  llvm::Value* ktimeNs();
  llvm::Value* ringbufReserve(llvm::GlobalVariable* map, uint64_t size);
  void ringbufSubmit(llvm::Value* record);
  // Copies `size` bytes at `data` into a new record; 0 or a negative errno.
  llvm::Value* ringbufOutput(llvm::GlobalVariable* map, llvm::Value* data, uint64_t size);
  llvm::Value* currentTask();
  // bpf_probe_read_kernel(dst, size, src): 0, or a negative errno (dst zeroed).
  llvm::Value* probeReadKernel(llvm::Value* dst, uint32_t size, llvm::Value* src);

  // A stack slot in the function's entry block.
  llvm::AllocaInst* slot(llvm::Type* t, const llvm::Twine& name);
  // Starts a new block in the current function.
  llvm::BasicBlock* block(const llvm::Twine& name);
  // Emits `if (!cond) goto otherwise;` and continues in a fresh block.
  void require(llvm::Value* cond, llvm::BasicBlock* otherwise, const llvm::Twine& name = "then");

private:
  llvm::Module& m_;
  llvm::IRBuilder<>& b_;
};

}  // namespace mmp::codegen

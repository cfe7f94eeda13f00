// The snapshot channel: a hook program hands the snapshot its `when`
// rules are about to evaluate to mmrun, unchanged, while mmrun records
// (runtime/abi/mmp_abi.h, struct mmp_record_control). A trace is then the
// very input of the compiled rules, and the replay program, fed the same
// snapshots in the same order, makes the same decisions.
#include "codegen/emitter.h"

namespace mmp::codegen {

void Emitter::sendSnapshot(llvm::Value* snap) {
  if (!record_) return;
  auto* i64 = ir_.getInt64Ty();
  llvm::BasicBlock* done = bpf_.block("recorded");
  llvm::AllocaInst* key = bpf_.slot(ir_.getInt32Ty(), "record_key");
  ir_.CreateStore(ir_.getInt32(0), key);
  llvm::Value* control = bpf_.mapLookup(record_, key);
  bpf_.require(ir_.CreateIsNotNull(control), done, "record_control");
  llvm::Value* enabled = ir_.CreateAlignedLoad(i64, ir_.CreateStructGEP(recordTy_, control, 0), llvm::Align(8));
  bpf_.require(ir_.CreateICmpNE(enabled, ir_.getInt64(0)), done, "recording");
  // One helper call copies the whole snapshot, stack or per-CPU map alike.
  llvm::Value* err = bpf_.ringbufOutput(snapshots_, snap, 8 * (3 + plan_.snapshot.size()));
  bpf_.require(ir_.CreateICmpNE(err, ir_.getInt64(0)), done, "lost");
  // A lost snapshot makes the trace incomplete: count it where mmrun sees it.
  ir_.CreateAtomicRMW(llvm::AtomicRMWInst::Add, ir_.CreateStructGEP(recordTy_, control, 1), ir_.getInt64(1),
                      llvm::MaybeAlign(8), llvm::AtomicOrdering::Monotonic);
  ir_.CreateBr(done);
  ir_.SetInsertPoint(done);
}

}  // namespace mmp::codegen

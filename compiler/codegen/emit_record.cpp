// The snapshot channel: a hook program hands the snapshot its `when`
// rules are about to evaluate to mmrun, unchanged, when mmrun loaded the
// object to record (runtime/abi/mmp_abi.h). A trace is then the very input
// of the compiled rules, and the replay program, fed the same snapshots in
// the same order, makes the same decisions.
#include "codegen/emitter.h"

namespace mmp::codegen {

void Emitter::sendSnapshot(llvm::Value* snap) {
  if (!recording_) return;
  auto* i64 = ir_.getInt64Ty();
  llvm::BasicBlock* done = bpf_.block("recorded");
  // A constant to the verifier: off, this branch is all it walks.
  llvm::LoadInst* on = ir_.CreateAlignedLoad(i64, recording_, llvm::Align(8));
  on->setVolatile(true);
  bpf_.require(ir_.CreateICmpNE(on, ir_.getInt64(0)), done, "recording");
  uint64_t words = 3 + plan_.snapshot.size();
  llvm::BasicBlock* lost = bpf_.block("lost");
  if (snapshotMap_) {
    // A snapshot in the per-CPU map: one helper call copies it.
    llvm::Value* err = bpf_.ringbufOutput(snapshots_, snap, 8 * words);
    ir_.CreateCondBr(ir_.CreateICmpNE(err, ir_.getInt64(0)), lost, done);
  } else {
    // A snapshot on the stack is copied word by word into a reserved
    // record: handing its address to a helper would make it escape, and
    // LLVM would then build it in memory on every path instead of keeping
    // its words in registers.
    llvm::Value* record = bpf_.ringbufReserve(snapshots_, 8 * words);
    llvm::BasicBlock* copy = bpf_.block("copy");
    ir_.CreateCondBr(ir_.CreateIsNull(record), lost, copy);
    ir_.SetInsertPoint(copy);
    for (uint64_t i = 0; i < words; ++i) {
      llvm::Value* word = ir_.CreateAlignedLoad(i64, ir_.CreateInBoundsGEP(ir_.getInt8Ty(), snap, ir_.getInt64(8 * i)),
                                                llvm::Align(8));
      ir_.CreateAlignedStore(word, ir_.CreateInBoundsGEP(ir_.getInt8Ty(), record, ir_.getInt64(8 * i)), llvm::Align(8));
    }
    bpf_.ringbufSubmit(record);
    ir_.CreateBr(done);
  }
  // A lost snapshot makes the trace incomplete: count it where mmrun sees it.
  ir_.SetInsertPoint(lost);
  llvm::AllocaInst* key = bpf_.slot(ir_.getInt32Ty(), "lost_key");
  ir_.CreateStore(ir_.getInt32(0), key);
  llvm::Value* count = bpf_.mapLookup(snapshotsLost_, key);
  bpf_.require(ir_.CreateIsNotNull(count), done, "lost_count");
  ir_.CreateAtomicRMW(llvm::AtomicRMWInst::Add, count, ir_.getInt64(1), llvm::MaybeAlign(8),
                      llvm::AtomicOrdering::Monotonic);
  ir_.CreateBr(done);
  ir_.SetInsertPoint(done);
}

}  // namespace mmp::codegen

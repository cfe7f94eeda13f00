// The snapshot channel: a hook program hands the snapshot its `when`
// rules are about to evaluate to mmrun, unchanged, when mmrun loaded the
// object to record (runtime/abi/mmp_abi.h). A trace is then the very input
// of the compiled rules, and the replay program, fed the same snapshots in
// the same order, makes the same decisions.
#include "codegen/emitter.h"

namespace mmp::codegen {

// A part of a hook twice, after one test of the recording switch: a part
// that sends its snapshot must build it in memory on every path, which
// would cost the plain part (up to 14 verified instructions on bench/'s
// policies) were it not a copy of its own. The switch is a constant to
// the verifier, which walks one copy only. `part` leaves the insert point
// where it ends; both copies join after it.
void Emitter::recordSplit(const std::function<void()>& part) {
  if (!mod_.recording) {
    part();
    return;
  }
  llvm::BasicBlock* rec = bpf_.block("record");
  llvm::BasicBlock* plain = bpf_.block("plain");
  llvm::BasicBlock* join = bpf_.block("recorded_or_not");
  llvm::LoadInst* on = ir_.CreateAlignedLoad(ir_.getInt64Ty(), mod_.recording, llvm::Align(8));
  on->setVolatile(true);
  ir_.CreateCondBr(ir_.CreateICmpNE(on, ir_.getInt64(0)), rec, plain);
  ir_.SetInsertPoint(rec);
  fn_.recordPass = true;
  part();
  fn_.recordPass = false;
  ir_.CreateBr(join);
  ir_.SetInsertPoint(plain);
  part();
  ir_.CreateBr(join);
  ir_.SetInsertPoint(join);
}

void Emitter::sendSnapshot(llvm::Value* snap) {
  if (!mod_.recording || !fn_.recordPass) return;
  auto* i64 = ir_.getInt64Ty();
  llvm::BasicBlock* done = bpf_.block("recorded");
  uint64_t words = 3 + plan_.snapshot.size();
  llvm::BasicBlock* lost = bpf_.block("lost");
  if (mod_.snapshotMap) {
    // A snapshot in the per-CPU map: one helper call copies it.
    llvm::Value* err = bpf_.ringbufOutput(mod_.snapshots, snap, 8 * words);
    ir_.CreateCondBr(ir_.CreateICmpNE(err, ir_.getInt64(0)), lost, done);
  } else {
    // A snapshot on the stack is copied word by word into a reserved
    // record: handing its address to a helper would make it escape, and
    // LLVM would then build it in memory on every path instead of keeping
    // its words in registers.
    llvm::Value* record = bpf_.ringbufReserve(mod_.snapshots, 8 * words);
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
  llvm::Value* count = bpf_.mapLookup(mod_.snapshotsLost, key);
  bpf_.require(ir_.CreateIsNotNull(count), done, "lost_count");
  ir_.CreateAtomicRMW(llvm::AtomicRMWInst::Add, count, ir_.getInt64(1), llvm::MaybeAlign(8),
                      llvm::AtomicOrdering::Monotonic);
  ir_.CreateBr(done);
  ir_.SetInsertPoint(done);
}

}  // namespace mmp::codegen

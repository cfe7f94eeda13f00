// The programs, one per hook: each builds a snapshot of the subject and
// runs the rules on it; the replay program runs the same rules on a
// snapshot passed in by user space.
#include <fmt/format.h>

#include "../../runtime/abi/mmp_abi.h"
#include "codegen/emitter.h"

namespace mmp::codegen {

namespace {

bool hasRules(const plan::Plan& p, bool system) {
  for (const auto& r : p.rules)
    if (!r.event && r.system == system) return true;
  return false;
}

}  // namespace

llvm::Function* Emitter::program(plan::Hook hook, const std::string& name) {
  auto* fnTy = llvm::FunctionType::get(ir_.getInt32Ty(), {bpf_.ptrTy()}, false);
  auto* f = llvm::Function::Create(fnTy, llvm::GlobalValue::ExternalLinkage, name, m_);
  f->setSection(plan::hookSection(hook));
  f->addFnAttr(llvm::Attribute::NoUnwind);
  f->setDSOLocal(true);
  ir_.SetInsertPoint(llvm::BasicBlock::Create(m_.getContext(), "entry", f));
  di_.function(f, int_, {di_.pointerTo(nullptr)}, ir_);
  used_.push_back(f);
  return f;
}

// void mmp_eval_{memcg,system}(struct mmp_snapshot *): the rules, in order.
llvm::Function* Emitter::evaluator(bool system) {
  auto* fnTy = llvm::FunctionType::get(ir_.getVoidTy(), {bpf_.ptrTy()}, false);
  auto* f = llvm::Function::Create(fnTy, llvm::GlobalValue::InternalLinkage,
                                   system ? "mmp_eval_system" : "mmp_eval_memcg", m_);
  f->addFnAttr(llvm::Attribute::AlwaysInline);
  f->addFnAttr(llvm::Attribute::NoUnwind);
  ir_.SetInsertPoint(llvm::BasicBlock::Create(m_.getContext(), "entry", f));
  di_.function(f, nullptr, {di_.pointerTo(snapshotDi_)}, ir_);
  llvm::Value* snap = f->getArg(0);
  auto header = [&](unsigned i) {
    return ir_.CreateAlignedLoad(ir_.getInt64Ty(), ir_.CreateInBoundsGEP(ir_.getInt8Ty(), snap, ir_.getInt64(8 * i)),
                                 llvm::Align(8));
  };
  EvalContext ctx{snap, header(0), header(1), header(2), {}};
  for (const auto& r : plan_.rules)
    if (!r.event && r.system == system) rule(r, ctx);
  ir_.CreateRetVoid();
  return f;
}

void Emitter::emitTick() {
  llvm::Function* f = program(plan::Hook::Tick, MMP_PROG_TICK);
  auto* i64 = ir_.getInt64Ty();
  auto* snapTy = llvm::ArrayType::get(i64, 3 + plan_.snapshot.size());
  llvm::AllocaInst* snap = bpf_.slot(snapTy, "snapshot");
  ir_.CreateAlignedStore(llvm::Constant::getNullValue(snapTy), snap, llvm::Align(8));
  llvm::BasicBlock* out = llvm::BasicBlock::Create(m_.getContext(), "out", f);
  // struct bpf_iter__cgroup { struct bpf_iter_meta *meta; struct cgroup *cgroup; }
  llvm::Value* ctx = f->getArg(0);
  llvm::Value* meta = ir_.CreateAlignedLoad(bpf_.ptrTy(), ctx, llvm::Align(8));
  llvm::Value* cgroup = ir_.CreateAlignedLoad(bpf_.ptrTy(), ir_.CreateInBoundsGEP(ir_.getInt8Ty(), ctx, ir_.getInt64(8)),
                                              llvm::Align(8));
  bpf_.require(ir_.CreateIsNotNull(cgroup), out, "cgroup");  // null after the last cgroup
  llvm::Value* now = bpf_.ktimeNs();
  auto store = [&](unsigned i, llvm::Value* v) {
    ir_.CreateAlignedStore(v, ir_.CreateConstInBoundsGEP2_32(snapTy, snap, 0, i), llvm::Align(8));
  };
  store(0, now);
  if (hasRules(plan_, true)) {
    // System rules once per walk, at its first cgroup (the walk's root).
    llvm::BasicBlock* memcgPart = llvm::BasicBlock::Create(m_.getContext(), "memcg_part", f);
    llvm::BasicBlock* first = llvm::BasicBlock::Create(m_.getContext(), "first", f);
    llvm::Value* seq = kernel_.emitRead(ir_, meta, *seqNumPath_, memcgPart);
    ir_.CreateCondBr(ir_.CreateICmpEQ(seq, ir_.getInt64(0)), first, memcgPart);
    ir_.SetInsertPoint(first);
    store(2, ir_.getInt64(~0ULL));
    fillSystemFields(snap);
    ir_.CreateCall(evalSystem_, {snap});
    ir_.CreateBr(memcgPart);
    ir_.SetInsertPoint(memcgPart);
  }
  if (hasRules(plan_, false)) {
    llvm::Value* id = cgroupIdOf(cgroup);
    store(1, id);
    llvm::AllocaInst* key = bpf_.slot(i64, "cgroup_id");
    ir_.CreateAlignedStore(id, key, llvm::Align(8));
    llvm::Value* mask = bpf_.mapLookup(scopes_, key);
    bpf_.require(ir_.CreateIsNotNull(mask), out, "scoped");
    store(2, ir_.CreateAlignedLoad(i64, mask, llvm::Align(8)));
    fillSystemFields(snap);
    fillMemcgFields(cgroup, snap);
    ir_.CreateCall(evalMemcg_, {snap});
  }
  ir_.CreateBr(out);
  ir_.SetInsertPoint(out);
  ir_.CreateRet(ir_.getInt32(0));
}

// The memcg rules, at once, for the memcg whose reclaim begins: the
// current task's (which is charging it).
void Emitter::emitMemcgReclaim() {
  if (!hasRules(plan_, false)) return;
  llvm::Function* f = program(plan::Hook::MemcgReclaim, "mmp_memcg_reclaim");
  auto* i64 = ir_.getInt64Ty();
  auto* snapTy = llvm::ArrayType::get(i64, 3 + plan_.snapshot.size());
  llvm::AllocaInst* snap = bpf_.slot(snapTy, "snapshot");
  ir_.CreateAlignedStore(llvm::Constant::getNullValue(snapTy), snap, llvm::Align(8));
  llvm::BasicBlock* out = llvm::BasicBlock::Create(m_.getContext(), "out", f);
  llvm::Value* task = bpf_.currentTask();
  bpf_.require(ir_.CreateIsNotNull(task), out, "task");
  llvm::Value* cgroup = kernel_.emitRead(ir_, task, *taskCgroupPath_, out);
  bpf_.require(ir_.CreateIsNotNull(cgroup), out, "cgroup");
  auto store = [&](unsigned i, llvm::Value* v) {
    ir_.CreateAlignedStore(v, ir_.CreateConstInBoundsGEP2_32(snapTy, snap, 0, i), llvm::Align(8));
  };
  store(0, bpf_.ktimeNs());
  llvm::Value* id = cgroupIdOf(cgroup);
  store(1, id);
  llvm::AllocaInst* key = bpf_.slot(i64, "cgroup_id");
  ir_.CreateAlignedStore(id, key, llvm::Align(8));
  llvm::Value* mask = bpf_.mapLookup(scopes_, key);
  bpf_.require(ir_.CreateIsNotNull(mask), out, "scoped");
  store(2, ir_.CreateAlignedLoad(i64, mask, llvm::Align(8)));
  fillSystemFields(snap);
  fillMemcgFields(cgroup, snap);
  ir_.CreateCall(evalMemcg_, {snap});
  ir_.CreateBr(out);
  ir_.SetInsertPoint(out);
  ir_.CreateRet(ir_.getInt32(0));
}

// The replay entry: ctx is a struct mmp_snapshot from user space; a zero
// cgroup id asks for the system rules.
void Emitter::emitReplay() {
  llvm::Function* f = program(plan::Hook::Replay, MMP_PROG_REPLAY);
  llvm::Value* snap = f->getArg(0);
  llvm::Value* id = ir_.CreateAlignedLoad(ir_.getInt64Ty(), ir_.CreateInBoundsGEP(ir_.getInt8Ty(), snap, ir_.getInt64(8)),
                                          llvm::Align(8));
  llvm::BasicBlock* system = llvm::BasicBlock::Create(m_.getContext(), "system", f);
  llvm::BasicBlock* memcg = llvm::BasicBlock::Create(m_.getContext(), "memcg", f);
  llvm::BasicBlock* out = llvm::BasicBlock::Create(m_.getContext(), "out", f);
  ir_.CreateCondBr(ir_.CreateICmpEQ(id, ir_.getInt64(0)), system, memcg);
  ir_.SetInsertPoint(system);
  if (hasRules(plan_, true)) ir_.CreateCall(evalSystem_, {snap});
  ir_.CreateBr(out);
  ir_.SetInsertPoint(memcg);
  if (hasRules(plan_, false)) ir_.CreateCall(evalMemcg_, {snap});
  ir_.CreateBr(out);
  ir_.SetInsertPoint(out);
  ir_.CreateRet(ir_.getInt32(0));
}

}  // namespace mmp::codegen

// The compact form's shared subprograms (emit_programs.cpp,
// rulesPerGroup): what every grouped rule does alike, once in the object
// instead of once per rule, which more than halves the code LLVM optimises
// and selects per rule (compile time grows with it). mmp_enter tests the
// scope bit and counts the evaluation, mmp_row_get gets or creates the
// cgroup's state row (for rules that need it only when they fire),
// mmp_decide writes the decision or counts a drop. Rules outside the
// compact form keep this code inline: the verifier walks a static
// subprogram at every call anyway, and calls cost instructions.
#include <cstddef>

#include "abi/mmp_abi.h"
#include "codegen/emitter.h"

namespace mmp::codegen {

namespace {

// mmp_decide's meta argument: BPF passes five arguments at most, so the
// decision's small parts share one.
constexpr unsigned kMetaKind = 0, kMetaCount = 4, kMetaIndex = 8, kMetaFlags = 16, kMetaRule = 32;
static_assert(MMP_ACTION_LOG < 16 && MMP_MAX_VALUES < 16 && MMP_ARG_DEFAULT < (1 << 16),
              "the decision's meta word no longer holds kind, count or flags");

}  // namespace

// A static subprogram `NAME(params)` returning `ret`, its entry block
// current. The caller restores the insertion point.
llvm::Function* Emitter::sharedFunction(const std::string& name, llvm::Type* ret,
                                        const std::vector<llvm::Type*>& params) {
  auto* f = llvm::Function::Create(llvm::FunctionType::get(ret, params, false), llvm::GlobalValue::InternalLinkage,
                                   name, m_);
  f->addFnAttr(llvm::Attribute::NoInline);
  f->addFnAttr(llvm::Attribute::NoUnwind);
  ir_.SetInsertPoint(llvm::BasicBlock::Create(m_.getContext(), "entry", f));
  auto di = [&](llvm::Type* t) { return t->isPointerTy() ? di_.pointerTo(nullptr) : static_cast<llvm::DIType*>(mod_.u64); };
  std::vector<llvm::DIType*> diParams;
  for (llvm::Type* t : params) diParams.push_back(di(t));
  di_.function(f, ret->isVoidTy() ? nullptr : di(ret), diParams, ir_);
  return f;
}

// mmp_enter(snapshot, rule | scope bit << 32): the rule's counters (this
// CPU's) with one more evaluation counted, or NULL when the snapshot's
// cgroup is not in the rule's scope.
llvm::Value* Emitter::sharedEnter(llvm::Value* snapshot, const plan::Rule& r) {
  if (!mod_.enter) {
    llvm::IRBuilderBase::InsertPointGuard guard(ir_);
    auto* i64 = ir_.getInt64Ty();
    mod_.enter = sharedFunction("mmp_enter", bpf_.ptrTy(), {bpf_.ptrTy(), i64});
    llvm::Value* ruleBit = mod_.enter->getArg(1);
    llvm::Value* mask = ir_.CreateAlignedLoad(
        i64, ir_.CreateInBoundsGEP(ir_.getInt8Ty(), mod_.enter->getArg(0), ir_.getInt64(16)), llvm::Align(8));
    llvm::BasicBlock* out = bpf_.block("out");
    llvm::Value* inScope = ir_.CreateAnd(ir_.CreateLShr(mask, ir_.CreateLShr(ruleBit, 32)), ir_.getInt64(1));
    bpf_.require(ir_.CreateICmpNE(inScope, ir_.getInt64(0)), out, "in_scope");
    llvm::AllocaInst* key = bpf_.slot(ir_.getInt32Ty(), "counter_key");
    ir_.CreateStore(ir_.CreateTrunc(ruleBit, ir_.getInt32Ty()), key);
    llvm::Value* c = bpf_.mapLookup(mod_.counters, key);
    bpf_.require(ir_.CreateIsNotNull(c), out, "counters");
    bump(c, 0);
    ir_.CreateRet(c);
    ir_.SetInsertPoint(out);
    ir_.CreateRet(llvm::ConstantPointerNull::get(bpf_.ptrTy()));
  }
  return ir_.CreateCall(mod_.enter, {snapshot, ir_.getInt64(r.id | static_cast<uint64_t>(r.scopeBit) << 32)});
}

// mmp_row_get(snapshot): the snapshot's cgroup's state row, created on
// first use; NULL when the LRU map cannot make one.
llvm::Value* Emitter::sharedRow(llvm::Value* snapshot) {
  if (!mod_.rowGet) {
    llvm::IRBuilderBase::InsertPointGuard guard(ir_);
    FunctionContext::Scratch callers = fn_.scratch;  // lookupRow's slots here are mmp_row_get's own
    mod_.rowGet = sharedFunction("mmp_row_get", bpf_.ptrTy(), {bpf_.ptrTy()});
    llvm::Value* id = ir_.CreateAlignedLoad(
        ir_.getInt64Ty(), ir_.CreateInBoundsGEP(ir_.getInt8Ty(), mod_.rowGet->getArg(0), ir_.getInt64(8)), llvm::Align(8));
    ir_.CreateRet(lookupRow(id));
    fn_.scratch = callers;
  }
  return ir_.CreateCall(mod_.rowGet, {snapshot});
}

// mmp_decide(snapshot, counters, meta, arg, values): one decision into the
// ring buffer, or a drop counted. meta packs kind, value count, action
// index, flags and rule (kMeta*); the values wait in a buffer on the
// group's stack, zeroed when the group starts and shared by its actions:
// the count says how many words this action wrote, the others read as 0.
// False (nothing emitted) for an action whose parts do not fit meta.
bool Emitter::sharedDecision(const plan::Rule& r, const plan::Action& a, EvalContext& ctx, llvm::Value* counters,
                             llvm::Value* arg, llvm::Value* flags, const std::vector<llvm::Value*>& values) {
  // meta holds 16 bits of flags: a kill's key, threshold and signal
  // (bits 13 to 31) take the action's own decision code instead.
  if (a.index > 0xff || values.size() > MMP_MAX_VALUES || a.flags > 0xffff) return false;
  auto* i64 = ir_.getInt64Ty();
  auto* valuesTy = llvm::ArrayType::get(i64, MMP_MAX_VALUES);
  if (!mod_.decide) {
    llvm::IRBuilderBase::InsertPointGuard guard(ir_);
    mod_.decide = sharedFunction("mmp_decide", ir_.getVoidTy(), {bpf_.ptrTy(), bpf_.ptrTy(), i64, i64, bpf_.ptrTy()});
    llvm::Value* snap = mod_.decide->getArg(0);
    llvm::Value* meta = mod_.decide->getArg(2);
    llvm::Value* vals = mod_.decide->getArg(4);
    llvm::Value* d = bpf_.ringbufReserve(mod_.decisions, sizeof(struct mmp_decision));
    llvm::BasicBlock* full = bpf_.block("full");
    llvm::BasicBlock* fill = bpf_.block("fill");
    ir_.CreateCondBr(ir_.CreateIsNull(d), full, fill);
    ir_.SetInsertPoint(full);
    bump(mod_.decide->getArg(1), 2);
    ir_.CreateRetVoid();
    ir_.SetInsertPoint(fill);
    auto part = [&](unsigned shift, uint64_t mask) {
      return ir_.CreateAnd(ir_.CreateLShr(meta, shift), ir_.getInt64(mask));
    };
    auto store = [&](size_t offset, llvm::Value* v) {
      ir_.CreateAlignedStore(v, ir_.CreateInBoundsGEP(ir_.getInt8Ty(), d, ir_.getInt64(offset)), llvm::Align(8));
    };
    // version and action (u16 each) and rule (u32) make one little-endian
    // word; so do flags and action_index (u32 each).
    static_assert(offsetof(struct mmp_decision, version) == 0 && offsetof(struct mmp_decision, action) == 2 &&
                  offsetof(struct mmp_decision, rule) == 4 &&
                  offsetof(struct mmp_decision, action_index) == offsetof(struct mmp_decision, flags) + 4);
    store(offsetof(struct mmp_decision, version),
          ir_.CreateOr(ir_.CreateOr(ir_.getInt64(MMP_DECISION_VERSION), ir_.CreateShl(part(kMetaKind, 0xf), 16)),
                       ir_.CreateShl(part(kMetaRule, 0xffffffff), 32)));
    store(offsetof(struct mmp_decision, cgroup_id), loadHeader(snap, offsetof(struct mmp_snapshot, cgroup_id)));
    store(offsetof(struct mmp_decision, time_ns), loadHeader(snap, offsetof(struct mmp_snapshot, time_ns)));
    store(offsetof(struct mmp_decision, arg), mod_.decide->getArg(3));
    store(offsetof(struct mmp_decision, flags),
          ir_.CreateOr(part(kMetaFlags, 0xffff), ir_.CreateShl(part(kMetaIndex, 0xff), 32)));
    llvm::Value* count = part(kMetaCount, 0xf);
    for (unsigned i = 0; i < MMP_MAX_VALUES; ++i) {
      llvm::Value* v = ir_.CreateAlignedLoad(i64, ir_.CreateConstInBoundsGEP2_32(valuesTy, vals, 0, i), llvm::Align(8));
      v = ir_.CreateSelect(ir_.CreateICmpULT(ir_.getInt64(i), count), v, ir_.getInt64(0));
      store(offsetof(struct mmp_decision, values) + 8 * i, v);
    }
    bpf_.ringbufSubmit(d);
    ir_.CreateRetVoid();
  }
  llvm::Function* caller = ir_.GetInsertBlock()->getParent();
  if (fn_.decisionValues.first != caller) {
    llvm::AllocaInst* buf = bpf_.slot(valuesTy, "decision_values");
    llvm::IRBuilder<> entry(&caller->getEntryBlock(), caller->getEntryBlock().getFirstNonPHIOrDbgOrAlloca());
    entry.CreateAlignedStore(llvm::Constant::getNullValue(valuesTy), buf, llvm::Align(8));
    fn_.decisionValues = {caller, buf};
  }
  llvm::AllocaInst* buf = fn_.decisionValues.second;
  for (size_t i = 0; i < values.size(); ++i) {
    llvm::Value* v = values[i];
    if (v->getType()->isIntegerTy(1)) v = ir_.CreateZExt(v, i64);
    ir_.CreateAlignedStore(v, ir_.CreateConstInBoundsGEP2_32(valuesTy, buf, 0, i), llvm::Align(8));
  }
  uint64_t meta = static_cast<uint64_t>(a.kind) << kMetaKind | values.size() << kMetaCount |
                  static_cast<uint64_t>(a.index) << kMetaIndex | static_cast<uint64_t>(r.id) << kMetaRule;
  llvm::Value* m = ir_.CreateOr(ir_.getInt64(meta), ir_.CreateShl(ir_.CreateZExt(flags, i64), kMetaFlags));
  ir_.CreateCall(mod_.decide, {ctx.snapshot, counters, m, arg, buf});
  return true;
}

}  // namespace mmp::codegen

// One rule's evaluation: scope, condition, `unless`, `for`, cooldown,
// `at most`, counters, and a decision per action into the ring buffer.
#include <fmt/format.h>

#include <cstddef>

#include "abi/mmp_abi.h"
#include "codegen/emitter.h"

namespace mmp::codegen {

namespace {

constexpr uint64_t kBpfNoExist = 1;  // BPF_NOEXIST

}  // namespace

// Scratch stack slots of the function being built, shared by its rules.
FunctionContext::Scratch& Emitter::scratch() {
  llvm::Function* f = ir_.GetInsertBlock()->getParent();
  if (fn_.scratch.owner != f) {
    fn_.scratch = {f, bpf_.slot(ir_.getInt64Ty(), "state_key"), bpf_.slot(ir_.getInt32Ty(), "zero_key"),
                   bpf_.slot(ir_.getInt32Ty(), "counter_key")};
  }
  return fn_.scratch;
}

// The cgroup's state row, created zeroed on first use; null when the LRU
// map could not make one (the rules that need it then skip).
llvm::Value* Emitter::lookupRow(llvm::Value* cgroupId) {
  llvm::AllocaInst* key = scratch().stateKey;
  ir_.CreateAlignedStore(cgroupId, key, llvm::Align(8));
  llvm::Value* row = bpf_.mapLookup(mod_.state, key);
  llvm::BasicBlock* found = ir_.GetInsertBlock();
  llvm::BasicBlock* create = bpf_.block("row_create");
  llvm::BasicBlock* haveZero = bpf_.block("row_zero");
  llvm::BasicBlock* relook = bpf_.block("row_relook");
  llvm::BasicBlock* ready = bpf_.block("row_ready");
  ir_.CreateCondBr(ir_.CreateIsNull(row), create, ready);
  ir_.SetInsertPoint(create);
  // A row can be larger than the stack: its zeroes come from a map.
  llvm::AllocaInst* zeroKey = scratch().zeroKey;
  ir_.CreateStore(ir_.getInt32(0), zeroKey);
  llvm::Value* zero = bpf_.mapLookup(mod_.stateZero, zeroKey);
  ir_.CreateCondBr(ir_.CreateIsNull(zero), relook, haveZero);
  ir_.SetInsertPoint(haveZero);
  bpf_.mapUpdate(mod_.state, key, zero, kBpfNoExist);
  ir_.CreateBr(relook);
  ir_.SetInsertPoint(relook);
  llvm::Value* created = bpf_.mapLookup(mod_.state, key);
  ir_.CreateBr(ready);
  ir_.SetInsertPoint(ready);
  auto* phi = ir_.CreatePHI(bpf_.ptrTy(), 2);
  phi->addIncoming(row, found);
  phi->addIncoming(created, relook);
  return phi;
}

// The rule's row, non-null past this point: the evaluator's (already
// checked) when it fetched one for every rule, else looked up now.
llvm::Value* Emitter::stateRow(EvalContext& ctx, llvm::BasicBlock* onFail) {
  if (ctx.row) return ctx.row;
  llvm::Value* row = fn_.compact ? sharedRow(ctx.snapshot) : lookupRow(ctx.cgroupId);
  bpf_.require(ir_.CreateIsNotNull(row), onFail, "row");
  return row;
}

llvm::Value* Emitter::stateWord(llvm::Value* row, uint32_t word) {
  return ir_.CreateConstInBoundsGEP2_32(mod_.rowTy, row, 0, word);
}

llvm::Value* Emitter::countersFor(uint32_t rule, llvm::BasicBlock* onFail) {
  llvm::AllocaInst* key = scratch().counterKey;
  ir_.CreateStore(ir_.getInt32(rule), key);
  llvm::Value* c = bpf_.mapLookup(mod_.counters, key);
  bpf_.require(ir_.CreateIsNotNull(c), onFail, "counters");
  return c;
}

// Counters are per CPU: a plain add, no atomic.
void Emitter::bump(llvm::Value* counters, unsigned field) {
  llvm::Value* p = ir_.CreateStructGEP(mod_.countersTy, counters, field);
  ir_.CreateAlignedStore(ir_.CreateAdd(ir_.CreateAlignedLoad(ir_.getInt64Ty(), p, llvm::Align(8)), ir_.getInt64(1)), p,
                         llvm::Align(8));
}

void Emitter::evaluateRule(const plan::Rule& r, EvalContext& ctx) {
  auto* i64 = ir_.getInt64Ty();
  llvm::BasicBlock* next = bpf_.block(fmt::format("rule{}_end", r.id));
  ctx.memo.clear();
  ctx.rates.clear();
  // Line info for the verifier's log: the rule's line.
  ir_.SetCurrentDebugLocation(llvm::DILocation::get(m_.getContext(), r.line, 1,
                                                    ir_.GetInsertBlock()->getParent()->getSubprogram()));
  // In scope? Then one more evaluation.
  llvm::Value* counters;
  if (fn_.compact) {
    counters = sharedEnter(ctx.snapshot, r);
    bpf_.require(ir_.CreateIsNotNull(counters), next, fmt::format("rule{}", r.id));
  } else {
    llvm::Value* bit = ir_.getInt64(1ULL << r.scopeBit);
    bpf_.require(ir_.CreateICmpNE(ir_.CreateAnd(ctx.mask, bit), ir_.getInt64(0)), next, fmt::format("rule{}", r.id));
    counters = countersFor(r.id, next);
    bump(counters, 0);
  }

  // rate() samples at every evaluation, whatever the short-circuits skip.
  for (const ast::CallExpr* c : r.rates) rate(*c, ctx, r);
  llvm::BasicBlock* yes = bpf_.block("true");
  if (r.holdNs) {
    // for D: true at every evaluation for D; a false one resets. The state
    // is needed whatever the condition.
    llvm::Value* sincePtr = stateWord(stateRow(ctx, next), r.sinceWord());
    llvm::BasicBlock* no = bpf_.block("false");
    if (r.condition) branchOn(*r.condition, ctx, r, yes, no);
    else ir_.CreateBr(yes);
    ir_.SetInsertPoint(no);
    ir_.CreateAlignedStore(ir_.getInt64(0), sincePtr, llvm::Align(8));
    ir_.CreateBr(next);
    ir_.SetInsertPoint(yes);
    llvm::Value* since = ir_.CreateAlignedLoad(i64, sincePtr, llvm::Align(8));
    llvm::Value* started = ir_.CreateSelect(ir_.CreateICmpEQ(since, ir_.getInt64(0)), ctx.now, since);
    ir_.CreateAlignedStore(started, sincePtr, llvm::Align(8));
    bpf_.require(ir_.CreateICmpUGE(ir_.CreateSub(ctx.now, started), ir_.getInt64(r.holdNs)), next, "held");
  } else {
    if (r.condition) branchOn(*r.condition, ctx, r, yes, next);
    else ir_.CreateBr(yes);
    ir_.SetInsertPoint(yes);
  }
  // `unless` stops the firing, not the `for` clock of the condition.
  if (r.unless) {
    llvm::BasicBlock* go = bpf_.block("not_unless");
    branchOn(*r.unless, ctx, r, next, go);
    ir_.SetInsertPoint(go);
  }
  // Without `for` or rate(), a false condition needs no state at all.
  llvm::Value* lastPtr = nullptr;
  if (r.cooldownNs) {
    lastPtr = stateWord(stateRow(ctx, next), r.lastWord());
    llvm::Value* last = ir_.CreateAlignedLoad(i64, lastPtr, llvm::Align(8));
    llvm::Value* cooling = ir_.CreateAnd(ir_.CreateICmpNE(last, ir_.getInt64(0)),
                                         ir_.CreateICmpULT(ir_.CreateSub(ctx.now, last), ir_.getInt64(r.cooldownEndsNs())));
    bpf_.require(ir_.CreateNot(cooling), next, "cooled");
  }
  if (r.atMost) {
    // at most N per D, across all cgroups and CPUs: a window per rule.
    llvm::AllocaInst* key = scratch().counterKey;
    ir_.CreateStore(ir_.getInt32(r.id), key);
    llvm::Value* window = bpf_.mapLookup(mod_.windows, key);
    bpf_.require(ir_.CreateIsNotNull(window), next, "window");
    llvm::Value* startPtr = ir_.CreateStructGEP(mod_.windowTy, window, 0);
    llvm::Value* countPtr = ir_.CreateStructGEP(mod_.windowTy, window, 1);
    llvm::Value* start = ir_.CreateAlignedLoad(i64, startPtr, llvm::Align(8));
    llvm::Value* count = ir_.CreateAlignedLoad(i64, countPtr, llvm::Align(8));
    llvm::Value* expired = ir_.CreateICmpUGE(ir_.CreateSub(ctx.now, start), ir_.getInt64(r.atMostPerNs));
    llvm::Value* fresh = ir_.CreateOr(expired, ir_.CreateICmpEQ(start, ir_.getInt64(0)));
    count = ir_.CreateSelect(fresh, ir_.getInt64(0), count);
    ir_.CreateAlignedStore(ir_.CreateSelect(fresh, ctx.now, start), startPtr, llvm::Align(8));
    bpf_.require(ir_.CreateICmpULT(count, ir_.getInt64(r.atMost)), next, "allowed");
    ir_.CreateAlignedStore(ir_.CreateAdd(count, ir_.getInt64(1)), countPtr, llvm::Align(8));
  }
  if (lastPtr) ir_.CreateAlignedStore(ctx.now, lastPtr, llvm::Align(8));
  bump(counters, 1);
  for (const auto& a : r.actions) action(r, a, ctx, counters);
  ir_.CreateBr(next);
  ir_.SetInsertPoint(next);
}

void Emitter::action(const plan::Rule& r, const plan::Action& a, EvalContext& ctx, llvm::Value* counters) {
  auto* i64 = ir_.getInt64Ty();
  // Compute everything first: the reservation must not be held across a
  // path that could skip its submit.
  llvm::Value* arg = ir_.getInt64(0);
  if (a.amount) arg = expr(*a.amount, ctx, r);
  std::vector<llvm::Value*> values;
  if (a.kind == MMP_ACTION_LOG) {
    for (const ast::Expr* v : a.values) {
      llvm::Value* x = expr(*v, ctx, r);
      if (x->getType()->isIntegerTy(1)) x = ir_.CreateZExt(x, i64);
      values.push_back(x);
    }
  } else {
    for (const ast::Expr* v : r.values) values.push_back(expr(*v, ctx, r));
  }
  auto flagsOf = [&] {
    llvm::Value* flags = ir_.getInt32(a.flags | (a.kind == MMP_ACTION_UNTHROTTLE ? MMP_ARG_UNLIMITED : 0));
    if (a.amount)
      flags = ir_.CreateOr(flags, ir_.CreateSelect(ir_.CreateICmpEQ(arg, ir_.getInt64(MMP_UNLIMITED)),
                                                   ir_.getInt32(MMP_ARG_UNLIMITED), ir_.getInt32(0)));
    return flags;
  };
  // A kill `in kernel`, in the hook's copy that makes it (emit_kernel_kill.cpp).
  bool inKernel = fn_.kernelKills && a.kind == MMP_ACTION_KILL && (a.flags & MMP_KILL_IN_KERNEL);
  if (fn_.compact && !inKernel && sharedDecision(r, a, ctx, counters, arg, flagsOf(), values)) return;
  llvm::Value* d = bpf_.ringbufReserve(mod_.decisions, sizeof(struct mmp_decision));
  llvm::BasicBlock* full = bpf_.block("ringbuf_full");
  llvm::BasicBlock* done = bpf_.block("action_done");
  llvm::BasicBlock* fill = bpf_.block("fill");
  ir_.CreateCondBr(ir_.CreateIsNull(d), full, fill);
  ir_.SetInsertPoint(full);
  bump(counters, 2);
  ir_.CreateBr(done);
  ir_.SetInsertPoint(fill);
  llvm::Value* flags = flagsOf();
  if (inKernel) {
    // The record is reserved first: a kill is never made that mmrun would
    // not hear of. It then names the pid signalled, or asks mmrun to kill.
    int sig = MMP_KILL_SIGNAL(a.flags) ? static_cast<int>(MMP_KILL_SIGNAL(a.flags)) : 9;  // SIGKILL
    llvm::Value* pid = ir_.CreateCall(kernelKillSearch(), {ctx.cgroupId, ir_.getInt64(sig)});
    llvm::Value* killed = ir_.CreateICmpNE(pid, ir_.getInt64(0));
    flags = ir_.CreateOr(flags, ir_.CreateSelect(killed, ir_.getInt32(MMP_KILL_BY_KERNEL), ir_.getInt32(0)));
    arg = ir_.CreateSelect(killed, pid, arg);
  }
  // The record is 8-aligned: give each store the alignment its offset has,
  // so that neighbouring constants merge into 8-byte stores.
  static const size_t offsets[] = {offsetof(struct mmp_decision, version),   offsetof(struct mmp_decision, action),
                                   offsetof(struct mmp_decision, rule),      offsetof(struct mmp_decision, cgroup_id),
                                   offsetof(struct mmp_decision, time_ns),   offsetof(struct mmp_decision, arg),
                                   offsetof(struct mmp_decision, flags),     offsetof(struct mmp_decision, action_index)};
  auto store = [&](unsigned field, llvm::Value* v, unsigned) {
    size_t off = offsets[field];
    unsigned align = off % 8 == 0 ? 8 : off % 4 == 0 ? 4 : 2;
    ir_.CreateAlignedStore(v, ir_.CreateStructGEP(mod_.decisionTy, d, field), llvm::Align(align));
  };
  store(0, ir_.getInt16(MMP_DECISION_VERSION), 2);
  store(1, ir_.getInt16(a.kind), 2);
  store(2, ir_.getInt32(r.id), 4);
  store(3, ctx.cgroupId, 8);
  store(4, ctx.now, 8);
  store(5, arg, 8);
  store(6, flags, 4);
  store(7, ir_.getInt32(a.index), 4);
  llvm::Value* arr = ir_.CreateStructGEP(mod_.decisionTy, d, 8);
  for (unsigned i = 0; i < MMP_MAX_VALUES; ++i) {
    llvm::Value* v = i < values.size() ? values[i] : ir_.getInt64(0);
    if (v->getType()->isIntegerTy(1)) v = ir_.CreateZExt(v, i64);
    ir_.CreateAlignedStore(v, ir_.CreateConstInBoundsGEP2_32(llvm::ArrayType::get(i64, MMP_MAX_VALUES), arr, 0, i),
                           llvm::Align(8));
  }
  bpf_.ringbufSubmit(d);
  ir_.CreateBr(done);
  ir_.SetInsertPoint(done);
}

}  // namespace mmp::codegen

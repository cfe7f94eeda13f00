// The programs, one per hook: each builds a snapshot of the subject and
// runs the rules on it (sending it first when loaded to record); the replay
// program runs the same rules on a snapshot passed in by user space.
#include <fmt/format.h>

#include <algorithm>
#include <cstddef>

#include "abi/mmp_abi.h"
#include "codegen/emitter.h"

namespace mmp::codegen {

namespace {

// Up to this many rules in an evaluator are inlined: the verifier then
// prunes at each rule's end and the calls' cost is gone (bench/RESULTS.md:
// ten.mmp's replay 63 -> 48 ns, its tick verifies 20 K instead of 27 K).
constexpr size_t kInlineRules = 16;

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
  di_.function(f, mod_.int32, {di_.pointerTo(nullptr)}, ir_);
  mod_.used.push_back(f);
  return f;
}

// An internal `void NAME(struct mmp_snapshot *[, __u64 *row])`, its entry
// block current.
llvm::Function* Emitter::snapshotFunction(const std::string& name, llvm::Attribute::AttrKind inlining,
                                          bool withRow) {
  std::vector<llvm::Type*> params(withRow ? 2 : 1, bpf_.ptrTy());
  auto* fnTy = llvm::FunctionType::get(ir_.getVoidTy(), params, false);
  auto* f = llvm::Function::Create(fnTy, llvm::GlobalValue::InternalLinkage, name, m_);
  f->addFnAttr(inlining);
  f->addFnAttr(llvm::Attribute::NoUnwind);
  ir_.SetInsertPoint(llvm::BasicBlock::Create(m_.getContext(), "entry", f));
  std::vector<llvm::DIType*> paramDi = {di_.pointerTo(mod_.snapshotDi)};
  if (withRow) paramDi.push_back(di_.pointerTo(mod_.u64));
  di_.function(f, nullptr, paramDi, ir_);
  return f;
}

// The rules `which` selects, in source order, as one inlined function.
// When one of them needs state whatever its condition, the cgroup's state
// row is fetched once here for all of them, if the cgroup is in the scope
// of any; a row the LRU map cannot make (it evicts rather than fails)
// skips the evaluation. Its rules are inlined (up to kInlineRules), or one
// static BPF subprogram each, or in the compact form (rulesPerGroup) in
// groups, one subprogram per group.
llvm::Function* Emitter::evaluator(const std::string& name, const std::function<bool(const plan::Rule&)>& which) {
  llvm::Function* f = snapshotFunction(name, llvm::Attribute::AlwaysInline, false);
  std::vector<const plan::Rule*> rules;
  bool eager = false;
  uint64_t scopes = 0;
  for (const auto& r : plan_.rules)
    if (which(r)) {
      rules.push_back(&r);
      eager |= r.statefulCondition();
      scopes |= 1ULL << r.scopeBit;
    }
  llvm::Value* snap = f->getArg(0);
  std::vector<llvm::Value*> args = {snap};
  llvm::BasicBlock* done = llvm::BasicBlock::Create(m_.getContext(), "done", f);
  if (eager) {
    llvm::Value* inScope =
        ir_.CreateICmpNE(ir_.CreateAnd(loadHeader(snap, offsetof(struct mmp_snapshot, scope_mask)), ir_.getInt64(scopes)), ir_.getInt64(0));
    bpf_.require(inScope, done, "in_scope");
    llvm::Value* row = lookupRow(loadHeader(snap, offsetof(struct mmp_snapshot, cgroup_id)));
    bpf_.require(ir_.CreateIsNotNull(row), done, "row");
    args.push_back(row);
  }
  if (rules.size() <= kInlineRules || mod_.rulesPerGroup == 1) {
    for (const plan::Rule* r : rules) ir_.CreateCall(ruleFunction(*r, rules.size(), eager), args);
  } else {
    for (size_t i = 0; i < rules.size(); i += mod_.rulesPerGroup) {
      std::span<const plan::Rule* const> group(rules.data() + i, std::min(rules.size() - i, mod_.rulesPerGroup));
      ir_.CreateCall(groupFunction(group, eager), args);
    }
  }
  ir_.CreateBr(done);
  ir_.SetInsertPoint(done);
  ir_.CreateRetVoid();
  return f;
}

// One rule as a function of the snapshot. Few rules are inlined; more
// become BPF subprograms, so that one conditional jump never spans more
// code than BPF's 16-bit offsets reach, nor spills more than 512 bytes.
llvm::Function* Emitter::ruleFunction(const plan::Rule& r, size_t rulesInEvaluator, bool withRow) {
  llvm::BasicBlock* resume = ir_.GetInsertBlock();
  llvm::DebugLoc resumeLoc = ir_.getCurrentDebugLocation();
  llvm::Function* f = snapshotFunction(fmt::format("mmp_rule{}{}", r.id, fn_.kernelKills ? "_kernel" : ""),
                                       rulesInEvaluator <= kInlineRules ? llvm::Attribute::AlwaysInline : llvm::Attribute::NoInline,
                                       withRow);
  evaluateOnSnapshot(r, f->getArg(0), withRow ? f->getArg(1) : nullptr);
  ir_.CreateRetVoid();
  ir_.SetInsertPoint(resume);
  ir_.SetCurrentDebugLocation(resumeLoc);
  return f;
}

// Rules per group of the compact form, or 1 for none. Up to kCompactFrom
// rules in the program that runs the most, none: each rule is inlined or
// its own subprogram, with all its code inline, which the verifier walks
// least (bench/RESULTS.md). Past it, evaluators of more than kInlineRules
// rules take the compact form: groups of at least kGroupRules consecutive
// rules, one static subprogram per group (LLVM pays for each function),
// whose rules call the subprograms of emit_shared.cpp for what every rule
// does alike (LLVM pays for each instruction); more rules per group when
// needed to keep a program under kMaxGroups groups, since the kernel allows
// 256 subprograms per program (BPF_MAX_SUBPROGS), the shared ones
// included. Either way the verifier's work grows linearly with the rules:
// a rule's paths meet again at its end.
size_t Emitter::rulesPerGroup() const {
  constexpr size_t kCompactFrom = 32, kGroupRules = 16, kMaxGroups = 192;
  size_t most = 0;
  for (plan::Hook h : plan_.hooks)
    most = std::max<size_t>(most, std::count_if(plan_.rules.begin(), plan_.rules.end(),
                                                 [&](const plan::Rule& r) { return r.hooks.count(h); }));
  if (most <= kCompactFrom) return 1;
  return std::max<size_t>(kGroupRules, (most + kMaxGroups - 1) / kMaxGroups);
}

// Consecutive rules of the compact form as one BPF subprogram,
// mmp_rules<first>_<last>, taking the evaluator's arguments. The rules are
// emitted in place, not as functions to inline: LLVM handles each once.
llvm::Function* Emitter::groupFunction(std::span<const plan::Rule* const> rules, bool withRow) {
  llvm::BasicBlock* resume = ir_.GetInsertBlock();
  llvm::DebugLoc resumeLoc = ir_.getCurrentDebugLocation();
  llvm::Function* f = snapshotFunction(fmt::format("mmp_rules{}_{}{}", rules.front()->id, rules.back()->id,
                                                   fn_.kernelKills ? "_kernel" : ""),
                                       llvm::Attribute::NoInline, withRow);
  fn_.compact = true;
  for (const plan::Rule* r : rules) evaluateOnSnapshot(*r, f->getArg(0), withRow ? f->getArg(1) : nullptr);
  fn_.compact = false;
  ir_.CreateRetVoid();
  ir_.SetInsertPoint(resume);
  ir_.SetCurrentDebugLocation(resumeLoc);
  return f;
}

llvm::Value* Emitter::loadHeader(llvm::Value* snap, size_t offset) {
  return ir_.CreateAlignedLoad(ir_.getInt64Ty(), ir_.CreateInBoundsGEP(ir_.getInt8Ty(), snap, ir_.getInt64(offset)),
                               llvm::Align(8));
}

void Emitter::storeHeader(llvm::Value* snap, size_t offset, llvm::Value* v) {
  ir_.CreateAlignedStore(v, ir_.CreateInBoundsGEP(ir_.getInt8Ty(), snap, ir_.getInt64(offset)), llvm::Align(8));
}

// One rule at the insertion point, on the snapshot `snap` (and the state
// row `row` when the evaluator fetched it); it reads the header afresh.
void Emitter::evaluateOnSnapshot(const plan::Rule& r, llvm::Value* snap, llvm::Value* row) {
  EvalContext ctx{snap, loadHeader(snap, offsetof(struct mmp_snapshot, time_ns)), loadHeader(snap, offsetof(struct mmp_snapshot, cgroup_id)),
                  loadHeader(snap, offsetof(struct mmp_snapshot, scope_mask)), row, {}, {}};
  evaluateRule(r, ctx);
}

// A hook program's frame: its function, a zeroed snapshot, and the block
// that returns 0 (where every early exit goes).
Emitter::HookFrame Emitter::beginHook(plan::Hook hook, const std::string& name) {
  llvm::Function* f = program(hook, name);
  llvm::BasicBlock* out = llvm::BasicBlock::Create(m_.getContext(), "out", f);
  return {f, newSnapshot(out, hook == plan::Hook::Replay ? f->getArg(0) : nullptr), out};
}

void Emitter::endHook(const HookFrame& frame) {
  ir_.CreateBr(frame.out);
  ir_.SetInsertPoint(frame.out);
  ir_.CreateRet(ir_.getInt32(0));
}

// A snapshot, zeroed or copied from `from`: on the stack when small; in
// the per-CPU map `mmp_snapshot` when large, since the BPF stack (512
// bytes) is shared with the rule subprograms a program calls.
llvm::Value* Emitter::newSnapshot(llvm::BasicBlock* out, llvm::Value* from) {
  auto* snapTy = llvm::ArrayType::get(ir_.getInt64Ty(), 3 + plan_.snapshot.size());
  llvm::Value* snap;
  if (mod_.snapshotMap) {
    llvm::AllocaInst* zero = bpf_.slot(ir_.getInt32Ty(), "snapshot_key");
    ir_.CreateStore(ir_.getInt32(0), zero);
    snap = bpf_.mapLookup(mod_.snapshotMap, zero);
    bpf_.require(ir_.CreateIsNotNull(snap), out, "snapshot");
  } else {
    snap = bpf_.slot(snapTy, "snapshot");
  }
  if (!from) {
    ir_.CreateAlignedStore(llvm::Constant::getNullValue(snapTy), snap, llvm::Align(8));
    return snap;
  }
  // The replay context is read once, word by word at constant offsets:
  // the verifier refuses a context pointer that has been moved, and LLVM
  // would otherwise merge two loads of one field on different paths into
  // one load through a phi of addresses. Volatile keeps them as written.
  for (uint64_t i = 0; i < snapTy->getNumElements(); ++i) {
    llvm::LoadInst* word = ir_.CreateAlignedLoad(
        ir_.getInt64Ty(), ir_.CreateInBoundsGEP(ir_.getInt8Ty(), from, ir_.getInt64(8 * i)), llvm::Align(8));
    word->setVolatile(true);
    ir_.CreateAlignedStore(word, ir_.CreateInBoundsGEP(ir_.getInt8Ty(), snap, ir_.getInt64(8 * i)), llvm::Align(8));
  }
  return snap;
}

// Fills the snapshot's header and fields for `cgroup`: time, id, scope
// mask (a cgroup in no scope ends the program when `scoped`), system and
// memcg fields.
bool Emitter::subjectSnapshot(llvm::Value* cgroup, llvm::Value* snap, llvm::BasicBlock* out, bool scoped) {
  auto* i64 = ir_.getInt64Ty();
  storeHeader(snap, offsetof(struct mmp_snapshot, time_ns), bpf_.ktimeNs());
  llvm::Value* id = cgroupIdOf(cgroup);
  storeHeader(snap, offsetof(struct mmp_snapshot, cgroup_id), id);
  if (scoped) {
    llvm::AllocaInst* key = bpf_.slot(i64, "cgroup_id");
    ir_.CreateAlignedStore(id, key, llvm::Align(8));
    llvm::Value* mask = bpf_.mapLookup(mod_.scopes, key);
    bpf_.require(ir_.CreateIsNotNull(mask), out, "scoped");
    storeHeader(snap, offsetof(struct mmp_snapshot, scope_mask), ir_.CreateAlignedLoad(i64, mask, llvm::Align(8)));
  } else {
    storeHeader(snap, offsetof(struct mmp_snapshot, scope_mask), ir_.getInt64(~0ULL));  // the runtime matches the scope itself
  }
  fillSystemFields(snap, out);
  fillMemcgFields(cgroup, snap);
  fillObservedFields(snap);
  return true;
}

void Emitter::emitTick() {
  HookFrame frame = beginHook(plan::Hook::Tick, MMP_PROG_TICK);
  auto [f, snap, out] = frame;
  // struct bpf_iter__cgroup { struct bpf_iter_meta *meta; struct cgroup *cgroup; }
  llvm::Value* ctx = f->getArg(0);
  llvm::Value* meta = ir_.CreateAlignedLoad(bpf_.ptrTy(), ctx, llvm::Align(8));
  llvm::Value* cgroup = ir_.CreateAlignedLoad(bpf_.ptrTy(), ir_.CreateInBoundsGEP(ir_.getInt8Ty(), ctx, ir_.getInt64(8)),
                                              llvm::Align(8));
  bpf_.require(ir_.CreateIsNotNull(cgroup), out, "cgroup");  // null after the last cgroup
  if (hasRules(plan_, true)) {
    // System rules once per walk, at its first cgroup (the walk's root).
    llvm::BasicBlock* memcgPart = llvm::BasicBlock::Create(m_.getContext(), "memcg_part", f);
    llvm::BasicBlock* first = llvm::BasicBlock::Create(m_.getContext(), "first", f);
    llvm::Value* seq = kernel_.emitRead(ir_, meta, *mod_.seqNumPath, memcgPart);
    ir_.CreateCondBr(ir_.CreateICmpEQ(seq, ir_.getInt64(0)), first, memcgPart);
    ir_.SetInsertPoint(first);
    ir_.CreateAlignedStore(bpf_.ktimeNs(), snap, llvm::Align(8));
    ir_.CreateAlignedStore(ir_.getInt64(~0ULL), ir_.CreateInBoundsGEP(ir_.getInt8Ty(), snap, ir_.getInt64(16)),
                           llvm::Align(8));
    recordSplit([&, snap = snap, out = out] {
      fillSystemFields(snap, out);
      sendSnapshot(snap);
      ir_.CreateCall(mod_.evalSystem, {snap});
    });
    ir_.CreateBr(memcgPart);
    ir_.SetInsertPoint(memcgPart);
  }
  bool pressure = mod_.evalEvent.count("pressure");
  if (hasRules(plan_, false) || pressure) {
    recordSplit([&, snap = snap, out = out] {
      subjectSnapshot(cgroup, snap, out, true);
      if (hasRules(plan_, false)) {
        sendSnapshot(snap);
        ir_.CreateCall(mod_.evalMemcg, {snap});
      }
    });
    if (pressure) {
      // A walk that mmrun started for a PSI trigger also runs `on pressure`
      // at the cgroup whose trigger fired (its id in mmp_trigger; 0: a tick).
      llvm::AllocaInst* zero = bpf_.slot(ir_.getInt32Ty(), "zero");
      ir_.CreateStore(ir_.getInt32(0), zero);
      llvm::Value* t = bpf_.mapLookup(mod_.trigger, zero);
      bpf_.require(ir_.CreateIsNotNull(t), out, "trigger");
      llvm::Value* fired = ir_.CreateAlignedLoad(ir_.getInt64Ty(), t, llvm::Align(8));
      llvm::Value* id = ir_.CreateAlignedLoad(ir_.getInt64Ty(), ir_.CreateInBoundsGEP(ir_.getInt8Ty(), snap, ir_.getInt64(8)),
                                              llvm::Align(8));
      bpf_.require(ir_.CreateICmpEQ(fired, id), out, "pressure");
      ir_.CreateCall(mod_.evalEvent["pressure"], {snap});
    }
  }
  endHook(frame);
}

// Reclaim begins: for memcg reclaim the `when` rules run at once on the
// current task's memcg (which is being charged), and `on reclaim` rules
// run for both kinds of reclaim, with `reclaim.order`.
void Emitter::emitReclaim(plan::Hook hook, const std::string& name, llvm::Function* evalMemcg) {
  bool memcgHook = hook == plan::Hook::MemcgReclaim;
  bool whenRules = memcgHook && hasRules(plan_, false);
  bool onRules = mod_.evalEvent.count("reclaim");
  // Stamped by both tracepoints: the kprobe that names the reclaimed memcg
  // may not attach (a kernel without kprobes). Where it does, it has
  // stamped the memcg's ancestors a moment before, and the walk stops there.
  bool stamp = mod_.reclaimSeen != nullptr;
  if (!whenRules && !onRules && !stamp) return;
  HookFrame frame = beginHook(hook, name);
  auto [f, snap, out] = frame;
  llvm::Value* task = bpf_.currentTask();
  bpf_.require(ir_.CreateIsNotNull(task), out, "task");
  llvm::Value* cgroup = kernel_.emitRead(ir_, task, *mod_.taskCgroupPath, out);
  bpf_.require(ir_.CreateIsNotNull(cgroup), out, "cgroup");
  if (stamp) stampReclaim(cgroup);
  if (!whenRules && !onRules) {
    endHook(frame);
    return;
  }
  recordSplit([&, f = f, snap = snap, out = out] {
    subjectSnapshot(cgroup, snap, out, true);
    fillEventArgs(f->getArg(0), snap, "reclaim");
    if (whenRules) {
      sendSnapshot(snap);
      ir_.CreateCall(evalMemcg, {snap});
    }
    if (onRules) ir_.CreateCall(mod_.evalEvent["reclaim"], {snap});
  });
  endHook(frame);
}

// Memcg reclaim begins, in try_to_free_mem_cgroup_pages(struct mem_cgroup
// *memcg, ...): stamp the memcg it reclaims from and its ancestors, whoever
// asked (the memcg's own tasks at its limit, a write to memory.reclaim from
// anywhere, a descendant's charge over an ancestor's memory.high). The
// tracepoint inside it names no memcg: only the current task's.
void Emitter::emitReclaimStamp() {
  llvm::Function* f = program(plan::Hook::ReclaimStamp, "mmp_reclaim_stamp");
  llvm::BasicBlock* out = llvm::BasicBlock::Create(m_.getContext(), "out", f);
  // A kprobe (fentry needs BPF trampolines, which not every kernel has): the
  // context is struct pt_regs, the memcg its first argument's register, a
  // plain address whose fields are read with bpf_probe_read_kernel.
  llvm::Value* memcg = ir_.CreateAlignedLoad(
      ir_.getInt64Ty(), ir_.CreateInBoundsGEP(ir_.getInt8Ty(), f->getArg(0), ir_.getInt64(mod_.firstArgOffset)), llvm::Align(8));
  bpf_.require(ir_.CreateICmpNE(memcg, ir_.getInt64(0)), out, "memcg");
  llvm::AllocaInst* slot = bpf_.slot(ir_.getInt64Ty(), "probe");
  KernelTypes::Loader load = [&](llvm::Value* at, llvm::Type* ty) -> llvm::Value* {
    bpf_.probeReadKernel(slot, static_cast<uint32_t>(m_.getDataLayout().getTypeStoreSize(ty)), at);
    return ir_.CreateAlignedLoad(ty, slot, llvm::Align(8));
  };
  llvm::Value* cgroup = kernel_.emitRead(ir_, ir_.CreateIntToPtr(memcg, bpf_.ptrTy()), *mod_.memcgCgroupPath, out, load);
  bpf_.require(ir_.CreateIsNotNull(cgroup), out, "cgroup");
  stampReclaim(cgroup, load);
  ir_.CreateBr(out);
  ir_.SetInsertPoint(out);
  ir_.CreateRet(ir_.getInt32(0));
}

// The OOM killer marks a victim: mark_victim(struct task_struct *, uid_t)
// on current kernels; older ones pass only the pid, and the memcg is then
// the current task's (the one whose allocation failed).
void Emitter::emitOom() {
  HookFrame frame = beginHook(plan::Hook::Oom, "mmp_oom");
  auto [f, snap, out] = frame;
  auto args = in_.btf.tracepointArgs("mark_victim");
  bool passesTask = args && !args->empty() && in_.btf.isPointer((*args)[0]);
  llvm::Value* ctx = f->getArg(0);
  llvm::Value* task = passesTask ? ir_.CreateAlignedLoad(bpf_.ptrTy(), ctx, llvm::Align(8)) : bpf_.currentTask();
  bpf_.require(ir_.CreateIsNotNull(task), out, "task");
  llvm::Value* cgroup = kernel_.emitRead(ir_, task, *mod_.taskCgroupPath, out);
  bpf_.require(ir_.CreateIsNotNull(cgroup), out, "cgroup");
  subjectSnapshot(cgroup, snap, out, true);
  if (passesTask) {
    fillTaskFields(task, snap, "oom");
  } else {
    uint32_t pid = plan_.snapshotIndex(bindingNamed("oom.victim.pid"));
    if (pid != UINT32_MAX)
      storeField(snap, pid, ir_.CreateZExt(ir_.CreateAlignedLoad(ir_.getInt32Ty(), ctx, llvm::Align(8)), ir_.getInt64Ty()));
  }
  ir_.CreateCall(mod_.evalEvent["oom"], {snap});
  endHook(frame);
}

// A cgroup appears: cgroup_mkdir(struct cgroup *, const char *path). It is
// in no scope map yet, so the decision goes out unscoped and mmrun matches
// the rule's scope against the new path before acting.
void Emitter::emitCgroupMkdir() {
  HookFrame frame = beginHook(plan::Hook::CgroupMkdir, "mmp_cgroup_mkdir");
  auto [f, snap, out] = frame;
  llvm::Value* cgroup = ir_.CreateAlignedLoad(bpf_.ptrTy(), f->getArg(0), llvm::Align(8));
  bpf_.require(ir_.CreateIsNotNull(cgroup), out, "cgroup");
  subjectSnapshot(cgroup, snap, out, false);
  ir_.CreateCall(mod_.evalEvent["cgroup_created"], {snap});
  endHook(frame);
}

// The replay entry: ctx is a struct mmp_snapshot from user space, copied
// before the rules read it; a zero cgroup id asks for the system rules.
void Emitter::emitReplay() {
  HookFrame frame = beginHook(plan::Hook::Replay, MMP_PROG_REPLAY);
  auto [f, snap, out] = frame;
  llvm::Value* id = ir_.CreateAlignedLoad(ir_.getInt64Ty(), ir_.CreateInBoundsGEP(ir_.getInt8Ty(), snap, ir_.getInt64(8)),
                                          llvm::Align(8));
  llvm::BasicBlock* system = llvm::BasicBlock::Create(m_.getContext(), "system", f);
  llvm::BasicBlock* memcg = llvm::BasicBlock::Create(m_.getContext(), "memcg", f);
  ir_.CreateCondBr(ir_.CreateICmpEQ(id, ir_.getInt64(0)), system, memcg);
  ir_.SetInsertPoint(system);
  if (hasRules(plan_, true)) ir_.CreateCall(mod_.evalSystem, {snap});
  ir_.CreateBr(out);
  ir_.SetInsertPoint(memcg);
  if (hasRules(plan_, false)) ir_.CreateCall(mod_.evalMemcg, {snap});
  endHook(frame);
}

}  // namespace mmp::codegen

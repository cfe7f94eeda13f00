// `kill ... in kernel` (docs/language.md §7, docs/kernel-interfaces.md):
// the memcg reclaim hook signals the victim itself. It runs in a second
// copy of that hook's program, mmp_memcg_reclaim_kernel, which mmrun loads
// instead of the plain one only where the kernel has the kfuncs the search
// needs (the task iterator, 6.7; bpf_send_signal_task, 6.13) and mmrun
// allows it (no --dry-run, no --pre-kill, the first policy). A copy rather
// than a branch: older verifiers refuse the search's loop outright (6.1's
// CFG check takes a fall-through into a loop's head for a back-edge), even
// behind a branch they would never take; a program not loaded is not seen.
//
// The search, mmp_kernel_kill(subject, signal), chooses as mmrun would:
// among the processes of the subject's memcg and those below it (at most
// kDepth levels), never a kernel thread, a process already exiting, one
// with oom_score_adj -1000, or one in or below a protected cgroup (the ids
// mmrun writes to mmp_protected, its key 0 once it has written them all:
// mmrun's own cgroup is among them), the largest resident set (file, anon
// and shmem pages, as mm_struct's counters hold them). At most
// max_actions_per_second kills in a second (mmp_kernel_window); mmrun
// counts them in its own limit too.
#include <fmt/format.h>

#include "abi/mmp_abi.h"
#include "codegen/emitter.h"

namespace mmp::codegen {

namespace {

constexpr unsigned kProtectedCgroups = 16384;
constexpr int kDepth = 8;                        // levels below the subject searched
constexpr uint64_t kPfExiting = 0x4, kPfKthread = 0x00200000;  // task_struct.flags
constexpr uint64_t kSignalGroupExit = 0x4;       // signal_struct.flags: a fatal signal is being delivered
constexpr int64_t kOomScoreAdjMin = -1000;
constexpr uint64_t kPidTypeTgid = 1;             // enum pid_type: the whole process
constexpr uint64_t kSecond = 1'000'000'000;

}  // namespace

bool Emitter::wantsKernelKill() const {
  if (plan_.settings.dryRun) return false;  // nothing is ever killed
  for (const auto& r : plan_.rules)
    for (const auto& a : r.actions)
      if (a.kind == MMP_ACTION_KILL && (a.flags & MMP_KILL_IN_KERNEL)) return true;
  return false;
}

// The access paths of the search, against the BTF compiled against. A
// kernel without them (before 6.2's mm_struct.rss_stat) gets no search:
// mmrun kills, as it would on a kernel without the kfuncs.
void Emitter::resolveKernelKill() {
  if (!wantsKernelKill()) return;
  ModuleContext::KernelKill k;
  auto path = [&](const char* root, std::vector<PathElement> p, std::optional<AccessPath>& out) {
    auto r = kernel_.resolve(root, p);
    if (!r) {
      k.missing = llvm::toString(r.takeError());
      return false;
    }
    out = std::move(*r);
    return true;
  };
  static const char* kCounters[] = {"0", "1", "3"};  // MM_FILEPAGES, MM_ANONPAGES, MM_SHMEMPAGES
  bool ok = path("task_struct", {"flags"}, k.flags) && path("task_struct", {"tgid"}, k.tgid) &&
            path("task_struct", {"mm"}, k.mm) && path("task_struct", {"signal", "flags"}, k.signalFlags) &&
            path("task_struct", {"signal", "oom_score_adj"}, k.oomScoreAdj) &&
            path("cgroup", {"self", "parent", "cgroup"}, k.parent);
  for (const char* c : kCounters) {
    std::optional<AccessPath> p;
    ok = ok && path("task_struct", {"mm", "rss_stat", c, "count"}, p);
    if (p) k.rss.push_back(std::move(*p));
  }
  auto task = kernel_.structId("task_struct");
  if (ok && task) {
    k.taskStruct = *task;
    kernel_.useStruct(k.taskStruct);
    mod_.kernelKill = std::move(k);
  }
}

void Emitter::defineKernelKillMaps() {
  if (!mod_.kernelKill) return;
  auto& k = *mod_.kernelKill;
  k.protectedMap = defineMap(MMP_MAP_PROTECTED, kMapHash, kProtectedCgroups, mod_.u64, mod_.u64, kNoPrealloc);
  k.window = defineMap(MMP_MAP_KERNEL_WINDOW, kMapArray, 1, di_.intType(32, false),
                       di_.structType("mmp_rule_window", 16, {{"start", mod_.u64, 0, 8}, {"count", mod_.u64, 8, 8}}));
}

// The kfuncs, weak: libbpf resolves them to null where the kernel lacks
// them. Their BTF prototypes must match the kernel's kind for kind (libbpf
// checks), so the task is the local struct task_struct, the iterator a
// struct bpf_iter_task, the pid type an enum.
llvm::Function* Emitter::kfunc(const char* name, llvm::Type* ret, const std::vector<llvm::Type*>& params,
                               llvm::DIType* retDi, const std::vector<llvm::DIType*>& paramsDi) {
  if (llvm::Function* f = m_.getFunction(name)) return f;
  auto* f = llvm::Function::Create(llvm::FunctionType::get(ret, params, false), llvm::GlobalValue::ExternalWeakLinkage,
                                   name, m_);
  f->setSection(".ksyms");
  di_.declaration(f, retDi, paramsDi);
  return f;
}

// mmp_kernel_kill(subject cgroup id, signal): the pid it signalled, or 0.
llvm::Function* Emitter::kernelKillSearch() {
  auto& k = *mod_.kernelKill;
  if (k.search) return k.search;
  auto* i32 = ir_.getInt32Ty();
  auto* i64 = ir_.getInt64Ty();
  auto* ptr = bpf_.ptrTy();
  llvm::BasicBlock* resume = ir_.GetInsertBlock();
  llvm::DebugLoc resumeLoc = ir_.getCurrentDebugLocation();

  llvm::DIType* taskDi = di_.pointerTo(kernel_.diStruct(k.taskStruct));
  llvm::DIType* iterDi =
      di_.pointerTo(di_.structType("bpf_iter_task", 24, {{"__opaque", di_.arrayOf(mod_.u64, 3, 8), 0, 24}}));
  llvm::DIType* int32 = di_.intType(32, true);
  llvm::Function* iterNew = kfunc("bpf_iter_task_new", i32, {ptr, ptr, i32}, int32, {iterDi, taskDi, di_.intType(32, false)});
  llvm::Function* iterNext = kfunc("bpf_iter_task_next", ptr, {ptr}, taskDi, {iterDi});
  llvm::Function* iterDestroy = kfunc("bpf_iter_task_destroy", ir_.getVoidTy(), {ptr}, nullptr, {iterDi});
  llvm::Function* fromPid = kfunc("bpf_task_from_pid", ptr, {i32}, taskDi, {int32});
  llvm::Function* release = kfunc("bpf_task_release", ir_.getVoidTy(), {ptr}, nullptr, {taskDi});
  llvm::Function* send = kfunc("bpf_send_signal_task", i32, {ptr, i32, i32, i64}, int32,
                               {taskDi, int32, kernel_.diEnum("pid_type", "PIDTYPE_TGID", kPidTypeTgid), mod_.u64});

  auto* f = llvm::Function::Create(llvm::FunctionType::get(i64, {i64, i64}, false), llvm::GlobalValue::InternalLinkage,
                                   "mmp_kernel_kill", m_);
  f->addFnAttr(llvm::Attribute::NoInline);
  f->addFnAttr(llvm::Attribute::NoUnwind);
  ir_.SetInsertPoint(llvm::BasicBlock::Create(m_.getContext(), "entry", f));
  di_.function(f, mod_.u64, {mod_.u64, mod_.u64}, ir_);
  llvm::Value* subject = f->getArg(0);
  llvm::BasicBlock* none = llvm::BasicBlock::Create(m_.getContext(), "none", f);

  // mmrun has written the protected cgroups (key 0).
  llvm::AllocaInst* key = bpf_.slot(i64, "protected_key");
  ir_.CreateAlignedStore(ir_.getInt64(0), key, llvm::Align(8));
  bpf_.require(ir_.CreateIsNotNull(bpf_.mapLookup(k.protectedMap, key)), none, "listed");
  // The second's window: start, count.
  llvm::AllocaInst* zero = bpf_.slot(i32, "window_key");
  ir_.CreateStore(ir_.getInt32(0), zero);
  llvm::Value* window = bpf_.mapLookup(k.window, zero);
  bpf_.require(ir_.CreateIsNotNull(window), none, "window");
  llvm::Value* startPtr = ir_.CreateStructGEP(mod_.windowTy, window, 0);
  llvm::Value* countPtr = ir_.CreateStructGEP(mod_.windowTy, window, 1);
  llvm::Value* now = bpf_.ktimeNs();
  llvm::Value* start = ir_.CreateAlignedLoad(i64, startPtr, llvm::Align(8));
  llvm::Value* fresh = ir_.CreateOr(ir_.CreateICmpEQ(start, ir_.getInt64(0)),
                                    ir_.CreateICmpUGE(ir_.CreateSub(now, start), ir_.getInt64(kSecond)));
  llvm::BasicBlock* reset = bpf_.block("window_reset");
  llvm::BasicBlock* counted = bpf_.block("window_count");
  ir_.CreateCondBr(fresh, reset, counted);
  ir_.SetInsertPoint(reset);
  ir_.CreateAlignedStore(now, startPtr, llvm::Align(8));
  ir_.CreateAlignedStore(ir_.getInt64(0), countPtr, llvm::Align(8));
  ir_.CreateBr(counted);
  ir_.SetInsertPoint(counted);
  llvm::Value* count = ir_.CreateAlignedLoad(i64, countPtr, llvm::Align(8));
  bpf_.require(ir_.CreateICmpULT(count, ir_.getInt64(plan_.settings.maxActionsPerSecond)), none, "allowed");

  // Every process (BPF_TASK_ITER_ALL_PROCS: group leaders).
  llvm::AllocaInst* iter = bpf_.slot(llvm::ArrayType::get(i64, 3), "task_iter");
  llvm::AllocaInst* bestPid = bpf_.slot(i64, "best_pid");
  llvm::AllocaInst* bestRss = bpf_.slot(i64, "best_rss");
  ir_.CreateAlignedStore(ir_.getInt64(0), bestPid, llvm::Align(8));
  ir_.CreateAlignedStore(ir_.getInt64(0), bestRss, llvm::Align(8));
  ir_.CreateCall(iterNew, {iter, llvm::ConstantPointerNull::get(ptr), ir_.getInt32(0)});
  llvm::BasicBlock* loop = bpf_.block("next_task");
  llvm::BasicBlock* end = llvm::BasicBlock::Create(m_.getContext(), "searched", f);
  ir_.CreateBr(loop);
  ir_.SetInsertPoint(loop);
  llvm::Value* task = ir_.CreateCall(iterNext, {iter});
  bpf_.require(ir_.CreateIsNotNull(task), end, "task");
  llvm::Value* flags = kernel_.emitRead(ir_, task, *k.flags, loop);
  bpf_.require(ir_.CreateICmpEQ(ir_.CreateAnd(flags, ir_.getInt64(kPfExiting | kPfKthread)), ir_.getInt64(0)), loop,
               "user_task");
  llvm::Value* mm = kernel_.emitRead(ir_, task, *k.mm, loop);
  bpf_.require(ir_.CreateIsNotNull(mm), loop, "has_mm");
  llvm::Value* signalFlags = kernel_.emitRead(ir_, task, *k.signalFlags, loop);
  bpf_.require(ir_.CreateICmpEQ(ir_.CreateAnd(signalFlags, ir_.getInt64(kSignalGroupExit)), ir_.getInt64(0)), loop,
               "not_dying");
  llvm::Value* adj = kernel_.emitRead(ir_, task, *k.oomScoreAdj, loop);
  bpf_.require(ir_.CreateICmpNE(ir_.CreateSExt(ir_.CreateTrunc(adj, ir_.getInt16Ty()), i64), ir_.getInt64(kOomScoreAdjMin)),
               loop, "killable");
  // Its memcg's cgroup, then up to the subject: none protected on the way.
  llvm::Value* cgroup = kernel_.emitRead(ir_, task, *mod_.taskCgroupPath, loop);
  bpf_.require(ir_.CreateIsNotNull(cgroup), loop, "cgroup");
  llvm::BasicBlock* candidate = bpf_.block("candidate");
  for (int level = 0;; ++level) {
    llvm::Value* id = cgroupIdOf(cgroup);
    ir_.CreateAlignedStore(id, key, llvm::Align(8));
    bpf_.require(ir_.CreateIsNull(bpf_.mapLookup(k.protectedMap, key)), loop, "unprotected");
    if (level == kDepth) {
      ir_.CreateCondBr(ir_.CreateICmpEQ(id, subject), candidate, loop);
      break;
    }
    llvm::BasicBlock* up = bpf_.block("up");
    ir_.CreateCondBr(ir_.CreateICmpEQ(id, subject), candidate, up);
    ir_.SetInsertPoint(up);
    cgroup = kernel_.emitRead(ir_, cgroup, *k.parent, loop);
    bpf_.require(ir_.CreateIsNotNull(cgroup), loop, "parent");
  }
  ir_.SetInsertPoint(candidate);
  llvm::Value* rss = nullptr;
  for (const auto& p : k.rss) {
    llvm::Value* v = kernel_.emitRead(ir_, task, p, nullptr);  // a NULL mm reads 0
    rss = rss ? ir_.CreateAdd(rss, v) : v;
  }
  llvm::Value* best = ir_.CreateAlignedLoad(i64, bestRss, llvm::Align(8));
  llvm::BasicBlock* larger = bpf_.block("larger");
  ir_.CreateCondBr(ir_.CreateICmpSGT(rss, best), larger, loop);
  ir_.SetInsertPoint(larger);
  ir_.CreateAlignedStore(rss, bestRss, llvm::Align(8));
  ir_.CreateAlignedStore(kernel_.emitRead(ir_, task, *k.tgid, nullptr), bestPid, llvm::Align(8));
  ir_.CreateBr(loop);

  // The largest, signalled by pid: the iterator's task is not kept past
  // its step, bpf_task_from_pid takes a reference.
  ir_.SetInsertPoint(end);
  ir_.CreateCall(iterDestroy, {iter});
  llvm::Value* pid = ir_.CreateAlignedLoad(i64, bestPid, llvm::Align(8));
  bpf_.require(ir_.CreateICmpNE(pid, ir_.getInt64(0)), none, "found");
  llvm::Value* victim = ir_.CreateCall(fromPid, {ir_.CreateTrunc(pid, i32)});
  bpf_.require(ir_.CreateIsNotNull(victim), none, "alive");
  llvm::Value* err =
      ir_.CreateCall(send, {victim, ir_.CreateTrunc(f->getArg(1), i32), ir_.getInt32(kPidTypeTgid), ir_.getInt64(0)});
  ir_.CreateCall(release, {victim});
  bpf_.require(ir_.CreateICmpEQ(err, ir_.getInt32(0)), none, "signalled");
  ir_.CreateAtomicRMW(llvm::AtomicRMWInst::Add, countPtr, ir_.getInt64(1), llvm::MaybeAlign(8),
                      llvm::AtomicOrdering::Monotonic);
  ir_.CreateRet(pid);
  ir_.SetInsertPoint(none);
  ir_.CreateRet(ir_.getInt64(0));

  k.search = f;
  ir_.SetInsertPoint(resume);
  ir_.SetCurrentDebugLocation(resumeLoc);
  return f;
}

}  // namespace mmp::codegen

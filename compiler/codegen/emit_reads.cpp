// Reading kernel data into the snapshot: cgroup and memcg fields through
// CO-RE access paths, system fields from the map mmrun fills each tick.
#include <fmt/format.h>

#include <algorithm>
#include <cstddef>

#include "abi/mmp_abi.h"
#include "codegen/emitter.h"

namespace mmp::codegen {

namespace {

constexpr uint64_t kPageSize = 4096;  // x86-64 and the common arm64 configuration
constexpr uint64_t kPageCounterMax = INT64_MAX / kPageSize;  // PAGE_COUNTER_MAX: "max"

// A binding's access path (bindings.h), as the kernel types take it; a
// slot element by its place in `slots`.
std::vector<PathElement> pathOf(const KernelPath& path, const std::vector<SlotUse>& slots) {
  std::vector<PathElement> out;
  for (const auto& e : path) {
    if (e.table) {
      int k = 0;
      while (slots[static_cast<size_t>(k)].table != e.table || slots[static_cast<size_t>(k)].item != e.item) ++k;
      out.push_back(PathElement::slotted(k));
    } else if (!e.as.empty()) out.emplace_back("(" + e.as + ")");  // KernelBtf::resolvePath's cast
    else if (e.index.empty()) out.emplace_back(e.name);
    else out.emplace_back(e.index, e.rows);
  }
  return out;
}

}  // namespace

bool Emitter::resolveFields() {
  size_t mark = diags_.mark();
  bool needMemcg = false;
  mod_.slotUses = slotsOf(plan_.snapshot);
  for (size_t i = 0; i < plan_.snapshot.size(); ++i) {
    const Binding* b = plan_.snapshot[i];
    if (b->kernel.from.empty()) continue;
    const std::string& from = b->kernel.from;
    // Each way the bindings give to read it (`path` or `sum`, then each of
    // `or`), as the BTF compiled against and the bindings' types resolve it.
    std::vector<std::vector<KernelPath>> ways{b->kernel.paths};
    ways.insert(ways.end(), b->kernel.otherwise.begin(), b->kernel.otherwise.end());
    std::vector<std::vector<AccessPath>> resolved;
    std::string why;
    for (const auto& way : ways) {
      std::vector<AccessPath> sum;
      for (const auto& p : way) {
        auto path = kernel_.resolve(from, pathOf(p, mod_.slotUses));
        if (!path) {
          std::string e = llvm::toString(path.takeError());
          if (why.empty()) why = e;
          sum.clear();
          break;
        }
        sum.push_back(std::move(*path));
      }
      if (!sum.empty()) resolved.push_back(std::move(sum));
    }
    if (resolved.empty()) {
      diags_.report(DiagCode::E0401, plan_.snapshotUse[i], fmt::format("`{}` cannot be read on this kernel: {}", b->name, why))
          .note(fmt::format("compiled against the BTF of {}", in_.btf.path()))
          .help("compile against a kernel that has the member (`--btf FILE`), or do without the field");
      continue;
    }
    mod_.fieldPaths[b] = resolved[0];
    // Several ways: the running kernel's is chosen at load time.
    if (ways.size() > 1) mod_.fieldAlternatives[b] = std::move(resolved);
    needMemcg |= from == "mem_cgroup";
  }
  auto id = kernel_.resolve("cgroup", {"kn", "id"});
  if (!id) {
    diags_.report(DiagCode::E0401, {}, fmt::format("cgroup ids cannot be read: {}", llvm::toString(id.takeError())));
    return false;
  }
  mod_.cgroupIdPath = std::move(*id);
  // The walk's position, and the current task's memory cgroup (reclaim hook).
  auto seq = kernel_.resolve("bpf_iter_meta", {"seq_num"});
  auto task = kernel_.resolve("task_struct", {"cgroups", "subsys", "@cgroup_subsys_id:memory_cgrp_id", "cgroup"});
  if (!seq || !task) {
    diags_.report(DiagCode::E0401, {}, fmt::format("the kernel lacks what the hooks need: {}{}",
                                                   seq ? "" : llvm::toString(seq.takeError()),
                                                   task ? "" : llvm::toString(task.takeError())));
    return false;
  }
  mod_.seqNumPath = std::move(*seq);
  if (mod_.reclaimSeen || std::any_of(plan_.snapshot.begin(), plan_.snapshot.end(),
                                  [](const Binding* b) { return b->kernel.observed == "reclaim"; })) {
    // A cgroup's parent: its css's parent's cgroup (NULL at the root).
    auto parent = kernel_.resolve("cgroup", {"self", "parent", "cgroup"});
    if (!parent) {
      diags_.report(DiagCode::E0401, {}, fmt::format("cgroup parents cannot be read: {}", llvm::toString(parent.takeError())));
      return false;
    }
    mod_.parentPath = std::move(*parent);
    // The cgroup of a memcg: the memcg's css's.
    auto cg = kernel_.resolve("mem_cgroup", {"css", "cgroup"});
    if (!cg) {
      diags_.report(DiagCode::E0401, {}, fmt::format("a memcg's cgroup cannot be read: {}", llvm::toString(cg.takeError())));
      return false;
    }
    mod_.memcgCgroupPath = std::move(*cg);
    // A kprobe's first argument: its register in struct pt_regs (x86-64's
    // di; arm64's regs[0]).
    auto di = in_.btf.resolvePath("pt_regs", {"di"});
    if (!di) {
      llvm::consumeError(di.takeError());
      di = in_.btf.resolvePath("pt_regs", {"regs", "0"});
    }
    if (!di || di->empty()) {
      diags_.report(DiagCode::E0401, {}, "the first argument of a kprobe cannot be found in this kernel's struct pt_regs");
      if (!di) llvm::consumeError(di.takeError());
      return false;
    }
    mod_.firstArgOffset = 0;
    for (const auto& step : *di) mod_.firstArgOffset += step.byteOffset;
  }
  mod_.taskCgroupPath = std::move(*task);
  if (needMemcg) {
    auto css = kernel_.resolve("cgroup", {"subsys", "@cgroup_subsys_id:memory_cgrp_id"});
    auto memcg = kernel_.structId("mem_cgroup");
    if (!css || !memcg) {
      diags_.report(DiagCode::E0401, plan_.snapshotUse.front(), "the kernel has no memory controller in its BTF");
      return false;
    }
    mod_.cssPath = std::move(*css);
    mod_.memcgStruct = *memcg;
    kernel_.useStruct(mod_.memcgStruct);
  }
  return !diags_.errorsSince(mark);
}

llvm::Value* Emitter::cgroupIdOf(llvm::Value* cgroup, const KernelTypes::Loader& load) {
  // kn is never null for a live cgroup; were it, the id would read 0,
  // which no scope has.
  return kernel_.emitRead(ir_, cgroup, *mod_.cgroupIdPath, nullptr, load);
}

llvm::Value* Emitter::memcgOf(llvm::Value* cgroup, llvm::BasicBlock* onNull) {
  // No memory controller: a NULL css, and the probing reads from it give 0.
  (void)onNull;
  // The memcg is the css's container, and `css` is struct mem_cgroup's first
  // member on every kernel, so the css pointer is the memcg pointer. The
  // verifier types it as a css: fillMemcgFields casts it where it can.
  return kernel_.emitRead(ir_, cgroup, *mod_.cssPath, nullptr);
}

// extern void *bpf_rdonly_cast(const void *obj, u32 btf_id) __ksym __weak;
llvm::Function* Emitter::rdonlyCast() {
  if (mod_.rdonlyCast) return mod_.rdonlyCast;
  auto* type = llvm::FunctionType::get(bpf_.ptrTy(), {bpf_.ptrTy(), ir_.getInt32Ty()}, false);
  auto* f = llvm::Function::Create(type, llvm::GlobalValue::ExternalWeakLinkage, "bpf_rdonly_cast", m_);
  f->setSection(".ksyms");
  di_.declaration(f, di_.pointerTo(nullptr), {di_.pointerTo(nullptr), di_.intType(32, false)});
  mod_.rdonlyCast = f;
  return f;
}

llvm::Value* Emitter::convert(llvm::Value* raw, const Binding& b) {
  switch (b.kernel.scale) {
    case KernelScale::None: return raw;
    case KernelScale::Pages: {
      llvm::Value* bytes = ir_.CreateMul(raw, ir_.getInt64(kPageSize));
      if (!b.unlimited) return bytes;
      llvm::Value* isMax = ir_.CreateICmpUGE(raw, ir_.getInt64(kPageCounterMax));
      return ir_.CreateSelect(isMax, ir_.getInt64(MMP_UNLIMITED), bytes);
    }
    case KernelScale::PsiFixed:  // percent * 2048 (FIXED_1) → thousandths of a percent
      return ir_.CreateLShr(ir_.CreateMul(raw, ir_.getInt64(125)), 8);
  }
  return raw;
}

const Binding* Emitter::bindingNamed(const std::string& name) const {
  for (const Binding* b : plan_.snapshot)
    if (b->name == name) return b;
  return nullptr;
}

void Emitter::storeField(llvm::Value* snapshot, uint32_t index, llvm::Value* v) {
  ir_.CreateAlignedStore(v, ir_.CreateInBoundsGEP(ir_.getInt8Ty(), snapshot, ir_.getInt64(24 + 8 * index)),
                         llvm::Align(8));
}

// Reads the fields `which` selects from `base` (their root struct); a null
// pointer on a field's way leaves that field 0.
void Emitter::fillFields(llvm::Value* base, llvm::Value* snapshot, const std::function<bool(const Binding&)>& which,
                         bool probe) {
  // Probing reads share one stack slot: each is loaded before the next.
  llvm::AllocaInst* slot = nullptr;
  KernelTypes::Loader probing = [&](llvm::Value* at, llvm::Type* ty) -> llvm::Value* {
    if (!slot) slot = bpf_.slot(ir_.getInt64Ty(), "probe");
    bpf_.probeReadKernel(slot, static_cast<uint32_t>(m_.getDataLayout().getTypeStoreSize(ty)), at);
    return ir_.CreateAlignedLoad(ty, slot, llvm::Align(8));
  };
  if (probe) slot = bpf_.slot(ir_.getInt64Ty(), "probe");
  KernelTypes::Loader load = probe ? probing : KernelTypes::Loader();
  auto readSum = [&](const std::vector<AccessPath>& paths, const KernelTypes::Loader& loader) {
    llvm::Value* sum = nullptr;
    for (const auto& path : paths) {
      llvm::Value* v = kernel_.emitRead(ir_, base, path, nullptr, loader);  // NULL on the way: 0
      sum = sum ? ir_.CreateAdd(sum, v) : v;
    }
    return sum;
  };
  for (uint32_t i = 0; i < plan_.snapshot.size(); ++i) {
    const Binding* b = plan_.snapshot[i];
    auto it = mod_.fieldPaths.find(b);
    if (it == mod_.fieldPaths.end() || !which(*b)) continue;
    auto alternatives = mod_.fieldAlternatives.find(b);
    if (alternatives == mod_.fieldAlternatives.end()) {
      storeField(snapshot, i, convert(readSum(it->second, load), *b));
      continue;
    }
    // The first way whose field the running kernel has (libbpf makes each
    // test a constant, so the verifier walks one way only; the others'
    // relocations, which fail there, are in dead code), else 0. Probed:
    // another kernel's layout may hold what its verifier cannot walk by
    // direct loads (6.1's: an array of atomic_long_t, a typedef).
    llvm::Function* f = ir_.GetInsertBlock()->getParent();
    auto& ctx = m_.getContext();
    llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx, "way.done", f);
    std::vector<std::pair<llvm::Value*, llvm::BasicBlock*>> incoming;
    for (const auto& way : alternatives->second) {
      llvm::Value* has = kernel_.emitExists(ir_, base, way.front(), probing);
      llvm::BasicBlock* read = llvm::BasicBlock::Create(ctx, "way.read", f);
      llvm::BasicBlock* next = llvm::BasicBlock::Create(ctx, "way.next", f);
      ir_.CreateCondBr(ir_.CreateICmpNE(has, ir_.getInt32(0)), read, next);
      ir_.SetInsertPoint(read);
      llvm::Value* v = readSum(way, probing);
      incoming.emplace_back(v, ir_.GetInsertBlock());
      ir_.CreateBr(done);
      ir_.SetInsertPoint(next);
    }
    incoming.emplace_back(ir_.getInt64(0), ir_.GetInsertBlock());
    ir_.CreateBr(done);
    ir_.SetInsertPoint(done);
    llvm::PHINode* value = ir_.CreatePHI(ir_.getInt64Ty(), static_cast<unsigned>(incoming.size()), "way");
    for (const auto& [v, from] : incoming) value->addIncoming(v, from);
    storeField(snapshot, i, convert(value, *b));
  }
}

void Emitter::fillMemcgFields(llvm::Value* cgroup, llvm::Value* snapshot) {
  auto from = [](const Binding& b) { return b.kernel.from; };
  fillFields(cgroup, snapshot, [&](const Binding& b) { return b.context == FieldContext::Memcg && from(b) == "cgroup"; });
  bool anyMemcg = false;
  for (const auto& [b, paths] : mod_.fieldPaths) anyMemcg |= from(*b) == "mem_cgroup";
  if (!anyMemcg) return;
  // A cgroup without a memory controller reads its memcg fields as 0.
  llvm::Value* memcg = memcgOf(cgroup, nullptr);
  auto memcgFields = [&](const Binding& b) { return from(b) == "mem_cgroup"; };
  // The fast path each kernel allows, chosen at load: where the kernel has
  // the kfunc bpf_rdonly_cast (6.2+), the css pointer is cast to the
  // memcg and its fields are direct loads (one instruction each, which
  // read 0 through a NULL pointer as probe reads do); elsewhere (Debian
  // 12's 6.1) bpf_probe_read_kernel. libbpf resolves the weak kfunc to
  // null where the kernel lacks it, and the verifier drops the branch not
  // taken, so one object loads everywhere and verifies one path.
  llvm::Function* cast = rdonlyCast();
  llvm::BasicBlock* direct = bpf_.block("memcg_direct");
  llvm::BasicBlock* probed = bpf_.block("memcg_probed");
  llvm::BasicBlock* done = bpf_.block("memcg_read");
  ir_.CreateCondBr(ir_.CreateIsNotNull(cast), direct, probed);
  ir_.SetInsertPoint(direct);
  llvm::Value* typeId = ir_.CreateTrunc(kernel_.emitTypeId(ir_, mod_.memcgStruct), ir_.getInt32Ty());
  fillFields(ir_.CreateCall(cast, {memcg, typeId}), snapshot, memcgFields);
  ir_.CreateBr(done);
  ir_.SetInsertPoint(probed);
  fillFields(memcg, snapshot, memcgFields, true);
  ir_.CreateBr(done);
  ir_.SetInsertPoint(done);
}

void Emitter::fillTaskFields(llvm::Value* task, llvm::Value* snapshot, const std::string& event) {
  fillFields(task, snapshot, [&](const Binding& b) {
    return b.context == FieldContext::Event && b.event == event && b.kernel.from == "task_struct";
  });
}

// Fields the hooks observe: memcg.since_reclaim, from the stamp the reclaim
// hooks left for this cgroup (none: unlimited, "not since the load").
void Emitter::fillObservedFields(llvm::Value* snapshot) {
  if (!mod_.reclaimSeen) return;
  for (uint32_t i = 0; i < plan_.snapshot.size(); ++i) {
    if (plan_.snapshot[i]->kernel.observed != "reclaim") continue;
    llvm::AllocaInst* key = bpf_.slot(ir_.getInt64Ty(), "seen_key");
    ir_.CreateAlignedStore(loadHeader(snapshot, offsetof(struct mmp_snapshot, cgroup_id)), key, llvm::Align(8));
    llvm::Value* seen = bpf_.mapLookup(mod_.reclaimSeen, key);
    llvm::BasicBlock* from = ir_.GetInsertBlock();
    llvm::BasicBlock* found = bpf_.block("seen");
    llvm::BasicBlock* join = bpf_.block("seen_join");
    ir_.CreateCondBr(ir_.CreateIsNull(seen), join, found);
    ir_.SetInsertPoint(found);
    llvm::Value* now = loadHeader(snapshot, offsetof(struct mmp_snapshot, time_ns));
    llvm::Value* at = ir_.CreateAlignedLoad(ir_.getInt64Ty(), seen, llvm::Align(8));
    // Another CPU may have stamped after this snapshot's clock was read.
    llvm::Value* ago = ir_.CreateSelect(ir_.CreateICmpUGT(at, now), ir_.getInt64(0), ir_.CreateSub(now, at));
    ir_.CreateBr(join);
    ir_.SetInsertPoint(join);
    llvm::PHINode* v = ir_.CreatePHI(ir_.getInt64Ty(), 2);
    v->addIncoming(ir_.getInt64(MMP_UNLIMITED), from);
    v->addIncoming(ago, found);
    storeField(snapshot, i, v);
  }
}

// Reclaim begins in `cgroup`: stamp it and its ancestors (memory.stat's
// pgscan, which oomd and systemd-oomd watch, is hierarchical too). Walks at
// most kStampDepth levels: deeper hierarchies are rare, and their upper
// levels are then not stamped by this hook. Reclaim begins thousands of
// times a second under pressure, so the walk stops at the first cgroup
// stamped less than kFreshNs ago: its ancestors were stamped with it, or
// since (bench/reclaim_hook_bench.py); a stamp already there is rewritten
// in place, not through the LRU map's update.
void Emitter::stampReclaim(llvm::Value* cgroup, const KernelTypes::Loader& load) {
  constexpr int kStampDepth = 12;
  constexpr uint64_t kFreshNs = 10'000'000;  // memcg.since_reclaim is exact to 10 ms
  auto* i64 = ir_.getInt64Ty();
  llvm::AllocaInst* key = bpf_.slot(i64, "stamp_key");
  llvm::AllocaInst* value = bpf_.slot(i64, "stamp_value");
  llvm::Value* now = bpf_.ktimeNs();
  ir_.CreateAlignedStore(now, value, llvm::Align(8));
  llvm::BasicBlock* done = bpf_.block("stamped");
  llvm::Value* cur = cgroup;
  for (int level = 0; level < kStampDepth; ++level) {
    ir_.CreateAlignedStore(cgroupIdOf(cur, load), key, llvm::Align(8));
    llvm::Value* seen = bpf_.mapLookup(mod_.reclaimSeen, key);
    llvm::BasicBlock* fresh = bpf_.block("stamp_new");
    llvm::BasicBlock* known = bpf_.block("stamp_known");
    llvm::BasicBlock* next = bpf_.block("stamp_next");
    ir_.CreateCondBr(ir_.CreateIsNull(seen), fresh, known);
    ir_.SetInsertPoint(fresh);
    bpf_.mapUpdate(mod_.reclaimSeen, key, value, 0 /* BPF_ANY */);
    ir_.CreateBr(next);
    ir_.SetInsertPoint(known);
    llvm::Value* at = ir_.CreateAlignedLoad(i64, seen, llvm::Align(8));
    // Stamped within kFreshNs (or by another CPU after `now`): done.
    llvm::Value* recent = ir_.CreateICmpULT(ir_.CreateSub(now, at), ir_.getInt64(kFreshNs));
    llvm::BasicBlock* rewrite = bpf_.block("stamp_rewrite");
    ir_.CreateCondBr(ir_.CreateOr(recent, ir_.CreateICmpUGT(at, now)), done, rewrite);
    ir_.SetInsertPoint(rewrite);
    ir_.CreateAlignedStore(now, seen, llvm::Align(8));
    ir_.CreateBr(next);
    ir_.SetInsertPoint(next);
    if (level + 1 == kStampDepth) break;
    cur = kernel_.emitRead(ir_, cur, *mod_.parentPath, nullptr, load);  // NULL on the way: 0
    bpf_.require(ir_.CreateIsNotNull(cur), done, "parent");
  }
  ir_.CreateBr(done);
  ir_.SetInsertPoint(done);
}

// Event fields that are arguments of the hook's tracepoint (u64 slots).
void Emitter::fillEventArgs(llvm::Value* ctx, llvm::Value* snapshot, const std::string& event) {
  for (uint32_t i = 0; i < plan_.snapshot.size(); ++i) {
    const Binding* b = plan_.snapshot[i];
    if (b->context != FieldContext::Event || b->event != event || !b->kernel.eventArg) continue;
    unsigned arg = *b->kernel.eventArg;
    // int arguments: the low half of the slot (little endian).
    llvm::Value* at = ir_.CreateInBoundsGEP(ir_.getInt8Ty(), ctx, ir_.getInt64(8 * arg));
    storeField(snapshot, i, ir_.CreateZExt(ir_.CreateAlignedLoad(ir_.getInt32Ty(), at, llvm::Align(8)), ir_.getInt64Ty()));
  }
}

// System fields, from the array mmrun writes each tick. Its one element
// always exists: the null check only satisfies the verifier, and exits
// (a path that carried on with zeroes would double the verifier's work).
void Emitter::fillSystemFields(llvm::Value* snapshot, llvm::BasicBlock* out) {
  if (!mod_.system) return;
  llvm::AllocaInst* zero = bpf_.slot(ir_.getInt32Ty(), "zero");
  ir_.CreateStore(ir_.getInt32(0), zero);
  llvm::Value* values = bpf_.mapLookup(mod_.system, zero);
  bpf_.require(ir_.CreateIsNotNull(values), out, "system");
  for (uint32_t i = 0; i < plan_.snapshot.size(); ++i) {
    if (plan_.snapshot[i]->context != FieldContext::System) continue;
    llvm::Value* at = ir_.CreateInBoundsGEP(ir_.getInt8Ty(), values, ir_.getInt64(8 * i));
    llvm::Value* v = ir_.CreateAlignedLoad(ir_.getInt64Ty(), at, llvm::Align(8));
    ir_.CreateAlignedStore(v, ir_.CreateInBoundsGEP(ir_.getInt8Ty(), snapshot, ir_.getInt64(24 + 8 * i)), llvm::Align(8));
  }
}

}  // namespace mmp::codegen

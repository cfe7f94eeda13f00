// The module emitter, its state split by lifetime: ModuleContext for the
// module, FunctionContext for the function being built. Internal to
// codegen/; each family of code has its file: maps and ABI types
// (emit_maps.cpp), kernel reads (emit_reads.cpp), expressions
// (emit_expr.cpp), rules and actions (emit_rule.cpp), programs per hook
// and rule groups (emit_programs.cpp), the subprograms grouped rules share
// (emit_shared.cpp), the snapshot channel (emit_record.cpp).
#pragma once

#include <llvm/IR/IRBuilder.h>

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "codegen/bpf_builder.h"
#include "codegen/codegen.h"
#include "codegen/debug_types.h"
#include "codegen/kernel_types.h"

namespace mmp::codegen {

// BPF map types and flags (include/uapi/linux/bpf.h). A map only mmrun
// writes is BPF_F_NO_PREALLOC: its entries are made as they come.
inline constexpr unsigned kMapHash = 1, kMapArray = 2, kMapPercpuArray = 6, kMapLruHash = 9, kMapRingbuf = 27;
inline constexpr unsigned kNoPrealloc = 1;

// What one evaluation sees: the snapshot pointer and the subject.
struct EvalContext {
  llvm::Value* snapshot;  // struct mmp_snapshot*
  llvm::Value* now;       // i64 ns
  llvm::Value* cgroupId;  // i64; 0 for system rules
  llvm::Value* mask;      // i64 scope mask
  llvm::Value* row;       // the cgroup's state row (not null), or nullptr: look it up when needed
  std::map<const ast::Expr*, llvm::Value*> memo;  // values computed in dominating blocks
  std::map<uint32_t, llvm::Value*> rates;         // rate slot → this evaluation's value
};

// What lives as long as the module: set up once by Emitter::run() (the
// ABI types, the maps, the kernel access paths, the evaluators and the
// subprograms the rule groups share) and read by every function built.
struct ModuleContext {
  // ABI types (runtime/abi/mmp_abi.h)
  llvm::StructType* decisionTy = nullptr;
  llvm::ArrayType* rowTy = nullptr;  // a cgroup's state row
  llvm::StructType* countersTy = nullptr;
  llvm::StructType* windowTy = nullptr;
  llvm::DIType* u64 = nullptr;    // debug types of __u64 and int
  llvm::DIType* int32 = nullptr;
  llvm::DICompositeType* decisionDi = nullptr;
  llvm::DICompositeType* snapshotDi = nullptr;

  // Maps.
  llvm::GlobalVariable* decisions = nullptr;
  llvm::GlobalVariable* scopes = nullptr;
  llvm::GlobalVariable* state = nullptr;      // only when some rule keeps state
  llvm::GlobalVariable* stateZero = nullptr;
  llvm::GlobalVariable* counters = nullptr;
  llvm::GlobalVariable* windows = nullptr;    // only when some rule has `at most`
  llvm::GlobalVariable* system = nullptr;
  llvm::GlobalVariable* snapshotMap = nullptr;  // large snapshots live here, not on the stack
  // The snapshot channel, only when some rule is a `when` rule: the ring
  // buffer, the count of what it refused, the switch (.rodata).
  llvm::GlobalVariable* snapshots = nullptr;
  llvm::GlobalVariable* snapshotsLost = nullptr;
  llvm::GlobalVariable* recording = nullptr;
  // The running kernel's slots the fields read (bindings.h, slotsOf), as
  // mmrun writes them at load time (.rodata).
  std::vector<SlotUse> slotUses;
  llvm::GlobalVariable* slots = nullptr;
  llvm::GlobalVariable* reclaimSeen = nullptr;  // memcg.since_reclaim: cgroup id -> when reclaim began there
  llvm::GlobalVariable* trigger = nullptr;  // what woke the walk: 0 a tick, else the cgroup whose PSI trigger fired
  std::vector<llvm::Constant*> used;

  // `kill ... in kernel` (emit_kernel_kill.cpp): set when some rule has
  // one and the kernel compiled against has what its search reads.
  struct KernelKill {
    std::optional<AccessPath> flags, tgid, mm, signalFlags, oomScoreAdj, parent;
    std::vector<AccessPath> rss;
    uint32_t taskStruct = 0;
    std::string missing;  // why not, when resolving failed
    llvm::GlobalVariable* protectedMap = nullptr;
    llvm::GlobalVariable* window = nullptr;
    llvm::Function* search = nullptr;     // mmp_kernel_kill
    llvm::Function* evalMemcg = nullptr;  // the `when` rules, killing in kernel
  };
  std::optional<KernelKill> kernelKill;

  // Kernel access paths.
  // Each kernel-read field: its paths (summed when several) from its root.
  std::map<const Binding*, std::vector<AccessPath>> fieldPaths;
  // A field with several ways to read it (its binding's `or`): each that
  // resolved, in order (fieldPaths holds the first).
  std::map<const Binding*, std::vector<std::vector<AccessPath>>> fieldAlternatives;
  std::optional<AccessPath> cgroupIdPath, cssPath, seqNumPath, taskCgroupPath, parentPath, memcgCgroupPath;
  uint32_t firstArgOffset = 0;  // of a kprobe's first argument in struct pt_regs
  uint32_t memcgStruct = 0;
  // The kfunc bpf_rdonly_cast (6.2+), a weak extern: null where the kernel
  // lacks it (fillMemcgFields).
  llvm::Function* rdonlyCast = nullptr;

  // The evaluators, and the subprograms of the compact form.
  llvm::Function* evalMemcg = nullptr;
  llvm::Function* evalSystem = nullptr;
  std::map<std::string, llvm::Function*> evalEvent;
  // Rules per group of the compact form; 1: no compact form (small policies).
  size_t rulesPerGroup = 1;
  llvm::Function* enter = nullptr;   // mmp_enter
  llvm::Function* rowGet = nullptr;  // mmp_row_get
  llvm::Function* decide = nullptr;  // mmp_decide
  llvm::Function* rateBytes = nullptr;  // mmp_rate, mmp_rate_count, mmp_rate_share: rate()'s arithmetic
  llvm::Function* rateCount = nullptr;
  llvm::Function* rateShare = nullptr;
  unsigned passthroughSeq = 1000;  // distinct from the BPF passes' own numbers
};

// What lives as long as one function being built: how it is being built
// (a group of the compact form, the recording copy of a hook's body) and
// the stack slots its rules share.
struct FunctionContext {
  bool compact = false;     // a group of the compact form: call the shared subprograms
  bool recordPass = false;  // the recording copy of a hook's body
  bool kernelKills = false; // the copy whose kills `in kernel` call mmp_kernel_kill
  // Scratch stack slots shared by every rule of the function: the BPF
  // stack is 512 bytes, so per-rule slots would cap the rule count.
  struct Scratch {
    llvm::Function* owner = nullptr;
    llvm::AllocaInst* stateKey = nullptr;
    llvm::AllocaInst* zeroKey = nullptr;
    llvm::AllocaInst* counterKey = nullptr;
  } scratch;
  std::pair<llvm::Function*, llvm::AllocaInst*> decisionValues{};  // the group whose buffer it is
};

class Emitter {
public:
  Emitter(const CodegenInput& in, llvm::Module& m, Diagnostics& diags);
  bool run();

private:
  // emit_maps.cpp
  void defineAbiTypes();
  void defineMaps();
  llvm::GlobalVariable* defineMap(const std::string& name, unsigned type, unsigned maxEntries,
                                  llvm::DIType* key, llvm::DIType* value, unsigned flags = 0);
  void defineLicenseAndManifest();

  // emit_reads.cpp
  bool resolveFields();
  void fillMemcgFields(llvm::Value* cgroup, llvm::Value* snapshot);
  void fillObservedFields(llvm::Value* snapshot);
  void stampReclaim(llvm::Value* cgroup, const KernelTypes::Loader& load = nullptr);
  void emitReclaimStamp();
  void fillTaskFields(llvm::Value* task, llvm::Value* snapshot, const std::string& event);
  void fillEventArgs(llvm::Value* ctx, llvm::Value* snapshot, const std::string& event);
  // probe: read with bpf_probe_read_kernel instead of direct loads.
  void fillFields(llvm::Value* base, llvm::Value* snapshot, const std::function<bool(const Binding&)>& which,
                  bool probe = false);
  void storeField(llvm::Value* snapshot, uint32_t index, llvm::Value* v);
  const Binding* bindingNamed(const std::string& name) const;
  void fillSystemFields(llvm::Value* snapshot, llvm::BasicBlock* out);
  llvm::Value* cgroupIdOf(llvm::Value* cgroup, const KernelTypes::Loader& load = nullptr);
  llvm::Value* memcgOf(llvm::Value* cgroup, llvm::BasicBlock* onNull);
  llvm::Function* rdonlyCast();
  llvm::Value* convert(llvm::Value* raw, const Binding& b);

  // The snapshot's header words (struct mmp_snapshot's time_ns, cgroup_id,
  // scope_mask), at their offsets in the C header (emit_programs.cpp).
  llvm::Value* loadHeader(llvm::Value* snap, size_t offset);
  void storeHeader(llvm::Value* snap, size_t offset, llvm::Value* v);

  // emit_expr.cpp
  llvm::Value* expr(const ast::Expr& e, EvalContext& ctx, const plan::Rule& rule);
  llvm::Value* constant(const Value& v);
  llvm::Value* field(const Binding& b, EvalContext& ctx);
  llvm::Value* binary(const ast::BinaryExpr& e, EvalContext& ctx, const plan::Rule& rule);
  llvm::Value* compare(const ast::BinaryExpr& e, llvm::Value* l, llvm::Value* r);
  llvm::Value* percentOf(llvm::Value* share, llvm::Value* whole, const ast::Expr* shareExpr);
  llvm::Value* ratio(llvm::Value* a, llvm::Value* b);
  llvm::Value* rate(const ast::CallExpr& call, EvalContext& ctx, const plan::Rule& rule);
  llvm::Value* minMax(const ast::CallExpr& call, EvalContext& ctx, const plan::Rule& rule);
  void branchOn(const ast::Expr& e, EvalContext& ctx, const plan::Rule& rule, llvm::BasicBlock* t,
                llvm::BasicBlock* f);

  // emit_rule.cpp
  void evaluateRule(const plan::Rule& r, EvalContext& ctx);  // the condition and actions, in a context
  llvm::Value* lookupRow(llvm::Value* cgroupId);
  llvm::Value* stateRow(EvalContext& ctx, llvm::BasicBlock* onFail);
  llvm::Value* stateWord(llvm::Value* row, uint32_t word);
  llvm::Value* countersFor(uint32_t rule, llvm::BasicBlock* onFail);
  void bump(llvm::Value* counters, unsigned field);
  void action(const plan::Rule& r, const plan::Action& a, EvalContext& ctx, llvm::Value* counters);

  // emit_kernel_kill.cpp
  bool wantsKernelKill() const;
  void resolveKernelKill();
  void defineKernelKillMaps();
  llvm::Function* kfunc(const char* name, llvm::Type* ret, const std::vector<llvm::Type*>& params, llvm::DIType* retDi,
                        const std::vector<llvm::DIType*>& paramsDi);
  llvm::Function* kernelKillSearch();

  // emit_shared.cpp: the compact form's shared subprograms.
  llvm::Function* sharedFunction(const std::string& name, llvm::Type* ret, const std::vector<llvm::Type*>& params);
  llvm::Value* sharedEnter(llvm::Value* snapshot, const plan::Rule& r);
  llvm::Value* sharedRow(llvm::Value* snapshot);
  bool sharedDecision(const plan::Rule& r, const plan::Action& a, EvalContext& ctx, llvm::Value* counters,
                      llvm::Value* arg, llvm::Value* flags, const std::vector<llvm::Value*>& values);

  // emit_record.cpp
  void sendSnapshot(llvm::Value* snapshot);
  void recordSplit(const std::function<void()>& part);

  // emit_programs.cpp
  llvm::Function* program(plan::Hook hook, const std::string& name);
  llvm::Function* snapshotFunction(const std::string& name, llvm::Attribute::AttrKind inlining, bool withRow);
  llvm::Function* evaluator(const std::string& name, const std::function<bool(const plan::Rule&)>& which);
  llvm::Function* ruleFunction(const plan::Rule& r, size_t rulesInEvaluator, bool withRow);
  size_t rulesPerGroup() const;
  llvm::Function* groupFunction(std::span<const plan::Rule* const> rules, bool withRow);
  void evaluateOnSnapshot(const plan::Rule& r, llvm::Value* snap, llvm::Value* row);
  struct HookFrame {
    llvm::Function* f;
    llvm::Value* snap;
    llvm::BasicBlock* out;
  };
  HookFrame beginHook(plan::Hook hook, const std::string& name);
  void endHook(const HookFrame& frame);
  llvm::Value* newSnapshot(llvm::BasicBlock* out, llvm::Value* from = nullptr);
  bool subjectSnapshot(llvm::Value* cgroup, llvm::Value* snap, llvm::BasicBlock* out, bool scoped);
  void emitTick();
  void emitReplay();
  void emitReclaim(plan::Hook hook, const std::string& name, llvm::Function* evalMemcg);
  void emitOom();
  void emitCgroupMkdir();
  void finishFunction(llvm::Function* f);

  const CodegenInput& in_;
  const plan::Plan& plan_;
  llvm::Module& m_;
  Diagnostics& diags_;
  llvm::IRBuilder<> ir_;
  BpfBuilder bpf_;
  DebugTypes di_;
  KernelTypes kernel_;

  // emit_shared.cpp: rate()'s arithmetic, one subprogram per kind.
  llvm::Function* rateFunction(Type result);

  ModuleContext mod_;
  FunctionContext fn_;
  FunctionContext::Scratch& scratch();  // this function's slots, made at its first use
};

}  // namespace mmp::codegen

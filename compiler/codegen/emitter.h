// The module emitter's shared state. Internal to codegen/; each family of
// code has its file: maps and ABI types (emit_maps.cpp), kernel reads
// (emit_reads.cpp), expressions (emit_expr.cpp), rules and actions
// (emit_rule.cpp), programs per hook and rule groups (emit_programs.cpp),
// the subprograms grouped rules share (emit_shared.cpp), the snapshot
// channel (emit_record.cpp).
#pragma once

#include <llvm/IR/IRBuilder.h>

#include <functional>
#include <map>
#include <span>

#include "codegen/bpf_builder.h"
#include "codegen/codegen.h"
#include "codegen/debug_types.h"
#include "codegen/kernel_types.h"

namespace mmp::codegen {

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

class Emitter {
public:
  Emitter(const CodegenInput& in, llvm::Module& m, Diagnostics& diags);
  bool run();

private:
  // emit_maps.cpp
  void defineAbiTypes();
  void defineMaps();
  llvm::GlobalVariable* defineMap(const std::string& name, unsigned type, unsigned maxEntries,
                                  llvm::DIType* key, llvm::DIType* value);
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
  void emitReclaim(plan::Hook hook);
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

  // ABI types (runtime/abi/mmp_abi.h)
  llvm::StructType* decisionTy_ = nullptr;
  llvm::ArrayType* rowTy_ = nullptr;  // a cgroup's state row
  llvm::StructType* countersTy_ = nullptr;
  llvm::StructType* windowTy_ = nullptr;
  llvm::DIType* u64_ = nullptr;
  llvm::DIType* int_ = nullptr;
  llvm::DICompositeType* decisionDi_ = nullptr;
  llvm::DICompositeType* snapshotDi_ = nullptr;

  llvm::GlobalVariable* decisions_ = nullptr;
  llvm::GlobalVariable* scopes_ = nullptr;
  llvm::GlobalVariable* state_ = nullptr;      // only when some rule keeps state
  llvm::GlobalVariable* stateZero_ = nullptr;
  llvm::GlobalVariable* counters_ = nullptr;
  llvm::GlobalVariable* windows_ = nullptr;    // only when some rule has `at most`
  llvm::GlobalVariable* system_ = nullptr;
  llvm::GlobalVariable* snapshotMap_ = nullptr;  // large snapshots live here, not on the stack
  // The snapshot channel, only when some rule is a `when` rule: the ring
  // buffer, the count of what it refused, the switch (.rodata).
  llvm::GlobalVariable* snapshots_ = nullptr;
  llvm::GlobalVariable* snapshotsLost_ = nullptr;
  llvm::GlobalVariable* recording_ = nullptr;
  bool recordPass_ = false;  // emitting the recording copy of a hook's body
  std::vector<llvm::Constant*> used_;

  // Kernel access paths.
  // Each kernel-read field: its paths (summed when several) from its root.
  std::map<const Binding*, std::vector<AccessPath>> fieldPaths_;
  std::optional<AccessPath> cgroupIdPath_, cssPath_, seqNumPath_, taskCgroupPath_, parentPath_, memcgCgroupPath_;
  uint32_t firstArgOffset_ = 0;  // of a kprobe's first argument in struct pt_regs
  uint32_t memcgStruct_ = 0;
  llvm::Function* evalMemcg_ = nullptr;
  llvm::Function* evalSystem_ = nullptr;
  std::map<std::string, llvm::Function*> evalEvent_;
  // Rules per group of the compact form; 1: no compact form (small policies).
  size_t rulesPerGroup_ = 1;
  bool compact_ = false;  // emitting a group of the compact form: call the shared subprograms
  llvm::Function* enter_ = nullptr;   // mmp_enter
  llvm::Function* rowGet_ = nullptr;  // mmp_row_get
  llvm::Function* decide_ = nullptr;  // mmp_decide
  std::pair<llvm::Function*, llvm::AllocaInst*> decisionValues_{};  // the group whose buffer it is
  llvm::Function* rateBytes_ = nullptr;  // mmp_rate, mmp_rate_share: rate()'s arithmetic
  llvm::Function* rateShare_ = nullptr;
  llvm::Function* rateFunction(bool share);
  llvm::GlobalVariable* reclaimSeen_ = nullptr;  // memcg.since_reclaim: cgroup id -> when reclaim began there
  llvm::GlobalVariable* trigger_ = nullptr;  // what woke the walk: 0 a tick, else the cgroup whose PSI trigger fired
  unsigned passthroughSeq_ = 1000;  // distinct from the BPF passes' own numbers
  // Scratch stack slots shared by every rule of the function being built:
  // the BPF stack is 512 bytes, so per-rule slots would cap the rule count.
  struct Scratch {
    llvm::Function* owner = nullptr;
    llvm::AllocaInst* stateKey = nullptr;
    llvm::AllocaInst* zeroKey = nullptr;
    llvm::AllocaInst* counterKey = nullptr;
  } scratch_;
  Scratch& scratch();
};

}  // namespace mmp::codegen

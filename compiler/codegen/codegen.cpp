#include "codegen/codegen.h"

#include <fmt/format.h>
#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/PassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Transforms/IPO/AlwaysInliner.h>
#include <llvm/Transforms/IPO/GlobalDCE.h>
#include <llvm/Transforms/InstCombine/InstCombine.h>
#include <llvm/Transforms/Scalar/CorrelatedValuePropagation.h>
#include <llvm/Transforms/Scalar/DivRemPairs.h>
#include <llvm/Transforms/Scalar/EarlyCSE.h>
#include <llvm/Transforms/Scalar/JumpThreading.h>
#include <llvm/Transforms/Scalar/SROA.h>
#include <llvm/Transforms/Scalar/SimplifyCFG.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>

#include "abi/mmp_abi.h"
#include "codegen/emitter.h"

extern "C" {
void LLVMInitializeBPFTargetInfo();
void LLVMInitializeBPFTarget();
void LLVMInitializeBPFTargetMC();
void LLVMInitializeBPFAsmPrinter();
}

namespace mmp {

namespace codegen {

Emitter::Emitter(const CodegenInput& in, llvm::Module& m, Diagnostics& diags)
    : in_(in), plan_(in.plan), m_(m), diags_(diags), ir_(m.getContext()), bpf_(m, ir_), di_(m, in.sourcePath),
      kernel_(in.btf, di_, m) {}

bool Emitter::run() {
  defineAbiTypes();
  if (!resolveFields()) return false;
  resolveKernelKill();
  kernel_.finalize();
  defineMaps();
  defineKernelKillMaps();
  defineLicenseAndManifest();
  mod_.rulesPerGroup = rulesPerGroup();
  auto memcgRules = [](const plan::Rule& r) { return !r.event && !r.system; };
  mod_.evalMemcg = evaluator("mmp_eval_memcg", memcgRules);
  if (mod_.kernelKill) {
    fn_.kernelKills = true;
    mod_.kernelKill->evalMemcg = evaluator("mmp_eval_memcg_kernel", memcgRules);
    fn_.kernelKills = false;
  }
  mod_.evalSystem = evaluator("mmp_eval_system", [](const plan::Rule& r) { return !r.event && r.system; });
  for (const auto& r : plan_.rules) {
    if (!r.event || mod_.evalEvent.count(*r.event)) continue;
    std::string event = *r.event;
    mod_.evalEvent[event] = evaluator("mmp_on_" + event, [&](const plan::Rule& x) { return x.event == event; });
  }
  for (plan::Hook h : plan_.hooks) {
    switch (h) {
      case plan::Hook::Tick: emitTick(); break;
      case plan::Hook::Replay: emitReplay(); break;
      case plan::Hook::MemcgReclaim:
        emitReclaim(h, MMP_PROG_MEMCG_RECLAIM, mod_.evalMemcg);
        if (mod_.kernelKill) emitReclaim(h, MMP_PROG_MEMCG_RECLAIM_KERNEL, mod_.kernelKill->evalMemcg);
        break;
      case plan::Hook::DirectReclaim: emitReclaim(h, "mmp_direct_reclaim", nullptr); break;
      case plan::Hook::Oom: emitOom(); break;
      case plan::Hook::CgroupMkdir: emitCgroupMkdir(); break;
      case plan::Hook::ReclaimStamp: emitReclaimStamp(); break;
    }
  }
  // Keep every program, map and section from being dropped as unused.
  auto* ptr = llvm::PointerType::get(m_.getContext(), 0);
  auto* arr = llvm::ArrayType::get(ptr, mod_.used.size());
  auto* used = new llvm::GlobalVariable(m_, arr, false, llvm::GlobalValue::AppendingLinkage,
                                        llvm::ConstantArray::get(arr, mod_.used), "llvm.compiler.used");
  used->setSection("llvm.metadata");
  di_.finalize();
  return true;
}

}  // namespace codegen

llvm::Error addBindingTypes(KernelBtf& btf, const std::vector<LocalStruct>& types) {
  std::vector<StructDecl> decls;
  for (const auto& t : types) decls.push_back({t.name, t.members});
  return btf.addStructs(decls);
}

std::unique_ptr<llvm::Module> emitModule(const CodegenInput& in, llvm::LLVMContext& ctx, Diagnostics& diags) {
  auto m = std::make_unique<llvm::Module>(in.plan.name, ctx);
  m->setTargetTriple("bpfel");
  m->setDataLayout("e-m:e-p:64:64-i64:64-i128:128-n32:64-S128");
  codegen::Emitter e(in, *m, diags);
  if (!e.run()) return nullptr;
  std::string err;
  llvm::raw_string_ostream os(err);
  if (llvm::verifyModule(*m, &os)) {
    diags.report(DiagCode::E0400, {}, "internal compiler error: invalid IR: " + os.str());
    return nullptr;
  }
  return m;
}

namespace {

// A target machine per output: it keeps per-module state, so one cannot
// serve two modules (a second compile in one process crashed in LLVM).
std::unique_ptr<llvm::TargetMachine> bpfTarget() {
  static const llvm::Target* target = [] {
    LLVMInitializeBPFTargetInfo();
    LLVMInitializeBPFTarget();
    LLVMInitializeBPFTargetMC();
    LLVMInitializeBPFAsmPrinter();
    std::string err;
    return llvm::TargetRegistry::lookupTarget("bpfel", err);
  }();
  if (!target) return nullptr;
  // Default: the code generator clang -O2 runs (Aggressive is -O3).
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      "bpfel", "v3", "", llvm::TargetOptions(), llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Default));
}

// The pass pipeline, not O2's. The generated code has no loops and calls
// only helpers and its own subprograms, and it is emitted close to its
// final shape: O2's inliner, loop passes, GVN and the rest took 1.4 of the
// 2.9 s that 1,000 rules needed, for nothing the verifier counts. The
// BPF target's passes run at the points O2 runs them (CO-RE relocations
// need them); JumpThreading threads the state's NULL checks. With it,
// bench/handwritten's programs verify in as many instructions as with O2
// or fewer (bench/RESULTS.md).
void optimise(llvm::Module& m, llvm::TargetMachine* tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  // The BPF target registers its CO-RE passes (preserve access index) here.
  llvm::PassBuilder pb(tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  const llvm::OptimizationLevel level = llvm::OptimizationLevel::O2;  // what the target's passes see
  llvm::ModulePassManager mpm;
  pb.invokePipelineStartEPCallbacks(mpm, level);
  pb.invokePipelineEarlySimplificationEPCallbacks(mpm, level);
  mpm.addPass(llvm::AlwaysInlinerPass());
  llvm::FunctionPassManager fpm;
  fpm.addPass(llvm::SROAPass(llvm::SROAOptions::ModifyCFG));
  fpm.addPass(llvm::EarlyCSEPass(/*UseMemorySSA=*/true));
  fpm.addPass(llvm::InstCombinePass());
  fpm.addPass(llvm::SimplifyCFGPass());
  pb.invokePeepholeEPCallbacks(fpm, level);
  fpm.addPass(llvm::JumpThreadingPass());
  pb.invokeScalarOptimizerLateEPCallbacks(fpm, level);
  fpm.addPass(llvm::SimplifyCFGPass(llvm::SimplifyCFGOptions()
                                        .convertSwitchRangeToICmp(true)
                                        .hoistCommonInsts(true)
                                        .sinkCommonInsts(true)));
  // Divisions, last: CorrelatedValuePropagation narrows those whose
  // operands are known small to 32 bits, DivRemPairs computes `x % d` from
  // the `x / d` beside it (percentOf divides and takes the remainder by
  // the same constant). BPF has no combined div/rem, and the JIT's 64-bit
  // division is slow: without them ten.mmp's replay took 59 ns instead of
  // 45 (bench/RESULTS.md, run time).
  fpm.addPass(llvm::CorrelatedValuePropagationPass());
  fpm.addPass(llvm::DivRemPairsPass());
  mpm.addPass(llvm::createModuleToFunctionPassAdaptor(std::move(fpm)));
  mpm.addPass(llvm::GlobalDCEPass());
  pb.invokeOptimizerLastEPCallbacks(mpm, level);
  mpm.run(m, mam);
}

}  // namespace

llvm::Expected<std::string> emitOutput(llvm::Module& m, OutputKind kind) {
  std::unique_ptr<llvm::TargetMachine> owner = bpfTarget();
  llvm::TargetMachine* tm = owner.get();
  if (!tm) return llvm::createStringError(std::errc::not_supported, "LLVM has no BPF target");
  m.setDataLayout(tm->createDataLayout());
  optimise(m, tm);
  std::string out;
  llvm::raw_string_ostream os(out);
  if (kind == OutputKind::OptimizedIR) {
    m.print(os, nullptr);
    return out;
  }
  llvm::SmallVector<char, 0> buf;
  llvm::raw_svector_ostream bos(buf);
  llvm::legacy::PassManager pm;
  auto ft = kind == OutputKind::Assembly ? llvm::CodeGenFileType::AssemblyFile : llvm::CodeGenFileType::ObjectFile;
  if (tm->addPassesToEmitFile(pm, bos, nullptr, ft))
    return llvm::createStringError(std::errc::not_supported, "the BPF target cannot emit this file type");
  pm.run(m);
  return std::string(buf.begin(), buf.end());
}

}  // namespace mmp

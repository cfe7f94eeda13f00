// `mmpc compile FILE -o OUT`: the whole pipeline, listed once:
// front end → lower → codegen → object.
#include <fmt/format.h>

#include <cstdlib>
#include <iostream>

#include <llvm/Support/ErrorHandling.h>

#include "btf/kernel_btf.h"
#include "codegen/budget.h"
#include "codegen/codegen.h"
#include "codegen/manifest.h"
#include "driver/driver.h"
#include "lower/plan.h"
#include "safe_file.h"

namespace mmp {

namespace {

bool writeOutput(const std::string& path, const std::string& data) {
  if (path == "-") {
    std::cout << data;
    return true;
  }
  // A new file renamed over OUT: never through a link planted there.
  ReplacementFile out;
  if (out.open(path, /*allowSpecial=*/true) && out.write(data) && out.commit()) return true;
  std::cerr << fmt::format("mmpc: error: cannot write '{}': {}\n", path, out.error());
  return false;
}

// LLVM's BPF back end reports a jump its 16-bit offset cannot reach (a
// program or a rule of more than 32,767 instructions: some 600 `log`
// actions in one rule) as a fatal error, before the budget is measured.
// mmpc turns it into E0400 and exits 1, instead of aborting.
struct FatalContext {
  FrontEndResult* fe = nullptr;
  const DriverOptions* opts = nullptr;
  const plan::Plan* plan = nullptr;
};
FatalContext fatalContext;

void reportFatal(void*, const char* reason, bool) {
  FrontEndResult& fe = *fatalContext.fe;
  const plan::Plan& plan = *fatalContext.plan;
  const plan::Rule* largest = nullptr;
  for (const auto& r : plan.rules)
    if (!largest || r.actions.size() > largest->actions.size()) largest = &r;
  std::string why = std::string(reason).find("Branch target out of insn range") != std::string::npos
                        ? "a jump in the code spans more than the 32,767 instructions BPF's jumps reach"
                        : std::string("the BPF back end failed: ") + reason;
  auto& d = fe.diags.report(DiagCode::E0400, largest ? largest->source->range : SourceRange{},
                            "cannot emit the object: " + why);
  if (largest)
    d.note(largest->source->range, fmt::format("this rule has {} actions, the most of any rule", largest->actions.size()));
  d.help("split the rule's actions over several rules, or split the policy");
  printDiagnostics(fe, *fatalContext.opts);
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(1);
}

std::string defaultOutput(const std::string& input, const std::string& emit) {
  if (emit == "plan" || emit == "manifest" || emit == "llvm" || emit == "asm") return "-";
  std::string base = input;
  if (base.size() > 4 && base.ends_with(".mmp")) base.resize(base.size() - 4);
  return base + ".bpf.o";
}

}  // namespace

int runCompile(const std::string& file, const CompileOptions& co, const DriverOptions& opts) {
  auto bindings = loadKernelBindings(opts);
  if (!bindings) return 1;
  auto r = runFrontEnd(file, *bindings, opts);
  if (!r) return 1;
  if (printDiagnostics(*r, opts) > 0 || !r->ok) return 1;

  plan::Plan plan = plan::lowerPolicy(r->checked, r->sources, r->diags);
  if (r->diags.errorCount() > 0) return printDiagnostics(*r, opts), 1;  // no code for a plan with errors
  std::string output = co.output.empty() ? defaultOutput(file, co.emit) : co.output;
  if (co.emit == "plan") return writeOutput(output, plan::printPlan(plan)) ? 0 : 1;
  std::string manifest = buildManifest(plan, r->sources.file(r->loaded->main().file).text());
  if (co.emit == "manifest") return writeOutput(output, manifest + "\n") ? 0 : 1;

  auto btf = KernelBtf::load(co.btf);
  if (!btf) {
    std::cerr << fmt::format("mmpc: error: {}\nhelp: pass another kernel's BTF with --btf FILE\n",
                             llvm::toString(btf.takeError()));
    return 1;
  }
  if (auto err = addBindingTypes(**btf, bindings->types)) {
    std::cerr << fmt::format("mmpc: error: the bindings' types: {}\n", llvm::toString(std::move(err)));
    return 1;
  }
  FrontEndResult& fe = *r;
  size_t before = fe.diags.errorCount();
  llvm::LLVMContext ctx;
  CodegenInput in{plan, **btf, file, manifest};
  auto module = emitModule(in, ctx, fe.diags);
  if (!module || fe.diags.errorCount() > before) {
    printDiagnostics(fe, opts);
    return 1;
  }
  OutputKind kind = co.emit == "llvm" ? OutputKind::OptimizedIR
                    : co.emit == "asm" ? OutputKind::Assembly
                                       : OutputKind::Object;
  fatalContext = {&fe, &opts, &plan};
  llvm::install_fatal_error_handler(reportFatal);
  auto bytes = emitOutput(*module, kind);
  llvm::remove_fatal_error_handler();
  if (!bytes) {
    std::cerr << fmt::format("mmpc: error: {}\n", llvm::toString(bytes.takeError()));
    return 1;
  }
  if (kind == OutputKind::Object) {
    auto costs = measurePrograms(*bytes, plan);
    if (!costs) {
      std::cerr << fmt::format("mmpc: error: cannot measure the object: {}\n", llvm::toString(costs.takeError()));
      return 1;
    }
    if (!checkBudget(*costs, plan, fe.diags)) {
      printDiagnostics(fe, opts);
      return 1;
    }
  }
  return writeOutput(output, *bytes) ? 0 : 1;
}

}  // namespace mmp

// Code generation: plan → LLVM IR module (BPF target, with the debug info
// that becomes BTF) → ELF object.
#pragma once

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>

#include <memory>
#include <string>

#include "bindings/bindings.h"
#include "btf/kernel_btf.h"
#include "diagnostics/diagnostics.h"
#include "lower/plan.h"

namespace mmp {

struct CodegenInput {
  const plan::Plan& plan;
  const KernelBtf& btf;
  std::string sourcePath;
  std::string manifest;  // the .mmp.manifest JSON
};

// The structs the bindings describe (`types`: other kernels' layouts under
// CO-RE flavour names), added to the BTF compiled against, so that the
// fields' alternative paths can go through them.
llvm::Error addBindingTypes(KernelBtf& btf, const std::vector<LocalStruct>& types);

// Builds the module. A binding the kernel's BTF cannot resolve is reported
// (E0401: names the field and the member) and yields no module.
std::unique_ptr<llvm::Module> emitModule(const CodegenInput& in, llvm::LLVMContext& ctx, Diagnostics& diags);

enum class OutputKind { Object, Assembly, OptimizedIR };

// Optimises the module and writes it out (BPF, bpfel, CPU v3).
llvm::Expected<std::string> emitOutput(llvm::Module& m, OutputKind kind);

}  // namespace mmp

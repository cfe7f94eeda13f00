// libFuzzer target for the front end of mmpc: the input is the text of a
// policy file. It is parsed and loaded (imports resolve against the source
// tree's standard library, MMP_SOURCE_STDLIB), checked against the shipped
// kernel bindings (loaded once), and every diagnostic is rendered as text
// (plain and coloured with --werror) and as JSON into a string stream, so the
// renderers are fuzzed too. Run it with scripts/fuzz.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "bindings/bindings.h"
#include "check/check.h"
#include "diagnostics/render.h"
#include "load/load.h"

namespace {

const mmp::Bindings& kernelBindings() {
  static const mmp::Bindings bindings = [] {
    std::string path = std::string(MMP_SOURCE_STDLIB) + "/bindings/kernel.json";
    auto b = mmp::loadBindings(path);
    if (!b) {
      std::fprintf(stderr, "mmp_frontend_fuzzer: cannot load %s: %s\n", path.c_str(),
                   llvm::toString(b.takeError()).c_str());
      std::abort();
    }
    return std::move(*b);
  }();
  return bindings;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kernelBindings();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mmp::SourceManager sources;
  uint32_t file = sources.add("fuzz.mmp", std::string(reinterpret_cast<const char*>(data), size));
  mmp::Diagnostics diags;
  auto loaded = mmp::loadPolicy(file, MMP_SOURCE_STDLIB, sources, diags);
  if (loaded) {
    mmp::CheckedPolicy checked;
    mmp::checkPolicy(*loaded, kernelBindings(), diags, checked);
  }

  std::ostringstream out;
  mmp::RenderOptions plain;
  mmp::RenderOptions fancy;
  fancy.color = true;
  fancy.werror = true;
  for (const mmp::Diagnostic& d : diags.all()) {
    mmp::renderText(d, sources, out, plain);
    mmp::renderText(d, sources, out, fancy);
    mmp::renderJson(d, sources, out, plain);
  }
  return 0;
}

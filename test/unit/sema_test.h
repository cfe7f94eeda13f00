// Shared by the tests that run the front end (load + check) on in-memory
// policies, as driver/pipeline.cpp does for files.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "bindings/bindings.h"
#include "check/check.h"
#include "diagnostics/diagnostics.h"
#include "load/load.h"
#include "source/source_manager.h"

namespace mmp::testing {

inline const std::string& stdlibDir() {
  static const std::string dir = MMP_TEST_STDLIB;
  return dir;
}

inline const Bindings& kernelBindings() {
  static const Bindings bindings = [] {
    auto loaded = loadBindings(stdlibDir() + "/bindings/kernel.json");
    if (!loaded) {
      std::cerr << "cannot load the kernel bindings: " << llvm::toString(loaded.takeError()) << "\n";
      std::abort();
    }
    return std::move(*loaded);
  }();
  return bindings;
}

struct FrontEnd {
  SourceManager sm;
  Diagnostics diags;
  uint32_t file = 0;
  std::unique_ptr<LoadedPolicy> loaded;
  CheckedPolicy checked;
  bool ok = false;

  // The codes of every diagnostic, in the order they were reported.
  std::vector<std::string> codes() const {
    std::vector<std::string> out;
    for (const auto& d : diags.all()) out.emplace_back(diagInfo(d.code).id);
    return out;
  }
  std::vector<std::string> sortedCodes() const {
    auto out = codes();
    std::sort(out.begin(), out.end());
    return out;
  }
  // Every diagnostic as "E0200 3:5 message", for failure messages.
  std::string listing() const {
    std::string s;
    for (const auto& d : diags.all()) {
      LineColumn lc = sm.file(d.range.file).position(d.range.begin);
      s += std::string(diagInfo(d.code).id) + " " + std::to_string(lc.line) + ":" + std::to_string(lc.column) + " " +
           d.message + "\n";
    }
    return s.empty() ? "(no diagnostics)\n" : s;
  }
  const ast::Policy& main() const { return loaded->main(); }
};

// Loads and checks `text` as the file `path`, with `stdlib` for imports.
inline std::unique_ptr<FrontEnd> runFrontEnd(const std::string& text, const std::string& stdlib = stdlibDir(),
                                             const std::string& path = "test.mmp") {
  auto r = std::make_unique<FrontEnd>();
  r->file = r->sm.add(path, text);
  r->loaded = loadPolicy(r->file, stdlib, r->sm, r->diags);
  if (!r->loaded) return r;
  r->ok = checkPolicy(*r->loaded, kernelBindings(), r->diags, r->checked);
  return r;
}

}  // namespace mmp::testing

// Loading a policy: its file, then every `import` from the standard library,
// each parsed once, cycles refused.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ast/ast.h"
#include "diagnostics/diagnostics.h"

namespace mmp {

struct LoadedPolicy {
  // Imported files first (dependencies before dependents), the main file last.
  std::vector<std::unique_ptr<ast::Policy>> files;
  const ast::Policy& main() const { return *files.back(); }
};

// Reads `path` into `sm`; false (and `error` set) if it cannot be read.
bool readSource(const std::string& path, SourceManager& sm, uint32_t& file, std::string& error);

// Parses `file` and its imports. Returns null when the main file did not
// parse at all (invalid UTF-8, nesting too deep); syntax errors in items
// leave those items out and are reported.
std::unique_ptr<LoadedPolicy> loadPolicy(uint32_t file, const std::string& stdlibDir, SourceManager& sm,
                                         Diagnostics& diags);

}  // namespace mmp

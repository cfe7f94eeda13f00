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

// A policy file, or a file it imports, is at most 1 MiB (the largest
// shipped is some 10 KB; a 10 MB policy took `check` 9 s and 2 GB).
constexpr size_t kMaxSourceBytes = 1 << 20;

// Reads `path` into `sm`: a regular file of at most kMaxSourceBytes (not a
// FIFO or a device); false (and `error` set) otherwise.
bool readSource(const std::string& path, SourceManager& sm, uint32_t& file, std::string& error);

// Parses `file` and its imports. Returns null when the main file did not
// parse at all (invalid UTF-8, nesting too deep); syntax errors in items
// leave those items out and are reported.
std::unique_ptr<LoadedPolicy> loadPolicy(uint32_t file, const std::string& stdlibDir, SourceManager& sm,
                                         Diagnostics& diags);

}  // namespace mmp

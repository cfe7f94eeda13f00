// The mmpc driver: options shared by the subcommands, and the pipeline.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bindings/bindings.h"
#include "check/check.h"
#include "diagnostics/diagnostics.h"

namespace mmp {

enum class DiagFormat { Text, Json };
enum class ColorMode { Auto, Always, Never };

struct DriverOptions {
  DiagFormat format = DiagFormat::Text;
  ColorMode color = ColorMode::Auto;
  bool werror = false;
  std::string stdlibDir;  // empty: found next to the binary or the sources
  std::string emit;       // check: "ast" prints the tree
};

// The standard library directory in effect for these options.
std::string stdlibDirectory(const DriverOptions& opts);

// The pipeline up to sema, listed once: read, load (parse + imports), check.
struct FrontEndResult {
  SourceManager sources;
  Diagnostics diags;
  std::unique_ptr<LoadedPolicy> loaded;
  CheckedPolicy checked;
  bool ok = false;
};
std::unique_ptr<FrontEndResult> runFrontEnd(const std::string& path, const Bindings& bindings,
                                            const DriverOptions& opts);

// Prints the diagnostics and returns the number of errors (warnings count
// with --werror).
size_t printDiagnostics(const FrontEndResult& r, const DriverOptions& opts);

// Loads stdlib/bindings/kernel.json; prints an E0005 error on failure.
std::optional<Bindings> loadKernelBindings(const DriverOptions& opts);

struct CompileOptions {
  std::string output;        // -o; empty: FILE.bpf.o (or stdout for text)
  std::string emit = "obj";  // plan | manifest | llvm | asm | obj
  std::string btf;           // kernel BTF to compile against; empty: the running kernel's
};

struct FormatOptions {
  bool write = false;  // rewrite the files in place
  bool check = false;  // list the files that are not formatted; exit 1 if any
};

int runCheck(const std::vector<std::string>& files, const DriverOptions& opts);
int runFormat(const std::vector<std::string>& files, const FormatOptions& fo, const DriverOptions& opts);
int runCompile(const std::string& file, const CompileOptions& co, const DriverOptions& opts);
int runExplain(const std::string& code, bool list);

}  // namespace mmp

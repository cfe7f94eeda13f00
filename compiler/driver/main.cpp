// mmpc: the mmp policy compiler.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>
#include <set>

#include "driver/driver.h"

int main(int argc, char** argv) {
  CLI::App app{"mmpc: compile mmp memory-management policies into BPF objects", "mmpc"};
  app.set_version_flag("--version", std::string("mmpc ") + MMP_VERSION);
  app.require_subcommand(1);
  app.fallthrough();

  mmp::DriverOptions opts;
  std::string format = "text", color = "auto";
  app.add_option("--diagnostics-format", format, "Diagnostics as `text` (clang style) or `json` (one object per line)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--color", color, "Colour diagnostics: auto (on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_flag("--werror", opts.werror, "Treat warnings as errors");
  app.add_option("--stdlib", opts.stdlibDir, "The standard library directory (bindings and std/ policies)");

  std::vector<std::string> files;
  auto* check = app.add_subcommand("check", "Check policies and report every diagnostic; write nothing");
  check->add_option("files", files, "Policy files (.mmp)")->required();
  check->add_option("--emit", opts.emit, "Also print a stage's output: `ast`")->check(CLI::IsMember({"ast"}));

  std::string input;
  mmp::CompileOptions co;
  auto* compile = app.add_subcommand("compile", "Compile a policy into a BPF object");
  compile->add_option("file", input, "Policy file (.mmp)")->required();
  compile->add_option("-o,--output", co.output, "Output file (default: FILE.bpf.o; `-` for stdout)");
  compile->add_option("--emit", co.emit, "What to write: plan, manifest, llvm, asm or obj")
      ->check(CLI::IsMember({"plan", "manifest", "llvm", "asm", "obj"}));
  compile->add_option("--btf", co.btf, "Kernel BTF to compile against (default: /sys/kernel/btf/vmlinux)");

  mmp::FormatOptions fo;
  std::vector<std::string> fmtFiles;
  auto* format_ = app.add_subcommand("fmt", "Print policies in their canonical layout (comments kept, meaning unchanged)");
  format_->add_option("files", fmtFiles, "Policy files (.mmp)")->required();
  format_->add_flag("-w,--write", fo.write, "Rewrite the files in place instead of printing them");
  format_->add_flag("--check", fo.check, "Print the files that are not formatted, and exit 1 if there are any");

  std::string code;
  auto* explain = app.add_subcommand("explain", "Explain a diagnostic code, with a wrong and a right example");
  bool listCodes = false;
  auto* codeOpt = explain->add_option("code", code, "A code such as E0200");
  explain->add_flag("--list", listCodes, "List every code with its title")->excludes(codeOpt);

  // Name an unknown command rather than CLI11's "a subcommand is required".
  static const std::set<std::string> commands = {"check", "compile", "explain", "fmt"};
  if (argc > 1 && argv[1][0] != '-' && !commands.count(argv[1])) {
    std::cerr << fmt::format("mmpc: error: unknown command `{}`\nhelp: the commands are `check`, `compile`, `fmt` and `explain`; see `mmpc --help`\n", argv[1]);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  opts.format = format == "json" ? mmp::DiagFormat::Json : mmp::DiagFormat::Text;
  opts.color = color == "always" ? mmp::ColorMode::Always : color == "never" ? mmp::ColorMode::Never : mmp::ColorMode::Auto;

  if (*check) return mmp::runCheck(files, opts);
  if (*compile) return mmp::runCompile(input, co, opts);
  if (*explain) {
    if (!listCodes && code.empty()) {
      std::cerr << "mmpc: error: explain needs a code such as E0200, or --list\n";
      return 2;
    }
    return mmp::runExplain(code, listCodes);
  }
  if (*format_) return mmp::runFormat(fmtFiles, fo, opts);
  return 2;
}

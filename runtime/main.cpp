// mmrun: loads mmp policies onto the kernel's memory hooks and enacts the
// decisions they suggest. This build has `check`; `load`, `status`,
// `replay` and `record` are being built.
#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"mmrun: run mmp memory-management policies", "mmrun"};
  app.set_version_flag("--version", std::string("mmrun ") + MMP_VERSION);
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Print libbpf's messages");
  app.fallthrough();

  std::string object;
  auto* check = app.add_subcommand("check", "Load a policy object into the verifier, print its programs, unload");
  check->add_option("object", object, "A BPF object made by `mmpc compile`")->required()->check(CLI::ExistingFile);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*check) return mmp::runtime::runCheck(object, verbose);
  return 2;
}

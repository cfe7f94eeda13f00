// mmrun: loads mmp policies onto the kernel's memory hooks and enacts the
// decisions they suggest.
#include <CLI/CLI.hpp>

#include <iostream>

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

  mmp::runtime::LoadOptions lo;
  std::string format = "text", interval;
  auto* load = app.add_subcommand("load", "Run policies: attach them to the memory hooks and enact their decisions; "
                                          "where two policies' decisions meet, the one given first wins. SIGHUP reloads");
  load->add_option("objects", lo.objects, "BPF objects made by `mmpc compile`")->required()->check(CLI::ExistingFile);
  load->add_flag("--dry-run", lo.dryRun, "Log every decision, write nothing");
  load->add_option("--cgroup-root", lo.cgroupRoot, "The memory cgroup hierarchy's root (default: found)");
  load->add_option("--log-format", format, "text or json (one JSON object per line)")
      ->check(CLI::IsMember({"text", "json"}));
  load->add_option("--interval", interval, "The periodic walk's interval, e.g. 500ms or 2s (default: the policy's)");

  load->add_option("--socket", lo.statusSocket, "Where to answer `mmrun status` (default: /run/mmrun/POLICY.sock)");
  load->add_option("--pin", lo.pinDir,
                   "Pin the hooks under DIR/POLICY on a bpf file system, so that they outlive a crash of mmrun");

  std::string socket;
  bool json = false;
  auto* status = app.add_subcommand("status", "Ask running mmruns for their policies' counters");
  status->add_option("--socket", socket, "Ask only this mmrun");
  status->add_flag("--json", json, "Print JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*check) return mmp::runtime::runCheck(object, verbose);
  if (*status) return mmp::runtime::runStatus(socket, json);
  if (*load) {
    lo.format = format == "json" ? mmp::runtime::LogFormat::Json : mmp::runtime::LogFormat::Text;
    if (!interval.empty()) {
      char* end = nullptr;
      double v = std::strtod(interval.c_str(), &end);
      std::string unit = end ? end : "";
      double scale = unit == "ms" ? 1e6 : unit == "s" ? 1e9 : unit == "min" ? 60e9 : 0;
      if (scale == 0 || v <= 0) {
        std::cerr << "mmrun: error: --interval takes a duration such as 500ms, 2s or 1min\n";
        return 2;
      }
      lo.intervalNs = static_cast<uint64_t>(v * scale);
    }
    return mmp::runtime::runLoad(lo);
  }
  return 2;
}

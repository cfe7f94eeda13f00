// mmrun: loads mmp policies onto the kernel's memory hooks and enacts the
// decisions they suggest; records the snapshots the programs see and
// replays them through a policy's own compiled rules.
#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>

#include "commands.h"

namespace {

// "500ms", "2s", "1min" → ns; nothing if malformed.
std::optional<uint64_t> parseDuration(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  std::string unit = end ? end : "";
  double scale = unit == "ms" ? 1e6 : unit == "s" ? 1e9 : unit == "min" ? 60e9 : 0;
  if (scale == 0 || v <= 0) return std::nullopt;
  return static_cast<uint64_t>(v * scale);
}

int badDuration(const char* option) {
  std::cerr << "mmrun: error: " << option << " takes a duration such as 500ms, 2s or 1min\n";
  return 2;
}

}  // namespace

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
  load->add_option("objects", lo.objects, "BPF objects made by `mmpc compile`")->check(CLI::ExistingFile);
  load->add_option("--policy-dir", lo.policyDir,
                   "Also run every *.bpf.o in DIR, in file-name order after the objects given: a file added starts, "
                   "a changed one reloads, a removed one detaches; one that fails to load is logged and leaves the "
                   "others running")
      ->type_name("DIR")
      ->check(CLI::ExistingDirectory);
  load->add_flag("--dry-run", lo.dryRun, "Log every decision, write nothing");
  bool noRealtime = false;
  load->add_flag("--no-realtime", noRealtime,
                 "Enact decisions in the normal scheduling class, not SCHED_FIFO (which a kill takes by default, "
                 "so that busy CPUs do not delay it), and leave a SIGKILL's victim at its own nice (raised to -20 by default, "
                 "so that its exit is not delayed either)");
  load->add_option("--cgroup-root", lo.cgroupRoot, "The memory cgroup hierarchy's root (default: found)");
  load->add_option("--log-format", format,
                   "text, json (one JSON object per line) or journal (to journald, each part a field: "
                   "MMP_POLICY, MMP_RULE, MMP_CGROUP, ...; kills with MESSAGE_ID " +
                       std::string(mmp::runtime::kKillMessageId) + ")")
      ->check(CLI::IsMember({"text", "json", "journal"}));
  load->add_option("--interval", interval, "The periodic walk's interval, e.g. 500ms or 2s (default: the policy's)");

  load->add_option("--socket", lo.statusSocket, "Where to answer `mmrun status` (default: /run/mmrun/POLICY.sock)");
  load->add_option("--pin", lo.pinDir,
                   "Pin the hooks under DIR/POLICY on a bpf file system, so that they outlive a crash of mmrun");
  load->add_option("--metrics", lo.metrics,
                   "Serve Prometheus metrics at http://ADDR:PORT/metrics (PORT alone: on 127.0.0.1)")
      ->type_name("ADDR:PORT");
  std::string preKillLimit = "5s";
  load->add_option("--pre-kill", lo.preKill,
                   "Run this shell command right before each kill; the victim is in MMP_POLICY, MMP_RULE, "
                   "MMP_CGROUP, MMP_PID, MMP_VICTIM and MMP_REASON")
      ->type_name("COMMAND");
  load->add_option("--pre-kill-timeout", preKillLimit,
                   "How long a kill waits for the --pre-kill command before killing it (default: 5s)");
  load->add_option("--record", lo.recordPath,
                   "Also write every snapshot the rules evaluate to this trace (for `mmrun replay`)");

  std::string socket;
  bool json = false;
  auto* status = app.add_subcommand("status", "Ask running mmruns for their policies' counters");
  status->add_option("--socket", socket, "Ask only this mmrun");
  status->add_flag("--json", json, "Print JSON");

  mmp::runtime::ReplayOptions ro;
  std::string replayFormat = "text";
  auto* replay = app.add_subcommand(
      "replay", "Run a policy's compiled rules on a recorded trace; print their decisions as a dry run");
  replay->add_option("object", ro.object, "A BPF object made by `mmpc compile`")->required()->check(CLI::ExistingFile);
  replay->add_option("trace", ro.trace, "A trace made by `mmrun record` or `mmrun load --record` (JSON lines)")
      ->required();
  replay->add_option("--log-format", replayFormat, "text or json (one JSON object per line)")
      ->check(CLI::IsMember({"text", "json"}));

  mmp::runtime::ExplainOptions eo;
  std::string explainFormat = "text";
  auto* explain = app.add_subcommand(
      "explain", "Which victim a rule's kill would take now, and why, whatever its condition: a dry run of the "
                 "kill for each cgroup in the rule's scope, with its candidate table. Loads nothing, kills nothing");
  explain->add_option("object", eo.object, "A BPF object made by `mmpc compile`")->required()->check(CLI::ExistingFile);
  explain->add_option("rule", eo.rule, "The rule: FILE:LINE as the records name it, or LINE")->required();
  explain->add_option("--cgroup", eo.cgroups, "Only for this cgroup (a path below the root, as the records give it)")
      ->type_name("PATH");
  explain->add_option("--cgroup-root", eo.cgroupRoot, "The memory cgroup hierarchy's root (default: found)");
  explain->add_option("--log-format", explainFormat, "text or json (one JSON object per line)")
      ->check(CLI::IsMember({"text", "json"}));

  mmp::runtime::RecordOptions rec;
  std::string recordFor, recordInterval = "1s";
  auto* record = app.add_subcommand(
      "record", "Write what the BPF programs read of every cgroup and the system to stdout, as a trace");
  record->add_option("--cgroup-root", rec.cgroupRoot, "The memory cgroup hierarchy's root (default: found)");
  record->add_option("--for", recordFor, "How long to record, e.g. 30s or 5min")->required();
  record->add_option("--interval", recordInterval, "The walk's interval (default: 1s)");
  record->add_option("--recorder", rec.recorder, "The recorder object (default: the one installed next to mmrun)")
      ->check(CLI::ExistingFile);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto logFormat = [](const std::string& f) {
    return f == "json"      ? mmp::runtime::LogFormat::Json
           : f == "journal" ? mmp::runtime::LogFormat::Journal
                            : mmp::runtime::LogFormat::Text;
  };
  if (*check) return mmp::runtime::runCheck(object, verbose);
  if (*status) return mmp::runtime::runStatus(socket, json);
  if (*explain) {
    eo.format = logFormat(explainFormat);
    return mmp::runtime::runExplain(eo);
  }
  if (*replay) {
    ro.format = logFormat(replayFormat);
    return mmp::runtime::runReplay(ro);
  }
  if (*record) {
    auto forNs = parseDuration(recordFor);
    if (!forNs) return badDuration("--for");
    auto every = parseDuration(recordInterval);
    if (!every) return badDuration("--interval");
    rec.forNs = *forNs;
    rec.intervalNs = *every;
    return mmp::runtime::runRecord(rec);
  }
  if (*load) {
    if (lo.objects.empty() && lo.policyDir.empty()) {
      std::cerr << "mmrun: error: load needs policy objects, or --policy-dir DIR\n";
      return 2;
    }
    lo.format = logFormat(format);
    auto limit = parseDuration(preKillLimit);
    if (!limit) return badDuration("--pre-kill-timeout");
    lo.preKillLimitNs = *limit;
    if (!interval.empty()) {
      auto ns = parseDuration(interval);
      if (!ns) return badDuration("--interval");
      lo.intervalNs = *ns;
    }
    lo.realtime = !noRealtime;
    return mmp::runtime::runLoad(lo);
  }
  return 2;
}

// The mmrun subcommands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "log.h"

namespace mmp::runtime {

int runCheck(const std::string& objectPath, bool verbose);

struct LoadOptions {
  std::vector<std::string> objects;
  std::string policyDir;     // non-empty: also run this directory's *.bpf.o as they come, change and go
  bool dryRun = false;
  std::string cgroupRoot;
  LogFormat format = LogFormat::Text;
  uint64_t intervalNs = 0;  // 0: the policy's own
  std::string statusSocket;  // empty: statusDirectory()/POLICY.sock (the first policy's, else the directory's name)
  std::string pinDir;        // empty: nothing pinned
  std::string recordPath;    // non-empty: write the snapshots to this trace
  std::string metrics;       // non-empty: serve /metrics at this ADDR:PORT
  std::string preKill;       // non-empty: run before each kill (sh -c)
  uint64_t preKillLimitNs = 5'000'000'000;
  bool realtime = true;  // enact decisions SCHED_FIFO (urgent.h)
};
int runLoad(const LoadOptions& o);
int runStatus(const std::string& socketPath, bool json);

struct ReplayOptions {
  std::string object;
  std::string trace;
  LogFormat format = LogFormat::Text;
};
int runReplay(const ReplayOptions& o);

struct ExplainOptions {
  std::string object;
  std::string rule;                  // file:line, FILE_BASENAME:line, or line
  std::vector<std::string> cgroups;  // empty: every cgroup in the rule's scope
  std::string cgroupRoot;
  LogFormat format = LogFormat::Text;
};
int runExplain(const ExplainOptions& o);

struct RecordOptions {
  std::string cgroupRoot;
  uint64_t forNs = 0;
  uint64_t intervalNs = 1'000'000'000;
  std::string recorder;  // empty: the one installed next to mmrun
};
int runRecord(const RecordOptions& o);

}  // namespace mmp::runtime

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
  bool dryRun = false;
  std::string cgroupRoot;
  LogFormat format = LogFormat::Text;
  uint64_t intervalNs = 0;  // 0: the policy's own
  std::string statusSocket;  // empty: statusDirectory()/POLICY.sock
};
int runLoad(const LoadOptions& o);
int runStatus(const std::string& socketPath, bool json);

struct ReplayOptions {
  std::string object;
  std::string trace;
  LogFormat format = LogFormat::Text;
};
int runReplay(const ReplayOptions& o);


}  // namespace mmp::runtime

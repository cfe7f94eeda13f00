// The mmrun subcommands.
#pragma once

#include <string>

namespace mmp::runtime {

int runCheck(const std::string& objectPath, bool verbose);

}  // namespace mmp::runtime

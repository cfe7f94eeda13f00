// The verifier's refusal of a program, said in one line with what to do.
#pragma once

#include <string>

namespace mmp::runtime {

// From libbpf's messages of a failed load (`log`) and its error (`err`,
// positive): the program refused, the verifier's last word before its
// statistics, and advice for the refusals a policy's size causes.
std::string verifierVerdict(const std::string& log, int err);

}  // namespace mmp::runtime

// The long forms of diagnostics, for `mmpc explain`.
#pragma once

#include <string_view>
#include <vector>

#include "diagnostics/diagnostics.h"

namespace mmp {

struct Explanation {
  DiagCode code;
  std::string_view text;
  std::string_view wrong;  // a policy that gives the code; empty if none applies
  std::string_view right;  // the same policy, fixed
};

const std::vector<Explanation>& allExplanations();
const Explanation* explanation(DiagCode code);

}  // namespace mmp

#include "diagnostics/explain.h"

namespace mmp {

const std::vector<Explanation>& allExplanations() {
  static const std::vector<Explanation> table = {
#define EXPLAIN(code, text, wrong, right) {DiagCode::code, text, wrong, right},
#include "diagnostics/explanations.def"
#undef EXPLAIN
  };
  return table;
}

const Explanation* explanation(DiagCode code) {
  for (const auto& e : allExplanations())
    if (e.code == code) return &e;
  return nullptr;
}

}  // namespace mmp

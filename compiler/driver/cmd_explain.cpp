// `mmpc explain CODE`: the long form of a diagnostic, with a wrong and a
// right example.
#include <fmt/format.h>

#include <iostream>

#include "diagnostics/explain.h"
#include "driver/driver.h"

namespace mmp {

namespace {

void printIndented(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    std::cout << "    " << text.substr(i, j - i) << "\n";
    i = j + 1;
  }
}

}  // namespace

int runExplain(const std::string& id, bool list) {
  if (list) {  // one code and its title per line (shell completion reads the codes)
    for (const auto& d : allDiagnostics()) std::cout << fmt::format("{}\t{}\n", d.id, d.title);
    return 0;
  }
  auto code = parseDiagCode(id);
  if (!code) {
    std::cerr << fmt::format("mmpc: error: `{}` is not a diagnostic code\n", id);
    std::vector<std::string> ids;
    for (const auto& d : allDiagnostics()) ids.emplace_back(d.id);
    std::cerr << fmt::format("help: the codes are {}\n", fmt::join(ids, ", "));
    return 2;
  }
  const DiagInfo& info = diagInfo(*code);
  std::cout << fmt::format("{} ({}): {}\n\n", info.id, info.severity == Severity::Error ? "error" : "warning",
                           info.title);
  const Explanation* e = explanation(*code);
  if (!e) return 0;
  std::cout << e->text << "\n";
  if (!e->wrong.empty()) {
    std::cout << "\nWrong:\n\n";
    printIndented(e->wrong);
    std::cout << "\nRight:\n\n";
    printIndented(e->right);
  }
  return 0;
}

}  // namespace mmp

// `mmpc check FILE...`: the front end on each file, every diagnostic printed.
#include <fmt/format.h>

#include <iostream>

#include "ast/ast.h"
#include "driver/driver.h"

namespace mmp {

int runCheck(const std::vector<std::string>& files, const DriverOptions& opts) {
  auto bindings = loadKernelBindings(opts);
  if (!bindings) return 1;
  int status = 0;
  for (const auto& path : files) {
    auto r = runFrontEnd(path, *bindings, opts);
    if (!r) {
      status = 1;
      continue;
    }
    if (opts.emit == "ast" && r->loaded) std::cout << ast::dump(r->loaded->main());
    if (printDiagnostics(*r, opts) > 0 || !r->loaded) status = 1;
  }
  return status;
}

}  // namespace mmp

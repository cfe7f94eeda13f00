// `mmpc fmt FILE...`: prints each policy in its canonical layout, or with
// --write rewrites the files in place (only those that change), or with
// --check lists those that are not formatted and exits 1.
#include <fmt/format.h>

#include <iostream>

#include "driver/driver.h"
#include "format/format.h"
#include "load/load.h"
#include "safe_file.h"

namespace mmp {

namespace {

// Through a new file beside it, with the old one's owner and mode, and a
// rename: an interrupted write loses nothing, and a link planted at a
// temporary name cannot redirect the write (there is no fixed name).
bool writeInPlace(const std::string& path, const std::string& text, std::string& error) {
  ReplacementFile out;
  bool ok = out.open(path) && out.write(text) && out.commit();
  error = out.error();
  return ok;
}

}  // namespace

int runFormat(const std::vector<std::string>& files, const FormatOptions& fo, const DriverOptions& opts) {
  int status = 0;
  for (const auto& path : files) {
    FrontEndResult r;
    uint32_t file;
    std::string error;
    if (!readSource(path, r.sources, file, error)) {
      std::cerr << fmt::format("mmpc: error: cannot read '{}': {}\n", path, error);
      status = 1;
      continue;
    }
    auto layout = layout::parseLayout(r.sources, file, r.diags);
    if (!layout) {
      printDiagnostics(r, opts);
      std::cerr << fmt::format("mmpc: '{}' was left as it is: fix its syntax errors first\n", path);
      status = 1;
      continue;
    }
    std::string text = formatLayout(*layout);
    bool same = text == r.sources.file(file).text();
    if (fo.check) {
      if (!same) {
        std::cout << path << "\n";
        status = 1;
      }
    } else if (fo.write) {
      if (!same && !writeInPlace(path, text, error)) {
        std::cerr << fmt::format("mmpc: error: cannot write '{}': {}\n", path, error);
        status = 1;
      }
    } else {
      std::cout << text;
    }
  }
  return status;
}

}  // namespace mmp

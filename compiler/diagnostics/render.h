// Printing diagnostics: clang-style text with the source line and a caret,
// or one JSON object per line for tools.
#pragma once

#include <ostream>

#include "diagnostics/diagnostics.h"

namespace mmp {

struct RenderOptions {
  bool color = false;
  bool werror = false;  // print warnings as errors
};

void renderText(const Diagnostic& d, const SourceManager& sm, std::ostream& os,
                const RenderOptions& opts);
void renderJson(const Diagnostic& d, const SourceManager& sm, std::ostream& os,
                const RenderOptions& opts);

}  // namespace mmp

// The .mmp.manifest section: what the runtime needs to know of the object
// (docs/language.md section 9), as JSON.
#pragma once

#include <string>

#include "lower/plan.h"

namespace mmp {

std::string buildManifest(const plan::Plan& plan, const std::string& sourceText);

}  // namespace mmp

// The object's manifest (.mmp.manifest), read and validated: the runtime
// knows the policy only through it and the decision record.
#pragma once

#include <llvm/Support/Error.h>

#include <nlohmann/json.hpp>
#include <string>

namespace mmp::runtime {

struct Manifest {
  nlohmann::json json;
  std::string policy;
  int format = 0;
};

// Reads the manifest of a BPF object file. Refuses (with a message saying
// why) a file that is not an ELF object, has no manifest (not made by
// mmpc), or has a format version this mmrun does not know.
llvm::Expected<Manifest> readManifest(const std::string& objectPath);

}  // namespace mmp::runtime

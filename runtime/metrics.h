// What `mmrun load --metrics` exposes: every running policy's counters
// (the BPF programs' and the enactor's), the kernel's run statistics of
// its programs, and what is loaded since when. docs/runtime.md, "Metrics",
// lists them.
#pragma once

#include <string>
#include <vector>

#include "enactor.h"
#include "policy.h"

namespace mmp::runtime {

// One running policy as the metrics see it.
struct PolicyView {
  const Policy* policy;
  const Enactor* enactor;
  std::string objectSha256;  // of the object file as loaded
  double loadedAt = 0;       // Unix time of its last load or reload
  size_t cgroupsWatched = 0;  // cgroups in at least one of its scopes
};

// The whole exposition, in the 0.0.4 text format or OpenMetrics.
std::string renderMetrics(const std::vector<PolicyView>& policies, bool openMetrics);

// The SHA-256 of a file's bytes, in hex; empty when it cannot be read.
std::string fileSha256(const std::string& path);

}  // namespace mmp::runtime

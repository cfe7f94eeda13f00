// The system fields the BPF programs read from the `mmp_system` map,
// refreshed by mmrun before each tick from /proc/meminfo and
// /proc/pressure/memory.
#pragma once

#include "manifest.h"

struct bpf_map;

namespace mmp::runtime {

// Writes the manifest's system fields (those with a `runtime` source) into
// `map`; a field whose source cannot be read stays 0.
void refreshSystemFields(const Manifest& m, struct bpf_map* map);

}  // namespace mmp::runtime

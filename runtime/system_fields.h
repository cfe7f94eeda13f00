// The system fields the BPF programs read from the `mmp_system` map,
// refreshed by mmrun before each tick from /proc/meminfo,
// /proc/pressure/memory and the zram devices' mm_stat.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "manifest.h"

struct bpf_map;

namespace mmp::runtime {

// Writes the manifest's system fields (those with a `runtime` source) into
// `map`; a field whose source cannot be read stays 0.
void refreshSystemFields(const Manifest& m, struct bpf_map* map);

// The first three columns of every /sys/block/zram*/mm_stat under
// `sysBlock`, summed: {"orig_data_size", "compr_data_size",
// "mem_used_total"} in bytes; an unset device counts 0, no device is {}.
std::map<std::string, uint64_t> zramStats(const std::string& sysBlock = "/sys/block");

}  // namespace mmp::runtime

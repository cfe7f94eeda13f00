// `kill ... in kernel`: an object whose policy has such kills carries the
// memcg reclaim hook twice, plain (mmrun kills) and with the search that
// signals the victim from the hook (compiler/codegen/emit_kernel_kill.cpp).
// One of the two is loaded: the search only where the kernel has its
// kfuncs (the task iterator, 6.7; bpf_send_signal_task, 6.13) and mmrun
// allows it; older verifiers refuse the search's loop outright.
#pragma once

#include <bpf/libbpf.h>

#include <string>
#include <vector>

namespace mmp::runtime {

// The kfuncs the running kernel lacks of those the search calls (its BTF).
std::vector<std::string> missingKillKfuncs();

// Leaves one of the two programs of `obj` (open, not loaded) to load, and
// says which and why: "kernel (...)", "mmrun (...)"; "" when the object
// has no kill in kernel. `allowed`: mmrun's options let the hook kill.
std::string chooseKillPath(struct bpf_object* obj, bool allowed);

}  // namespace mmp::runtime

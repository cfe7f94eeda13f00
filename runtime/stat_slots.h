// The running kernel's slots of arrays whose layout changed between
// kernels. memory.stat's counters live in struct memcg_vmstats's `state`:
// up to Linux 6.10 indexed by the item itself (enum node_stat_item, then
// enum memcg_stat_item), from 6.11 compacted to the items memcg tracks,
// through a table the kernel builds at boot (memcg_stats_index()) that
// neither BTF nor, on most kernels, kallsyms shows. The compiler's bindings
// carry that table's order (stdlib/bindings/kernel.json, `slot_tables`);
// here each slot is worked out from the running kernel's BTF, and refused
// when the array's length says its layout is not the one described.
#pragma once

#include <llvm/Support/Error.h>

#include <cstdint>
#include <string>
#include <vector>

struct btf;
struct bpf_object;

namespace mmp::runtime {

// One slot (the manifest's "slots"; each name "@ENUM:ENUMERATOR").
struct StatSlot {
  std::string structName, member;  // the array: "memcg_vmstats", "state"
  std::string directLength;        // its length when indexed by the item itself
  std::string item;                // the slot's item
  std::vector<std::string> tracked;  // the compacted array's items, in order
  std::vector<std::string> fields;   // the policy's fields read through it, for messages
};

// Each slot's index on the kernel whose BTF is `btf`; an error says which
// field cannot be read and why.
llvm::Expected<std::vector<uint32_t>> resolveSlots(const std::vector<StatSlot>& slots, const struct btf* btf);

// resolveSlots on the running kernel's BTF, written to the object's
// mmp_slots (runtime/abi/mmp_record.h), between open and load.
llvm::Error setSlots(struct bpf_object* obj, const std::vector<StatSlot>& slots);

}  // namespace mmp::runtime

// The running kernel's slots of memory.stat's counters (runtime/stat_slots.h),
// on BTF made here: an array indexed by the item itself (Linux up to 6.10),
// a compacted one (6.11 on), and a layout mmp does not know, refused.
#include "stat_slots.h"

#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

using mmp::runtime::resolveSlots;
using mmp::runtime::StatSlot;

namespace {

struct FreeBtf {
  void operator()(struct btf* b) const { btf__free(b); }
};
using Btf = std::unique_ptr<struct btf, FreeBtf>;

// enum node_stat_item { each of `node`, NR_VM_NODE_STAT_ITEMS },
// enum memcg_stat_item { each of `memcg` from there on, MEMCG_NR_STAT },
// struct memcg_vmstats { long state[length]; }.
Btf kernel(const std::vector<std::string>& node, const std::vector<std::string>& memcg, uint32_t length) {
  Btf b(btf__new_empty());
  int lng = btf__add_int(b.get(), "long", 8, BTF_INT_SIGNED);
  int idx = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
  btf__add_enum(b.get(), "node_stat_item", 4);
  int v = 0;
  for (const auto& n : node) btf__add_enum_value(b.get(), n.c_str(), v++);
  btf__add_enum_value(b.get(), "NR_VM_NODE_STAT_ITEMS", v);
  btf__add_enum(b.get(), "memcg_stat_item", 4);
  for (const auto& n : memcg) btf__add_enum_value(b.get(), n.c_str(), v++);
  btf__add_enum_value(b.get(), "MEMCG_NR_STAT", v);
  int array = btf__add_array(b.get(), idx, lng, length);
  btf__add_struct(b.get(), "memcg_vmstats", 8 * length);
  btf__add_field(b.get(), "state", array, 0, 0);
  return b;
}

StatSlot slot(const std::string& item) {
  return {"memcg_vmstats", "state", "@memcg_stat_item:MEMCG_NR_STAT", item,
          {"@node_stat_item:NR_INACTIVE_ANON", "@node_stat_item:NR_ANON_MAPPED", "@node_stat_item:NR_FILE_PAGES",
           "@node_stat_item:PGDEMOTE_KSWAPD", "@memcg_stat_item:MEMCG_SWAP", "@memcg_stat_item:MEMCG_SOCK"},
          {"memcg.anon"}};
}

}  // namespace

TEST(StatSlots, IndexedByTheItemWhenTheArrayHoldsEveryItem) {
  // Up to 6.10: state[MEMCG_NR_STAT], untracked items too.
  // The memcg items follow the node items: MEMCG_SOCK is 5, MEMCG_NR_STAT 6.
  Btf b = kernel({"NR_INACTIVE_ANON", "NR_ISOLATED_ANON", "NR_ANON_MAPPED", "NR_FILE_PAGES"}, {"MEMCG_SWAP", "MEMCG_SOCK"}, 6);
  auto slots = resolveSlots({slot("@node_stat_item:NR_ANON_MAPPED"), slot("@memcg_stat_item:MEMCG_SOCK")}, b.get());
  ASSERT_TRUE(static_cast<bool>(slots)) << llvm::toString(slots.takeError());
  EXPECT_EQ(*slots, (std::vector<uint32_t>{2, 5}));
}

TEST(StatSlots, CompactedToTheTrackedItemsTheKernelHas) {
  // 6.11 on: NR_ISOLATED_ANON is not tracked, PGDEMOTE_KSWAPD not in this
  // kernel; four node items and two memcg items are.
  Btf b = kernel({"NR_INACTIVE_ANON", "NR_ISOLATED_ANON", "NR_ANON_MAPPED", "NR_FILE_PAGES"}, {"MEMCG_SWAP", "MEMCG_SOCK"}, 5);
  auto slots = resolveSlots({slot("@node_stat_item:NR_FILE_PAGES"), slot("@node_stat_item:NR_ANON_MAPPED"),
                             slot("@memcg_stat_item:MEMCG_SWAP")},
                            b.get());
  ASSERT_TRUE(static_cast<bool>(slots)) << llvm::toString(slots.takeError());
  EXPECT_EQ(*slots, (std::vector<uint32_t>{2, 1, 3}));
}

TEST(StatSlots, ALayoutNotDescribedIsRefusedNamingTheField) {
  // Compacted, but one slot fewer than the items known: a kernel that
  // stopped tracking one of them, so the slots after it are unknown.
  Btf b = kernel({"NR_INACTIVE_ANON", "NR_ISOLATED_ANON", "NR_ANON_MAPPED", "NR_FILE_PAGES"}, {"MEMCG_SWAP", "MEMCG_SOCK"}, 4);
  auto slots = resolveSlots({slot("@node_stat_item:NR_ANON_MAPPED")}, b.get());
  ASSERT_FALSE(static_cast<bool>(slots));
  std::string why = llvm::toString(slots.takeError());
  EXPECT_NE(why.find("`memcg.anon` cannot be read on this kernel"), std::string::npos) << why;
  EXPECT_NE(why.find("memcg_vmstats.state has 4 slots here"), std::string::npos) << why;
  EXPECT_NE(why.find("this kernel has 5"), std::string::npos) << why;
}

TEST(StatSlots, ACounterTheKernelLacksIsRefused) {
  Btf b = kernel({"NR_INACTIVE_ANON", "NR_ANON_MAPPED", "NR_FILE_PAGES"}, {"MEMCG_SWAP", "MEMCG_SOCK"}, 5);
  auto slots = resolveSlots({slot("@node_stat_item:PGDEMOTE_KSWAPD")}, b.get());
  ASSERT_FALSE(static_cast<bool>(slots));
  std::string why = llvm::toString(slots.takeError());
  EXPECT_NE(why.find("it has no counter PGDEMOTE_KSWAPD"), std::string::npos) << why;
}

TEST(StatSlots, AKernelWithoutTheArrayIsRefused) {
  Btf b(btf__new_empty());
  btf__add_int(b.get(), "long", 8, BTF_INT_SIGNED);
  auto slots = resolveSlots({slot("@node_stat_item:NR_ANON_MAPPED")}, b.get());
  ASSERT_FALSE(static_cast<bool>(slots));
  std::string why = llvm::toString(slots.takeError());
  EXPECT_NE(why.find("its BTF has no array memcg_vmstats.state"), std::string::npos) << why;
}

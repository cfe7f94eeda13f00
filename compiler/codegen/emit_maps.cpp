// The ABI types shared with the runtime, the BTF-defined maps, the license
// and the manifest section.
#include <fmt/format.h>

#include <algorithm>
#include <cstddef>

#include "abi/mmp_abi.h"
#include "codegen/emitter.h"

namespace mmp::codegen {

namespace {

constexpr uint64_t kStackSnapshotBytes = 128;  // larger snapshots go to a per-CPU map
constexpr unsigned kRingbufBytes = 256 * 1024;
// One page: mmrun sizes the snapshot channel before loading when it records.
constexpr unsigned kSnapshotRingbufBytes = 4096;
constexpr unsigned kMaxCgroups = 65536;
// The LRU state map is preallocated: rows * entries stays under this, so a
// policy of many stateful rules tracks fewer cgroups (the least recently
// evaluated lose their state first).
constexpr uint64_t kStateMapBytes = 64ULL << 20;
constexpr unsigned kMinStateRows = 4096;
// Cgroups whose last reclaim is remembered (16 bytes each, and the LRU's
// own): the least recently reclaiming are forgotten first, and then read
// as never seen, which errs on the side of not acting.
constexpr unsigned kReclaimSeenCgroups = 16384;

// The generated layouts must be the header's.
static_assert(sizeof(struct mmp_decision) == 88 && offsetof(struct mmp_decision, values) == 40);
static_assert(sizeof(struct mmp_rule_counters) == 24 && sizeof(struct mmp_rule_window) == 16);
static_assert(offsetof(struct mmp_snapshot, fields) == 24);

}  // namespace

void Emitter::defineAbiTypes() {
  auto& ctx = m_.getContext();
  auto* i16 = llvm::Type::getInt16Ty(ctx);
  auto* i32 = llvm::Type::getInt32Ty(ctx);
  auto* i64 = llvm::Type::getInt64Ty(ctx);
  mod_.decisionTy = llvm::StructType::create(ctx, {i16, i16, i32, i64, i64, i64, i32, i32, llvm::ArrayType::get(i64, MMP_MAX_VALUES)},
                                         "struct.mmp_decision");
  mod_.rowTy = llvm::ArrayType::get(i64, std::max<uint32_t>(1, plan_.stateWords));
  mod_.countersTy = llvm::StructType::create(ctx, {i64, i64, i64}, "struct.mmp_rule_counters");
  mod_.windowTy = llvm::StructType::create(ctx, {i64, i64}, "struct.mmp_rule_window");

  mod_.u64 = di_.intType(64, false);
  mod_.int32 = di_.intType(32, true);
  auto* u32 = di_.intType(32, false);
  auto* u16 = di_.intType(16, false);
  mod_.decisionDi = di_.structType("mmp_decision", sizeof(struct mmp_decision),
                               {{"version", u16, 0, 2}, {"action", u16, 2, 2}, {"rule", u32, 4, 4},
                                {"cgroup_id", mod_.u64, 8, 8}, {"time_ns", mod_.u64, 16, 8}, {"arg", mod_.u64, 24, 8},
                                {"flags", u32, 32, 4}, {"action_index", u32, 36, 4},
                                {"values", di_.arrayOf(mod_.u64, MMP_MAX_VALUES, 8), 40, 8 * MMP_MAX_VALUES}});
  uint64_t fields = plan_.snapshot.size();
  mod_.snapshotDi = di_.structType("mmp_snapshot", 24 + 8 * fields,
                               {{"time_ns", mod_.u64, 0, 8}, {"cgroup_id", mod_.u64, 8, 8}, {"scope_mask", mod_.u64, 16, 8},
                                {"fields", di_.arrayOf(mod_.u64, fields, 8), 24, 8 * fields}});
}

llvm::GlobalVariable* Emitter::defineMap(const std::string& name, unsigned type, unsigned maxEntries, llvm::DIType* key,
                                         llvm::DIType* value, unsigned flags) {
  auto& ctx = m_.getContext();
  auto* ptr = llvm::PointerType::get(ctx, 0);
  std::vector<DIMember> members = {
      {"type", di_.pointerTo(di_.arrayOf(mod_.int32, type, 4)), 0, 8},
      {"max_entries", di_.pointerTo(di_.arrayOf(mod_.int32, maxEntries, 4)), 8, 8}};
  if (key) members.push_back({"key", di_.pointerTo(key), 16, 8});
  if (value) members.push_back({"value", di_.pointerTo(value), 8 * members.size(), 8});
  if (flags) members.push_back({"map_flags", di_.pointerTo(di_.arrayOf(mod_.int32, flags, 4)), 8 * members.size(), 8});
  auto* ty = llvm::StructType::get(ctx, std::vector<llvm::Type*>(members.size(), ptr));
  auto* g = new llvm::GlobalVariable(m_, ty, false, llvm::GlobalValue::ExternalLinkage,
                                     llvm::Constant::getNullValue(ty), name);
  g->setSection(".maps");
  g->setAlignment(llvm::Align(8));
  g->setDSOLocal(true);
  di_.global(g, name, di_.structType("", 8 * members.size(), members));
  mod_.used.push_back(g);
  return g;
}

void Emitter::defineMaps() {
  auto* u32 = di_.intType(32, false);
  mod_.decisions = defineMap(MMP_MAP_DECISIONS, kMapRingbuf, kRingbufBytes, nullptr, nullptr);
  // Only mmrun writes it: its entries are made as cgroups come, not all
  // 65,536 at load (5 MiB of the kernel's memory, charged to mmrun).
  mod_.scopes = defineMap(MMP_MAP_SCOPES, kMapHash, kMaxCgroups, mod_.u64, mod_.u64, kNoPrealloc);
  if (plan_.stateWords) {
    uint64_t rowBytes = 8ULL * plan_.stateWords;
    auto rows = static_cast<unsigned>(std::clamp<uint64_t>(kStateMapBytes / rowBytes, kMinStateRows, kMaxCgroups));
    auto* rowDi = di_.arrayOf(mod_.u64, plan_.stateWords, 8);
    mod_.state = defineMap(MMP_MAP_STATE, kMapLruHash, rows, mod_.u64, rowDi);
    mod_.stateZero = defineMap(MMP_MAP_STATE_ZERO, kMapArray, 1, u32, rowDi);
  }
  auto* countersDi = di_.structType("mmp_rule_counters", 24,
                                    {{"evaluations", mod_.u64, 0, 8}, {"firings", mod_.u64, 8, 8}, {"drops", mod_.u64, 16, 8}});
  unsigned rules = std::max<unsigned>(1, plan_.rules.size());
  mod_.counters = defineMap(MMP_MAP_COUNTERS, kMapPercpuArray, rules, u32, countersDi);
  bool atMost = false;
  for (const auto& r : plan_.rules) atMost |= r.atMost != 0;
  if (atMost)
    mod_.windows = defineMap(MMP_MAP_WINDOWS, kMapArray, rules, u32,
                         di_.structType("mmp_rule_window", 16, {{"start", mod_.u64, 0, 8}, {"count", mod_.u64, 8, 8}}));
  bool pressure = false;
  for (const auto& r : plan_.rules) pressure |= r.event && *r.event == "pressure";
  if (pressure) mod_.trigger = defineMap(MMP_MAP_TRIGGER, kMapArray, 1, u32, mod_.u64);
  for (const Binding* b : plan_.snapshot)
    if (b->kernel.observed == "reclaim" && !mod_.reclaimSeen)
      mod_.reclaimSeen = defineMap(MMP_MAP_RECLAIM_SEEN, kMapLruHash, kReclaimSeenCgroups, mod_.u64, mod_.u64);
  // System fields come from mmrun, written once per tick (docs/architecture.md).
  unsigned systemFields = 0;
  for (const Binding* b : plan_.snapshot)
    if (b->context == FieldContext::System) ++systemFields;
  if (24 + 8 * plan_.snapshot.size() > kStackSnapshotBytes)
    mod_.snapshotMap = defineMap("mmp_snapshot", kMapPercpuArray, 1, u32, di_.arrayOf(mod_.u64, 3 + plan_.snapshot.size(), 8));
  if (systemFields)
    mod_.system = defineMap("mmp_system", kMapArray, 1, u32, di_.arrayOf(mod_.u64, plan_.snapshot.size(), 8));
  // The snapshot channel, for `when` rules: the ones the replay program runs.
  bool when = false;
  for (const auto& r : plan_.rules) when |= !r.event;
  if (when) {
    mod_.snapshots = defineMap(MMP_MAP_SNAPSHOTS, kMapRingbuf, kSnapshotRingbufBytes, nullptr, nullptr);
    mod_.snapshotsLost = defineMap(MMP_MAP_SNAPSHOTS_LOST, kMapArray, 1, u32, mod_.u64);
    // The switch: a constant mmrun sets before loading (`const volatile`
    // in C terms: LLVM must not fold it, the verifier does).
    mod_.recording = new llvm::GlobalVariable(m_, ir_.getInt64Ty(), true, llvm::GlobalValue::ExternalLinkage,
                                          ir_.getInt64(0), MMP_VAR_RECORDING);
    mod_.recording->setSection(".rodata");
    mod_.recording->setAlignment(llvm::Align(8));
    mod_.recording->setDSOLocal(true);
    di_.global(mod_.recording, MMP_VAR_RECORDING, mod_.u64);
    mod_.used.push_back(mod_.recording);
  }
  if (!mod_.slotUses.empty()) {
    // Slots mmrun writes before loading, as mmp_recording; unset ones
    // (~0) would read far out of the array, and mmrun refuses to load
    // without every one.
    auto n = static_cast<unsigned>(mod_.slotUses.size());
    auto* type = llvm::ArrayType::get(ir_.getInt32Ty(), n);
    std::vector<llvm::Constant*> unset(n, ir_.getInt32(~0U));
    mod_.slots = new llvm::GlobalVariable(m_, type, true, llvm::GlobalValue::ExternalLinkage,
                                          llvm::ConstantArray::get(type, unset), MMP_VAR_SLOTS);
    mod_.slots->setSection(".rodata");
    mod_.slots->setAlignment(llvm::Align(8));
    mod_.slots->setDSOLocal(true);
    di_.global(mod_.slots, MMP_VAR_SLOTS, di_.arrayOf(u32, n, 4));
    mod_.used.push_back(mod_.slots);
    kernel_.setSlots(mod_.slots);
  }
}

void Emitter::defineLicenseAndManifest() {
  auto& ctx = m_.getContext();
  auto* lic = llvm::ConstantDataArray::getString(ctx, "GPL");
  // libbpf reads the license from a writable section of this name.
  auto* g = new llvm::GlobalVariable(m_, lic->getType(), false, llvm::GlobalValue::ExternalLinkage, lic, "LICENSE");
  g->setSection("license");
  g->setAlignment(llvm::Align(1));
  di_.global(g, "LICENSE", di_.arrayOf(di_.intType(8, true), 4, 1));
  mod_.used.push_back(g);

  auto* text = llvm::ConstantDataArray::getString(ctx, in_.manifest, /*AddNull=*/false);
  auto* man = new llvm::GlobalVariable(m_, text->getType(), true, llvm::GlobalValue::ExternalLinkage, text,
                                       "mmp_manifest");
  man->setSection(MMP_MANIFEST_SECTION);
  man->setAlignment(llvm::Align(1));
  mod_.used.push_back(man);
}

}  // namespace mmp::codegen

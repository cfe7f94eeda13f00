#include "stat_slots.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "abi/mmp_record.h"

namespace mmp::runtime {

namespace {

llvm::Error fail(const std::string& what) {
  return llvm::createStringError(std::errc::invalid_argument, "%s", what.c_str());
}

// "@ENUM:ENUMERATOR"'s value on the kernel of `btf`; none when its enum
// lacks it (a counter that kernel does not have).
std::optional<int64_t> enumValue(const struct btf* btf, const std::string& spelled) {
  size_t colon = spelled.find(':');
  if (spelled.size() < 4 || spelled[0] != '@' || colon == std::string::npos) return std::nullopt;
  std::string en = spelled.substr(1, colon - 1), name = spelled.substr(colon + 1);
  for (int kind : {static_cast<int>(BTF_KIND_ENUM), static_cast<int>(BTF_KIND_ENUM64)}) {
    int id = btf__find_by_name_kind(btf, en.c_str(), kind);
    if (id < 0) continue;
    const struct btf_type* t = btf__type_by_id(btf, static_cast<uint32_t>(id));
    for (uint16_t i = 0; i < btf_vlen(t); ++i) {
      if (kind == BTF_KIND_ENUM) {
        const struct btf_enum* e = btf_enum(t) + i;
        if (name == btf__name_by_offset(btf, e->name_off)) return e->val;
      } else {
        const struct btf_enum64* e = btf_enum64(t) + i;
        if (name == btf__name_by_offset(btf, e->name_off)) return static_cast<int64_t>(btf_enum64_value(e));
      }
    }
  }
  return std::nullopt;
}

// The number of elements of array member `member` of struct `name`.
std::optional<uint32_t> arrayLength(const struct btf* btf, const std::string& name, const std::string& member) {
  int id = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_STRUCT);
  if (id < 0) return std::nullopt;
  const struct btf_type* t = btf__type_by_id(btf, static_cast<uint32_t>(id));
  const struct btf_member* m = btf_members(t);
  for (uint16_t i = 0; i < btf_vlen(t); ++i, ++m) {
    if (member != btf__name_by_offset(btf, m->name_off)) continue;
    int type = btf__resolve_type(btf, m->type);
    if (type < 0) return std::nullopt;
    const struct btf_type* a = btf__type_by_id(btf, static_cast<uint32_t>(type));
    if (!btf_is_array(a)) return std::nullopt;
    return btf_array(a)->nelems;
  }
  return std::nullopt;
}

std::string bare(const std::string& spelled) {  // "@node_stat_item:NR_ANON_MAPPED" -> "NR_ANON_MAPPED"
  size_t colon = spelled.find(':');
  return colon == std::string::npos ? spelled : spelled.substr(colon + 1);
}

}  // namespace

llvm::Expected<std::vector<uint32_t>> resolveSlots(const std::vector<StatSlot>& slots, const struct btf* btf) {
  std::vector<uint32_t> out;
  for (const StatSlot& s : slots) {
    std::string fields;
    for (const auto& f : s.fields) fields += (fields.empty() ? "`" : ", `") + f + "`";
    if (fields.empty()) fields = "a field";
    auto cannot = [&](const std::string& why) {
      return fail(fmt::format("{} cannot be read on this kernel: {}", fields, why));
    };
    std::string array = s.structName + "." + s.member;
    auto length = arrayLength(btf, s.structName, s.member);
    if (!length) return cannot(fmt::format("its BTF has no array {}", array));
    auto direct = enumValue(btf, s.directLength);
    if (!direct) return cannot(fmt::format("its BTF has no {}", bare(s.directLength)));
    if (static_cast<int64_t>(*length) == *direct) {
      // Indexed by the item itself (up to Linux 6.10).
      auto v = enumValue(btf, s.item);
      if (!v) return cannot(fmt::format("it has no counter {}", bare(s.item)));
      if (*v < 0 || *v >= *direct) return cannot(fmt::format("{} ({}) lies outside {} ({} slots)", bare(s.item), *v, array, *length));
      out.push_back(static_cast<uint32_t>(*v));
      continue;
    }
    // Compacted (Linux 6.11 on): the tracked items this kernel has, in order.
    std::vector<std::string> present;
    for (const auto& t : s.tracked)
      if (enumValue(btf, t)) present.push_back(t);
    if (present.size() != *length)
      return cannot(fmt::format("{} has {} slots here, indexed through a table only the kernel holds, and of the "
                                "items mmp knows it to hold this kernel has {}: a layout mmp does not know (a "
                                "newer kernel? the bindings' slot table needs its order)",
                                array, *length, present.size()));
    auto at = std::find(present.begin(), present.end(), s.item);
    if (at == present.end()) return cannot(fmt::format("it has no counter {}", bare(s.item)));
    out.push_back(static_cast<uint32_t>(at - present.begin()));
  }
  return out;
}

llvm::Error setSlots(struct bpf_object* obj, const std::vector<StatSlot>& slots) {
  if (slots.empty()) return llvm::Error::success();
  struct btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return fail("the kernel's BTF (/sys/kernel/btf/vmlinux) cannot be read, and the policy's memory.stat "
                            "fields need it to find their counters");
  auto resolved = resolveSlots(slots, vmlinux);
  btf__free(vmlinux);
  if (!resolved) return resolved.takeError();
  if (int err = mmp_set_rodata(obj, MMP_VAR_SLOTS, resolved->data(), resolved->size() * sizeof(uint32_t)))
    return fail(fmt::format("the object has no {} for its {} slot(s) ({}): compile it again", MMP_VAR_SLOTS,
                            slots.size(), std::strerror(-err)));
  return llvm::Error::success();
}

}  // namespace mmp::runtime

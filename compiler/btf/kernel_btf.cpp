#include "btf/kernel_btf.h"

#include <bpf/btf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace mmp {

namespace {

llvm::Error fail(const std::string& what) {
  return llvm::createStringError(std::errc::invalid_argument, "%s", what.c_str());
}

bool isDecimal(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

KernelBtf::~KernelBtf() { btf__free(btf_); }

llvm::Expected<std::unique_ptr<KernelBtf>> KernelBtf::load(const std::string& path) {
  std::string p = path.empty() ? "/sys/kernel/btf/vmlinux" : path;
  struct btf* b = btf__parse(p.c_str(), nullptr);
  if (!b) return fail(fmt::format("cannot read kernel BTF from {}: {}", p, std::strerror(errno)));
  return std::unique_ptr<KernelBtf>(new KernelBtf(b, p));
}

std::optional<uint32_t> KernelBtf::findStruct(const std::string& name) const {
  int id = btf__find_by_name_kind(btf_, name.c_str(), BTF_KIND_STRUCT);
  if (id < 0) id = btf__find_by_name_kind(btf_, name.c_str(), BTF_KIND_UNION);
  if (id < 0) return std::nullopt;
  return static_cast<uint32_t>(id);
}

uint32_t KernelBtf::resolve(uint32_t id) const {
  for (int guard = 0; guard < 32; ++guard) {
    const struct btf_type* t = btf__type_by_id(btf_, id);
    if (!t) return id;
    if (!btf_is_typedef(t) && !btf_is_mod(t)) return id;
    id = t->type;
  }
  return id;
}

bool KernelBtf::isPointer(uint32_t id) const { return btf_is_ptr(btf__type_by_id(btf_, resolve(id))); }
bool KernelBtf::isComposite(uint32_t id) const { return btf_is_composite(btf__type_by_id(btf_, resolve(id))); }
bool KernelBtf::isInteger(uint32_t id) const {
  const struct btf_type* t = btf__type_by_id(btf_, resolve(id));
  return btf_is_int(t) || btf_is_enum(t) || btf_is_enum64(t);
}
uint32_t KernelBtf::pointee(uint32_t id) const { return resolve(btf__type_by_id(btf_, resolve(id))->type); }
uint32_t KernelBtf::size(uint32_t id) const {
  long s = btf__resolve_size(btf_, id);
  return s < 0 ? 0 : static_cast<uint32_t>(s);
}
std::string KernelBtf::name(uint32_t id) const {
  const struct btf_type* t = btf__type_by_id(btf_, id);
  const char* n = t ? btf__name_by_offset(btf_, t->name_off) : nullptr;
  return n ? n : "";
}

// Finds member `name` of composite `id`, looking inside anonymous struct
// and union members too (`union { struct page_counter swap; ... }`): the
// steps lead from `id` to the member.
bool KernelBtf::findMember(uint32_t id, const std::string& wanted, std::vector<BtfStep>& out) const {
  const struct btf_type* t = btf__type_by_id(btf_, id);
  const struct btf_member* m = btf_members(t);
  for (uint32_t i = 0; i < btf_vlen(t); ++i) {
    const char* n = btf__name_by_offset(btf_, m[i].name_off);
    uint32_t bits = btf_member_bit_offset(t, i);
    bool bitfield = btf_member_bitfield_size(t, i) || bits % 8;
    uint32_t type = resolve(m[i].type);
    if (wanted == n) {
      out.push_back({BtfStep::Member, id, i, wanted, bitfield ? UINT32_MAX : bits / 8, type});
      return true;
    }
    if (n && *n == '\0' && isComposite(type)) {
      out.push_back({BtfStep::Member, id, i, "", bits / 8, type});
      if (findMember(type, wanted, out)) return true;
      out.pop_back();
    }
  }
  return false;
}

bool KernelBtf::isUnion(uint32_t id) const { return btf_is_union(btf__type_by_id(btf_, resolve(id))); }

llvm::Expected<std::vector<BtfStep>> KernelBtf::resolvePath(const std::string& root,
                                                             const std::vector<std::string>& path) const {
  auto rootId = findStruct(root);
  if (!rootId) return fail(fmt::format("the kernel has no `struct {}`", root));
  std::vector<BtfStep> steps;
  uint32_t cur = *rootId;
  std::string where = root;
  for (const auto& elem : path) {
    if (isPointer(cur)) {
      cur = pointee(cur);
      steps.push_back({BtfStep::Deref, 0, 0, "", 0, cur});
    }
    const struct btf_type* t = btf__type_by_id(btf_, cur);
    if (isDecimal(elem)) {
      if (!btf_is_array(t)) return fail(fmt::format("`{}` is not an array", where));
      const struct btf_array* a = btf_array(t);
      uint32_t index = static_cast<uint32_t>(std::stoul(elem));
      if (index >= a->nelems) return fail(fmt::format("`{}[{}]` is out of bounds ({} elements)", where, index, a->nelems));
      uint32_t elemType = resolve(a->type);
      steps.push_back({BtfStep::Index, cur, index, "", index * size(elemType), elemType});
      cur = elemType;
      where += "[" + elem + "]";
      continue;
    }
    if (!btf_is_composite(t)) return fail(fmt::format("`{}` is not a struct", where));
    std::vector<BtfStep> found;
    if (!findMember(cur, elem, found)) return fail(fmt::format("`struct {}` has no member `{}`", name(cur), elem));
    for (const auto& step : found) {
      if (step.byteOffset == UINT32_MAX) return fail(fmt::format("`{}.{}` is a bit field", where, elem));
      steps.push_back(step);
    }
    cur = found.back().resultType;
    where += "." + elem;
  }
  return steps;
}

std::optional<int64_t> KernelBtf::enumValue(const std::string& enumName, const std::string& enumerator) const {
  for (int kind : {static_cast<int>(BTF_KIND_ENUM), static_cast<int>(BTF_KIND_ENUM64)}) {
    int id = btf__find_by_name_kind(btf_, enumName.c_str(), kind);
    if (id < 0) continue;
    const struct btf_type* t = btf__type_by_id(btf_, id);
    for (uint32_t i = 0; i < btf_vlen(t); ++i) {
      if (btf_is_enum(t)) {
        const struct btf_enum* e = btf_enum(t) + i;
        if (enumerator == btf__name_by_offset(btf_, e->name_off)) return e->val;
      } else {
        const struct btf_enum64* e = btf_enum64(t) + i;
        if (enumerator == btf__name_by_offset(btf_, e->name_off)) return btf_enum64_value(e);
      }
    }
  }
  return std::nullopt;
}

std::optional<std::vector<uint32_t>> KernelBtf::tracepointArgs(const std::string& tp) const {
  int id = btf__find_by_name_kind(btf_, ("btf_trace_" + tp).c_str(), BTF_KIND_TYPEDEF);
  if (id < 0) return std::nullopt;
  uint32_t ptr = resolve(static_cast<uint32_t>(id));
  const struct btf_type* fn = btf__type_by_id(btf_, btf__type_by_id(btf_, ptr)->type);
  if (!btf_is_func_proto(fn)) return std::nullopt;
  std::vector<uint32_t> args;
  const struct btf_param* p = btf_params(fn);
  for (uint32_t i = 1; i < btf_vlen(fn); ++i) args.push_back(p[i].type);  // [0] is the void* ctx
  return args;
}

}  // namespace mmp

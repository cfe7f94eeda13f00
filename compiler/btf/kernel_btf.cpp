#include "btf/kernel_btf.h"

#include <bpf/btf.h>
#include <fmt/format.h>
#include <llvm/Object/ObjectFile.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace mmp {

namespace {

llvm::Error fail(const std::string& what) {
  return llvm::createStringError(std::errc::invalid_argument, "%s", what.c_str());
}

bool isDecimal(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// The BTF in an ELF file (a vmlinux): its .BTF section.
llvm::Expected<llvm::StringRef> btfSection(llvm::MemoryBufferRef file) {
  auto obj = llvm::object::ObjectFile::createObjectFile(file);
  if (!obj) return obj.takeError();
  for (const auto& section : (*obj)->sections()) {
    auto name = section.getName();
    if (name && *name == ".BTF") return section.getContents();
  }
  return fail("it has no .BTF section");
}

// The size of a type record: the common header and its kind's data.
uint64_t recordSize(const struct btf_type* t) {
  uint64_t n = sizeof(struct btf_type), vlen = btf_vlen(t);
  switch (btf_kind(t)) {
    case BTF_KIND_INT: return n + sizeof(uint32_t);
    case BTF_KIND_ARRAY: return n + sizeof(struct btf_array);
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: return n + vlen * sizeof(struct btf_member);
    case BTF_KIND_ENUM: return n + vlen * sizeof(struct btf_enum);
    case BTF_KIND_ENUM64: return n + vlen * sizeof(struct btf_enum64);
    case BTF_KIND_FUNC_PROTO: return n + vlen * sizeof(struct btf_param);
    case BTF_KIND_VAR: return n + sizeof(struct btf_var);
    case BTF_KIND_DATASEC: return n + vlen * sizeof(struct btf_var_secinfo);
    case BTF_KIND_DECL_TAG: return n + sizeof(struct btf_decl_tag);
    case BTF_KIND_PTR:
    case BTF_KIND_FWD:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_FUNC:
    case BTF_KIND_FLOAT:
    case BTF_KIND_TYPE_TAG: return n;
    default: return 0;  // a kind this reader does not know: its size is unknown
  }
}

constexpr struct btf_type kVoid = {};

}  // namespace

llvm::Expected<std::unique_ptr<KernelBtf>> KernelBtf::load(const std::string& path) {
  std::string p = path.empty() ? "/sys/kernel/btf/vmlinux" : path;
  // Not volatile, no terminator: LLVM maps the file when it can.
  auto file = llvm::MemoryBuffer::getFile(p, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!file) return fail(fmt::format("cannot read kernel BTF from {}: {}", p, file.getError().message()));
  std::unique_ptr<KernelBtf> btf(new KernelBtf());
  btf->file_ = std::move(*file);
  btf->path_ = p;
  llvm::StringRef data = btf->file_->getBuffer();
  if (data.starts_with("\x7f" "ELF")) {
    auto section = btfSection(btf->file_->getMemBufferRef());
    if (!section) return fail(fmt::format("cannot read kernel BTF from {}: {}", p, llvm::toString(section.takeError())));
    data = *section;
  }
  if (reinterpret_cast<uintptr_t>(data.data()) % 8) {  // an ELF section need not be aligned
    btf->copy_.resize((data.size() + 7) / 8);
    std::memcpy(btf->copy_.data(), data.data(), data.size());
    data = llvm::StringRef(reinterpret_cast<const char*>(btf->copy_.data()), data.size());
  }
  if (auto err = btf->init(data))
    return fail(fmt::format("cannot read kernel BTF from {}: {}", p, llvm::toString(std::move(err))));
  return btf;
}

// Checks the header and that both sections lie inside the data.
llvm::Error KernelBtf::init(llvm::StringRef data) {
  struct btf_header h;
  if (data.size() < sizeof h) return fail("not BTF (too short)");
  std::memcpy(&h, data.data(), sizeof h);
  if (h.magic == 0x9FEB) return fail("BTF of a big-endian machine");
  if (h.magic != BTF_MAGIC || h.version != BTF_VERSION) return fail("not BTF (bad magic or version)");
  uint64_t base = h.hdr_len;
  if (h.hdr_len < sizeof h || base + h.type_off + h.type_len > data.size() ||
      base + h.str_off + h.str_len > data.size() || (base + h.type_off) % 4 || h.str_len == 0 ||
      data[base + h.str_off + h.str_len - 1] != '\0')
    return fail("malformed BTF header");
  types_ = data.data() + base + h.type_off;
  typesLen_ = h.type_len;
  strings_ = data.data() + base + h.str_off;
  stringsLen_ = h.str_len;
  offsets_.reserve(1 << 15);
  offsets_.push_back(0);  // id 0, void: never read through offsets_
  return llvm::Error::success();
}

bool KernelBtf::indexNext() const {
  if (typesLen_ - scanned_ < sizeof(struct btf_type)) return false;
  auto* t = reinterpret_cast<const struct btf_type*>(types_ + scanned_);
  uint64_t n = recordSize(t);
  // A truncated record, or one of an unknown kind, ends the types.
  if (n == 0 || n > typesLen_ - scanned_) return false;
  offsets_.push_back(scanned_);
  scanned_ += n;
  return true;
}

const struct btf_type* KernelBtf::type(uint32_t id) const {
  if (id == 0) return &kVoid;
  if (id >= kAddedIds)
    return id - kAddedIds < added_.size() && !added_[id - kAddedIds].empty()
               ? reinterpret_cast<const struct btf_type*>(added_[id - kAddedIds].data())
               : &kVoid;
  while (offsets_.size() <= id)
    if (!indexNext()) return &kVoid;
  return reinterpret_cast<const struct btf_type*>(types_ + offsets_[id]);
}

const char* KernelBtf::str(uint32_t offset) const {
  if (offset >= kAddedStrings)
    return offset - kAddedStrings < addedStrings_.size() ? addedStrings_.c_str() + (offset - kAddedStrings) : "";
  return offset < stringsLen_ ? strings_ + offset : "";
}

uint32_t KernelBtf::addString(const std::string& s) {
  uint32_t at = kAddedStrings + static_cast<uint32_t>(addedStrings_.size());
  addedStrings_ += s;
  addedStrings_ += '\0';
  return at;
}

llvm::Error KernelBtf::addStructs(const std::vector<StructDecl>& decls) {
  // Ids first: members may name structs declared after them. A struct is
  // laid out once the structs it holds are.
  uint32_t first = kAddedIds + static_cast<uint32_t>(added_.size());
  added_.resize(added_.size() + decls.size());
  auto typeNamed = [&](const std::string& name) -> std::optional<uint32_t> {
    for (size_t i = 0; i < decls.size(); ++i)
      if (decls[i].name == name) return first + static_cast<uint32_t>(i);
    for (unsigned kind : {BTF_KIND_TYPEDEF, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_INT})
      if (auto id = findByName(name, kind)) return id;
    return std::nullopt;
  };
  auto laidOut = [&](uint32_t id) { return id < kAddedIds || !added_[id - kAddedIds].empty(); };
  std::vector<bool> done(decls.size(), false);
  for (size_t pass = 0; pass < decls.size(); ++pass) {
    for (size_t i = 0; i < decls.size(); ++i) {
      if (done[i]) continue;
      const StructDecl& d = decls[i];
      std::vector<uint32_t> words;
      uint32_t at = 0, align = 1;
      bool waiting = false;
      for (const auto& [member, spec] : d.members) {
        std::string base = spec;
        uint32_t count = 0;
        if (size_t open = spec.find('['); open != std::string::npos) {
          if (spec.back() != ']' || !isDecimal(spec.substr(open + 1, spec.size() - open - 2)))
            return fail(fmt::format("`struct {}`: `{}` is not NAME or NAME[N]", d.name, spec));
          base = spec.substr(0, open);
          count = static_cast<uint32_t>(std::stoul(spec.substr(open + 1)));
        }
        // A type this kernel's BTF lacks, or one of no size: the struct is
        // not added, and a path through it does not resolve (E0401 for the
        // field that needs it, and only if no other way reads it).
        auto t = typeNamed(base);
        if (!t || !laidOut(*t) || size(*t) == 0) {
          waiting = true;
          break;
        }
        uint32_t type = *t, elemSize = size(*t);
        if (count) {
          // An array: a record of its own.
          uint32_t index = findByName("int", BTF_KIND_INT).value_or(0);
          added_.push_back({0, static_cast<uint32_t>(BTF_KIND_ARRAY) << 24, 0, type, index, count});
          type = kAddedIds + static_cast<uint32_t>(added_.size() - 1);
        }
        uint32_t a = std::min<uint32_t>(8, elemSize);
        at = (at + a - 1) / a * a;
        align = std::max(align, a);
        words.insert(words.end(), {addString(member), type, at * 8});
        at += count ? count * elemSize : elemSize;
      }
      if (waiting) continue;
      at = (at + align - 1) / align * align;
      std::vector<uint32_t> record{addString(d.name),
                                   (static_cast<uint32_t>(BTF_KIND_STRUCT) << 24) |
                                       static_cast<uint32_t>(d.members.size()),
                                   at};
      record.insert(record.end(), words.begin(), words.end());
      added_[first - kAddedIds + i] = std::move(record);
      done[i] = true;
    }
  }
  return llvm::Error::success();
}

std::optional<uint32_t> KernelBtf::findByName(const std::string& name, unsigned kind) const {
  if (name.empty()) return std::nullopt;
  for (uint32_t id = 1;; ++id) {
    const struct btf_type* t = type(id);
    if (t == &kVoid) return std::nullopt;
    if (btf_kind(t) != kind) continue;
    const char* n = str(t->name_off);
    if (n[0] == name[0] && name == n) return id;
  }
}

std::optional<uint32_t> KernelBtf::findStruct(const std::string& name) const {
  for (uint32_t id = kAddedIds; id < kAddedIds + added_.size(); ++id)
    if (btf_is_struct(type(id)) && name == str(type(id)->name_off)) return id;
  if (auto id = findByName(name, BTF_KIND_STRUCT)) return id;
  return findByName(name, BTF_KIND_UNION);
}

uint32_t KernelBtf::resolve(uint32_t id) const {
  for (int guard = 0; guard < 32; ++guard) {
    const struct btf_type* t = type(id);
    if (!btf_is_typedef(t) && !btf_is_mod(t)) return id;
    id = t->type;
  }
  return id;
}

bool KernelBtf::isPointer(uint32_t id) const { return btf_is_ptr(type(resolve(id))); }
bool KernelBtf::isComposite(uint32_t id) const { return btf_is_composite(type(resolve(id))); }
bool KernelBtf::isInteger(uint32_t id) const {
  const struct btf_type* t = type(resolve(id));
  return btf_is_int(t) || btf_is_enum(t) || btf_is_enum64(t);
}
uint32_t KernelBtf::pointee(uint32_t id) const { return resolve(type(resolve(id))->type); }
// Bytes of a type (0 when it has no size); pointers are 8 (BPF is 64-bit).
uint32_t KernelBtf::size(uint32_t id) const {
  uint64_t count = 1;
  for (int guard = 0; guard < 32; ++guard) {
    const struct btf_type* t = type(resolve(id));
    if (btf_is_ptr(t)) return static_cast<uint32_t>(std::min<uint64_t>(count * 8, UINT32_MAX));
    if (btf_is_array(t)) {
      count *= btf_array(t)->nelems;
      id = btf_array(t)->type;
      continue;
    }
    if (btf_is_int(t) || btf_is_composite(t) || btf_is_any_enum(t) || btf_is_float(t) || btf_is_datasec(t))
      return static_cast<uint32_t>(std::min<uint64_t>(count * t->size, UINT32_MAX));
    return 0;
  }
  return 0;
}
std::string KernelBtf::name(uint32_t id) const { return str(type(id)->name_off); }

// Finds member `name` of composite `id`, looking inside anonymous struct
// and union members too (`union { struct page_counter swap; ... }`): the
// steps lead from `id` to the member.
bool KernelBtf::findMember(uint32_t id, const std::string& wanted, std::vector<BtfStep>& out) const {
  const struct btf_type* t = type(id);
  const struct btf_member* m = btf_members(t);
  for (uint32_t i = 0; i < btf_vlen(t); ++i) {
    const char* n = str(m[i].name_off);
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

bool KernelBtf::isUnion(uint32_t id) const { return btf_is_union(type(resolve(id))); }

llvm::Expected<std::vector<BtfStep>> KernelBtf::resolvePath(const std::string& root,
                                                             const std::vector<std::string>& path) const {
  auto rootId = findStruct(root);
  if (!rootId) return fail(fmt::format("the kernel has no `struct {}`", root));
  std::vector<BtfStep> steps;
  uint32_t cur = *rootId;
  std::string where = root;
  for (const auto& elem : path) {
    if (elem.size() > 2 && elem.front() == '(' && elem.back() == ')') {
      // A cast: the pointer reached, read as a pointer to another struct.
      auto to = findStruct(elem.substr(1, elem.size() - 2));
      if (!to) return fail(fmt::format("no `struct {}` to read `{}` as", elem.substr(1, elem.size() - 2), where));
      if (!isPointer(cur)) return fail(fmt::format("`{}` is not a pointer, to read as `struct {}`", where, name(*to)));
      cur = *to;
      steps.push_back({BtfStep::Deref, 0, 0, "", 0, cur});
      where = "(" + where + " as " + name(cur) + ")";
      continue;
    }
    if (isPointer(cur)) {
      cur = pointee(cur);
      steps.push_back({BtfStep::Deref, 0, 0, "", 0, cur});
    }
    const struct btf_type* t = type(cur);
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
    auto id = findByName(enumName, kind);
    if (!id) continue;
    const struct btf_type* t = type(*id);
    for (uint32_t i = 0; i < btf_vlen(t); ++i) {
      if (btf_is_enum(t)) {
        const struct btf_enum* e = btf_enum(t) + i;
        if (enumerator == str(e->name_off)) return e->val;
      } else {
        const struct btf_enum64* e = btf_enum64(t) + i;
        if (enumerator == str(e->name_off)) return btf_enum64_value(e);
      }
    }
  }
  return std::nullopt;
}

std::optional<std::vector<uint32_t>> KernelBtf::tracepointArgs(const std::string& tp) const {
  auto id = findByName("btf_trace_" + tp, BTF_KIND_TYPEDEF);
  if (!id) return std::nullopt;
  uint32_t ptr = resolve(*id);
  const struct btf_type* fn = type(type(ptr)->type);
  if (!btf_is_func_proto(fn)) return std::nullopt;
  std::vector<uint32_t> args;
  const struct btf_param* p = btf_params(fn);
  for (uint32_t i = 1; i < btf_vlen(fn); ++i) args.push_back(p[i].type);  // [0] is the void* ctx
  return args;
}

}  // namespace mmp

#include "codegen/kernel_types.h"

#include <bpf/btf.h>
#include <fmt/format.h>
#include <llvm/IR/IntrinsicsBPF.h>

namespace mmp::codegen {

namespace {

llvm::Error fail(const std::string& what) {
  return llvm::createStringError(std::errc::invalid_argument, "%s", what.c_str());
}

}  // namespace

llvm::Expected<AccessPath> KernelTypes::resolve(const std::string& root, const std::vector<PathElement>& path) {
  AccessPath out;
  out.root = root;
  std::vector<std::string> plain;
  std::map<size_t, std::vector<IndexTerm>> byElement;
  // A decimal or `@ENUM:ENUMERATOR`, as a term of an index.
  auto term = [&](const std::string& e) -> llvm::Expected<IndexTerm> {
    if (!e.empty() && e.find_first_not_of("0123456789") == std::string::npos && e.size() < 10)
      return IndexTerm{"", "", std::stoll(e), 1};
    if (e.empty() || e[0] != '@') return fail(fmt::format("`{}` is not an index (a number or `@ENUM:ENUMERATOR`)", e));
    size_t colon = e.find(':');
    if (colon == std::string::npos) return fail(fmt::format("`{}` is not `@ENUM:ENUMERATOR`", e));
    std::string en = e.substr(1, colon - 1), name = e.substr(colon + 1);
    auto v = btf_.enumValue(en, name);
    if (!v) return fail(fmt::format("the kernel has no enumerator `{}` in `enum {}`", name, en));
    return IndexTerm{en, name, *v, 1};
  };
  for (const auto& e : path) {
    if (!e.index.empty()) {
      // A two-dimensional index: check it against the array the path has
      // reached, nested or flattened in BTF.
      if (e.index.size() != 2) return fail("a multi-dimensional index has two elements: [ROW, COLUMN]");
      auto row = term(e.index[0]);
      if (!row) return row.takeError();
      auto column = term(e.index[1]);
      if (!column) return column.takeError();
      auto rows = term(e.rows);
      if (!rows) return rows.takeError();
      auto prefix = btf_.resolvePath(root, plain);
      if (!prefix) return prefix.takeError();
      uint32_t at = btf_.resolve(prefix->empty() ? *btf_.findStruct(root) : prefix->back().resultType);
      const struct btf_type* t = btf_.type(at);
      std::string where = plain.empty() ? root : plain.back();
      if (!btf_is_array(t)) return fail(fmt::format("`{}` is not an array", where));
      uint32_t n = btf_array(t)->nelems;
      if (rows->value <= 0 || row->value < 0 || column->value < 0 || row->value >= rows->value)
        return fail(fmt::format("`{}`: row {} of {} is out of bounds", where, row->value, rows->value));
      if (btf_is_array(btf_.type(btf_.resolve(btf_array(t)->type)))) {
        // Nested in BTF: one index per dimension.
        if (static_cast<int64_t>(n) != rows->value)
          return fail(fmt::format("`{}` has {} rows, not {}", where, n, rows->value));
        byElement[plain.size()] = {*row};
        plain.push_back(std::to_string(row->value));
        byElement[plain.size()] = {*column};
        plain.push_back(std::to_string(column->value));
        continue;
      }
      // Flattened: ROWS rows of n / ROWS elements.
      if (n % rows->value != 0)
        return fail(fmt::format("`{}` has {} elements: not {} rows of equal length", where, n, rows->value));
      uint64_t width = n / rows->value;
      if (static_cast<uint64_t>(column->value) >= width)
        return fail(fmt::format("`{}`: column {} is out of bounds (rows of {})", where, column->value, width));
      row->scale = width;
      byElement[plain.size()] = {*row, *column};
      plain.push_back(std::to_string(row->value * static_cast<int64_t>(width) + column->value));
      continue;
    }
    if (e.slot >= 0) {
      // The running kernel's slot: any index resolves the array here.
      auto prefix = btf_.resolvePath(root, plain);
      if (!prefix) return prefix.takeError();
      uint32_t at = btf_.resolve(prefix->empty() ? *btf_.findStruct(root) : prefix->back().resultType);
      if (!btf_is_array(btf_.type(at)))
        return fail(fmt::format("`{}` is not an array, so it has no slots", plain.empty() ? root : plain.back()));
      IndexTerm t;
      t.slot = e.slot;
      byElement[plain.size()] = {t};
      plain.push_back("0");
      continue;
    }
    if (e.name.empty() || e.name[0] != '@') {
      plain.push_back(e.name);
      continue;
    }
    auto t = term(e.name);
    if (!t) return t.takeError();
    byElement[plain.size()] = {*t};
    plain.push_back(std::to_string(t->value));
  }
  auto steps = btf_.resolvePath(root, plain);
  if (!steps) return steps.takeError();
  out.steps = std::move(*steps);
  useStruct(*btf_.findStruct(root));
  size_t element = 0;
  for (size_t i = 0; i < out.steps.size(); ++i) {
    const BtfStep& s = out.steps[i];
    if (s.kind == BtfStep::Deref) {
      if (btf_.isComposite(s.resultType)) useStruct(s.resultType);
      continue;
    }
    if (s.kind == BtfStep::Member) {
      structs_[s.ownerType].members.insert(s.memberIndex);
      if (btf_.isComposite(s.resultType)) useStruct(s.resultType);
    }
    if (auto it = byElement.find(element); it != byElement.end()) out.enumIndex[i] = it->second;
    ++element;
  }
  out.resultType = out.steps.empty() ? *btf_.findStruct(root) : out.steps.back().resultType;
  return out;
}

void KernelTypes::useStruct(uint32_t id) { structs_[btf_.resolve(id)]; }

llvm::Type* KernelTypes::llvmType(uint32_t id) {
  id = btf_.resolve(id);
  auto& ctx = m_.getContext();
  const struct btf_type* t = btf_.type(id);
  if (btf_is_ptr(t)) return llvm::PointerType::get(ctx, 0);
  if (btf_is_array(t)) {
    const struct btf_array* a = btf_array(t);
    return llvm::ArrayType::get(llvmType(a->type), a->nelems);
  }
  if (btf_is_composite(t) && structs_.count(id) && structs_[id].llvm) return structs_[id].llvm;
  uint32_t size = btf_.size(id);
  if (btf_is_int(t) || btf_is_enum(t) || btf_is_enum64(t)) return llvm::IntegerType::get(ctx, size * 8);
  return llvm::ArrayType::get(llvm::Type::getInt8Ty(ctx), size);
}

llvm::DIType* KernelTypes::diType(uint32_t id) {
  id = btf_.resolve(id);
  if (auto it = diCache_.find(id); it != diCache_.end()) return it->second;
  const struct btf_type* t = btf_.type(id);
  llvm::DIType* d;
  if (btf_is_ptr(t)) {
    uint32_t target = btf_.resolve(t->type);
    const struct btf_type* tt = btf_.type(target);
    if (structs_.count(target) && structs_[target].di) d = di_.pointerTo(structs_[target].di);
    else if (btf_is_composite(tt) && !btf_.name(target).empty()) d = di_.pointerTo(di_.forwardStruct(btf_.name(target)));
    else d = di_.pointerTo(di_.intType(8, false));
  } else if (btf_is_array(t)) {
    const struct btf_array* a = btf_array(t);
    d = di_.arrayOf(diType(a->type), a->nelems, btf_.size(a->type));
  } else if (btf_is_composite(t) && structs_.count(id)) {
    d = structs_[id].di;
  } else if (btf_is_composite(t)) {
    // A struct only passed through (an array element read whole): its name
    // and size, no members, so CO-RE still sees a struct where the kernel
    // has one.
    d = di_.declareStruct(btf_.name(id), btf_.size(id), btf_is_union(t), uniqueName(id));
  } else if (btf_is_int(t)) {
    d = di_.intType(btf_.size(id) * 8, btf_int_encoding(t) & BTF_INT_SIGNED);
  } else {
    d = di_.intType(btf_.size(id) * 8, false);
  }
  diCache_[id] = d;
  return d;
}

// An anonymous struct's identity: its BTF id (a named one has its name).
std::string KernelTypes::uniqueName(uint32_t id) const {
  return btf_.name(id).empty() ? "mmp.btf." + std::to_string(id) : "";
}

void KernelTypes::finalize() {
  // Declare every struct first: members may point at each other.
  for (auto& [id, s] : structs_) {
    s.llvm = llvm::StructType::create(m_.getContext(), (btf_.isUnion(id) ? "union." : "struct.") + btf_.name(id));
    s.di = di_.declareStruct(btf_.name(id), btf_.size(id), btf_.isUnion(id), uniqueName(id));
  }
  for (auto& [id, s] : structs_) buildBody(id, s);
}

void KernelTypes::buildBody(uint32_t id, Local& s) {
  const struct btf_type* t = btf_.type(id);
  if (btf_is_union(t)) {
    buildUnionBody(id, s);
    return;
  }
  const struct btf_member* m = btf_members(t);
  auto& ctx = m_.getContext();
  std::vector<uint32_t> order(s.members.begin(), s.members.end());
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return btf_member_bit_offset(t, a) < btf_member_bit_offset(t, b); });
  std::vector<llvm::Type*> fields;
  std::vector<DIMember> members;
  uint64_t at = 0;
  for (uint32_t i : order) {
    uint64_t offset = btf_member_bit_offset(t, i) / 8;
    if (offset > at) fields.push_back(llvm::ArrayType::get(llvm::Type::getInt8Ty(ctx), offset - at));
    s.index[i] = {static_cast<unsigned>(fields.size()), static_cast<unsigned>(members.size())};
    fields.push_back(llvmType(m[i].type));
    uint64_t size = btf_.size(m[i].type);
    members.push_back({btf_.str(m[i].name_off), diType(m[i].type), offset, size});
    at = offset + size;
  }
  uint64_t total = btf_.size(id);
  if (total > at) fields.push_back(llvm::ArrayType::get(llvm::Type::getInt8Ty(ctx), total - at));
  s.llvm->setBody(fields);
  di_.setMembers(s.di, members);
}

void KernelTypes::buildUnionBody(uint32_t id, Local& s) {
  const struct btf_type* t = btf_.type(id);
  const struct btf_member* m = btf_members(t);
  std::vector<DIMember> members;
  for (uint32_t i : s.members) {
    s.index[i] = {0, static_cast<unsigned>(members.size())};
    members.push_back({btf_.str(m[i].name_off), diType(m[i].type), 0, btf_.size(m[i].type)});
  }
  s.llvm->setBody({llvm::ArrayType::get(llvm::Type::getInt8Ty(m_.getContext()), btf_.size(id))});
  di_.setMembers(s.di, members);
}

llvm::DICompositeType* KernelTypes::diEnum(const std::string& name, const std::string& enumerator, int64_t value) {
  std::string key = name + ":" + enumerator;
  auto& e = enums_[key];
  if (!e) e = di_.enumType(name, enumerator, value);
  return e;
}

llvm::Value* KernelTypes::memberAddress(llvm::IRBuilder<>& b, llvm::Value* base, uint32_t id, uint32_t memberIndex) {
  Local& s = structs_.at(id);
  auto [gep, diIndex] = s.index.at(memberIndex);
  auto* ptrTy = llvm::PointerType::get(m_.getContext(), 0);
  if (btf_.isUnion(id)) {
    // Every member of a union starts at its beginning: the relocation
    // records which one is meant.
    llvm::Function* fn = llvm::Intrinsic::getDeclaration(&m_, llvm::Intrinsic::preserve_union_access_index, {ptrTy, ptrTy});
    auto* call = b.CreateCall(fn, {base, b.getInt32(diIndex)});
    call->setMetadata(llvm::LLVMContext::MD_preserve_access_index, s.di);
    return call;
  }
  llvm::Function* fn =
      llvm::Intrinsic::getDeclaration(&m_, llvm::Intrinsic::preserve_struct_access_index, {ptrTy, ptrTy});
  auto* call = b.CreateCall(fn, {base, b.getInt32(gep), b.getInt32(diIndex)});
  call->addParamAttr(0, llvm::Attribute::get(m_.getContext(), llvm::Attribute::ElementType, s.llvm));
  call->setMetadata(llvm::LLVMContext::MD_preserve_access_index, s.di);
  return call;
}

// One load of `ty` at `at`: through `load` when given, else direct.
llvm::Value* KernelTypes::loadAt(llvm::IRBuilder<>& b, const Loader& load, llvm::Type* ty, llvm::Value* at,
                                 unsigned align) {
  return load ? load(at, ty) : b.CreateAlignedLoad(ty, at, llvm::Align(align));
}

llvm::Value* KernelTypes::emitAddress(llvm::IRBuilder<>& b, llvm::Value* base, const AccessPath& path,
                                      llvm::BasicBlock* onNull, const Loader& load) {
  auto& ctx = m_.getContext();
  auto* ptrTy = llvm::PointerType::get(ctx, 0);
  llvm::Value* cur = base;
  for (size_t i = 0; i < path.steps.size(); ++i) {
    const BtfStep& s = path.steps[i];
    switch (s.kind) {
      case BtfStep::Member: cur = memberAddress(b, cur, s.ownerType, s.memberIndex); break;
      case BtfStep::Deref: {
        // A read through a NULL kernel pointer yields 0 (the verifier makes
        // these probing loads), so a branch is only needed where the caller
        // asks for one; each branch doubles what the verifier walks.
        llvm::Value* p = loadAt(b, load, ptrTy, cur, 8);
        if (onNull) {
          llvm::BasicBlock* next = llvm::BasicBlock::Create(ctx, "deref", b.GetInsertBlock()->getParent());
          b.CreateCondBr(b.CreateIsNull(p), onNull, next);
          b.SetInsertPoint(next);
        }
        cur = p;
        break;
      }
      case BtfStep::Index: {
        llvm::Type* arrayTy = llvmType(s.ownerType);
        if (auto it = path.enumIndex.find(i); it != path.enumIndex.end()) {
          // The index is the running kernel's value of each enumerator (a
          // constant to the verifier), times its scale, summed.
          llvm::Value* index = nullptr;
          for (const IndexTerm& term : it->second) {
            llvm::Value* v = b.getInt64(static_cast<uint64_t>(term.value));
            if (term.slot >= 0) {
              // Written by mmrun before the load: volatile, so that LLVM
              // does not fold the placeholder; the verifier sees the value
              // (.rodata is frozen).
              auto* u32 = b.getInt32Ty();
              llvm::Value* at = b.CreateInBoundsGEP(slots_->getValueType(), slots_, {b.getInt64(0), b.getInt64(term.slot)});
              llvm::LoadInst* slot = b.CreateAlignedLoad(u32, at, llvm::Align(4));
              slot->setVolatile(true);
              v = b.CreateZExt(slot, b.getInt64Ty());
            } else if (!term.enumName.empty()) {
              auto* str = b.CreateGlobalString(term.enumerator + ":" + std::to_string(term.value), "", 0, &m_);
              llvm::Function* fn = llvm::Intrinsic::getDeclaration(&m_, llvm::Intrinsic::bpf_preserve_enum_value);
              auto* call = b.CreateCall(fn, {b.getInt32(nextSeq()), str, b.getInt64(1)});
              call->setMetadata(llvm::LLVMContext::MD_preserve_access_index,
                                diEnum(term.enumName, term.enumerator, term.value));
              v = call;
            }
            if (term.scale != 1) v = b.CreateMul(v, b.getInt64(term.scale));
            index = index ? b.CreateAdd(index, v) : v;
          }
          cur = b.CreateInBoundsGEP(arrayTy, cur, {b.getInt64(0), index});
        } else {
          llvm::Function* fn =
              llvm::Intrinsic::getDeclaration(&m_, llvm::Intrinsic::preserve_array_access_index, {ptrTy, ptrTy});
          auto* call = b.CreateCall(fn, {cur, b.getInt32(1), b.getInt32(s.memberIndex)});
          call->addParamAttr(0, llvm::Attribute::get(ctx, llvm::Attribute::ElementType, arrayTy));
          call->setMetadata(llvm::LLVMContext::MD_preserve_access_index, diType(s.ownerType));
          cur = call;
        }
        break;
      }
    }
  }
  return cur;
}

llvm::Value* KernelTypes::emitTypeId(llvm::IRBuilder<>& b, uint32_t id) {
  useStruct(id);
  llvm::Function* fn = llvm::Intrinsic::getDeclaration(&m_, llvm::Intrinsic::bpf_btf_type_id);
  auto* call = b.CreateCall(fn, {b.getInt32(nextSeq()), b.getInt64(1 /* BPF_TYPE_ID_TARGET */)});
  call->setMetadata(llvm::LLVMContext::MD_preserve_access_index, diType(id));
  return call;
}

llvm::Value* KernelTypes::emitExists(llvm::IRBuilder<>& b, llvm::Value* base, const AccessPath& path,
                                     const Loader& load) {
  llvm::Value* at = emitAddress(b, base, path, nullptr, load);
  auto* ptrTy = llvm::PointerType::get(m_.getContext(), 0);
  llvm::Function* fn = llvm::Intrinsic::getDeclaration(&m_, llvm::Intrinsic::bpf_preserve_field_info, {ptrTy});
  constexpr uint64_t kFieldExists = 2;  // BPF_FIELD_EXISTS, libbpf's bpf_core_field_exists
  return b.CreateCall(fn, {at, b.getInt64(kFieldExists)});
}

llvm::Value* KernelTypes::emitRead(llvm::IRBuilder<>& b, llvm::Value* base, const AccessPath& path,
                                   llvm::BasicBlock* onNull, const Loader& load) {
  auto& ctx = m_.getContext();
  auto* ptrTy = llvm::PointerType::get(ctx, 0);
  llvm::Value* cur = emitAddress(b, base, path, onNull, load);
  uint32_t type = btf_.resolve(path.resultType);
  if (btf_.isPointer(type)) return loadAt(b, load, ptrTy, cur, 8);
  uint32_t size = btf_.size(type);
  auto* intTy = llvm::IntegerType::get(ctx, size * 8);
  llvm::Value* v = loadAt(b, load, intTy, cur, size);
  const struct btf_type* t = btf_.type(type);
  bool isSigned = btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_SIGNED);
  if (size == 8) return v;
  return isSigned ? b.CreateSExt(v, b.getInt64Ty()) : b.CreateZExt(v, b.getInt64Ty());
}

}  // namespace mmp::codegen

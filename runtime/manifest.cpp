#include "manifest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "abi/mmp_abi.h"
#include "abi/mmp_manifest_keys.h"

namespace mmp::runtime {

namespace {

llvm::Error fail(const std::string& what) {
  return llvm::createStringError(std::errc::invalid_argument, "%s", what.c_str());
}

// The bytes of the named section, or nothing.
std::optional<std::string> sectionBytes(Elf* elf, const char* wanted) {
  size_t shstrndx;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return std::nullopt;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) continue;
    const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (!name || std::strcmp(name, wanted) != 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || !data->d_buf) return std::string();
    return std::string(static_cast<const char*>(data->d_buf), data->d_size);
  }
  return std::nullopt;
}

// The JSON, into the structs. A refusal unwinds the whole read (the first
// one found is the error): the structs are filled in one pass, with no
// half-read manifest to check at every step.
namespace parse {

using nlohmann::json;
namespace key = manifest_key;

struct Refusal {
  std::string what;
};

std::string describe(const json& v) {
  std::string s = v.dump();
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

// One JSON object of the manifest and where it is ("settings",
// "rules[2].actions[0]"), for the messages.
class Object {
public:
  Object(const json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) throw Refusal{fmt::format("{} is {}, not an object", name(), describe(j_))};
  }

  bool has(const char* k) const { return j_.contains(k); }
  std::string string(const char* k) const { return typed(k, &json::is_string, "a string").get<std::string>(); }
  uint64_t u64(const char* k) const { return typed(k, &json::is_number_unsigned, "an unsigned integer").get<uint64_t>(); }
  uint32_t u32(const char* k) const {
    uint64_t v = u64(k);
    if (v > UINT32_MAX) throw Refusal{fmt::format("{} is {}, past 32 bits", child(k), v)};
    return static_cast<uint32_t>(v);
  }
  bool boolean(const char* k) const { return typed(k, &json::is_boolean, "true or false").get<bool>(); }
  Object object(const char* k) const { return Object(member(k), child(k)); }
  // The string, which must be one of `allowed`.
  std::string oneOf(const char* k, std::initializer_list<const char*> allowed) const {
    std::string v = string(k);
    for (const char* a : allowed)
      if (v == a) return v;
    throw Refusal{fmt::format("{} is \"{}\", which this mmrun does not know", child(k), v)};
  }
  // Each element of the array, as `each(element, "key[i]")`.
  template <typename F>
  void forEach(const char* k, F each) const {
    const json& a = typed(k, &json::is_array, "an array");
    for (size_t i = 0; i < a.size(); ++i) each(a[i], fmt::format("{}[{}]", child(k), i));
  }
  std::vector<std::string> strings(const char* k) const {
    std::vector<std::string> out;
    forEach(k, [&](const json& e, const std::string& where) {
      if (!e.is_string()) throw Refusal{fmt::format("{} is {}, not a string", where, describe(e))};
      out.push_back(e.get<std::string>());
    });
    return out;
  }

private:
  const json& j_;
  std::string where_;

  std::string name() const { return where_.empty() ? "the manifest" : where_; }
  std::string child(const char* k) const { return where_.empty() ? k : where_ + "." + k; }
  const json& member(const char* k) const {
    auto it = j_.find(k);
    if (it == j_.end()) throw Refusal{fmt::format("{} has no \"{}\"", name(), k)};
    return *it;
  }
  const json& typed(const char* k, bool (json::*is)() const noexcept, const char* what) const {
    const json& v = member(k);
    if (!(v.*is)()) throw Refusal{fmt::format("{} is {}, not {}", child(k), describe(v), what)};
    return v;
  }
};

ManifestQuantity quantity(const Object& o) {
  return {o.u64(key::quantity::kRaw), o.string(key::quantity::kText)};
}

ManifestSettings settings(const Object& o) {
  namespace ks = key::settings;
  ManifestSettings s;
  s.intervalNs = o.u64(ks::kIntervalNs);
  s.dryRun = o.boolean(ks::kDryRun);
  Object step = o.object(ks::kReclaimStep);
  s.reclaimStepType = step.oneOf(ks::kReclaimStepType, {"bytes", "percent"});
  s.reclaimStep = quantity(step.object(ks::kReclaimStepValue));
  s.allowLimit = o.boolean(ks::kAllowLimit);
  s.maxActionsPerSecond = o.u64(ks::kMaxActionsPerSecond);
  s.pressureTrigger = quantity(o.object(ks::kPressureTrigger));
  s.insnBudget = o.u64(ks::kInsnBudget);
  return s;
}

std::string optionalString(const Object& o, const char* k) { return o.has(k) ? o.string(k) : ""; }

std::vector<ManifestValue> values(const Object& o, const char* k) {
  std::vector<ManifestValue> out;
  o.forEach(k, [&](const json& e, const std::string& where) {
    Object v(e, where);
    out.push_back({v.string(key::value::kExpr), v.string(key::value::kType),
                   optionalString(v, key::value::kRuntime)});
  });
  return out;
}

ManifestAction action(const Object& o) {
  namespace ka = key::action;
  ManifestAction a;
  a.index = o.u32(ka::kIndex);
  a.kind = o.string(ka::kKind);
  a.code = o.u32(ka::kCode);
  a.flags = o.u32(ka::kFlags);
  a.amount = optionalString(o, ka::kAmount);
  if (o.has(ka::kAmong)) a.among = o.strings(ka::kAmong);
  a.by = optionalString(o, ka::kBy);
  a.signal = optionalString(o, ka::kSignal);
  if (o.has(ka::kMessage))
    o.forEach(ka::kMessage, [&](const json& e, const std::string& where) {
      Object part(e, where);
      if (part.has(ka::kMessageValue)) a.message.push_back({"", part.u32(ka::kMessageValue)});
      else a.message.push_back({part.string(ka::kMessageText), std::nullopt});
    });
  if (o.has(ka::kValues)) a.values = values(o, ka::kValues);
  return a;
}

ManifestRule rule(const Object& o) {
  namespace kr = key::rule;
  ManifestRule r;
  r.id = o.u32(kr::kId);
  r.file = o.string(kr::kFile);
  r.line = o.u32(kr::kLine);
  r.location = o.string(kr::kLocation);
  r.text = o.string(kr::kText);
  r.subject = o.oneOf(kr::kSubject, {"memcg", "system", "event"});
  r.scope = o.u32(kr::kScope);
  r.hooks = o.strings(kr::kHooks);
  o.forEach(kr::kActions, [&](const json& e, const std::string& where) { r.actions.push_back(action(Object(e, where))); });
  r.values = values(o, kr::kValues);
  r.cooldownNs = o.u64(kr::kCooldownNs);
  r.forNs = o.u64(kr::kForNs);
  r.event = optionalString(o, kr::kEvent);
  if (o.has(kr::kAtMost)) {
    Object at = o.object(kr::kAtMost);
    r.atMostCount = at.u64(kr::kAtMostCount);
    r.atMostPerNs = at.u64(kr::kAtMostPerNs);
  }
  if (o.has(kr::kCooldownWord)) r.cooldownWord = o.u32(kr::kCooldownWord);
  return r;
}

// Everything but the format version, which the caller checked first.
void manifest(const Object& o, Manifest& m) {
  m.decisionVersion = o.u32(key::kDecisionVersion);
  m.compiler = o.string(key::kCompiler);
  m.sourceSha256 = o.string(key::kSourceSha256);
  m.policy = o.string(key::kPolicy);
  Object units = o.object(key::kUnits);
  for (const char* type : {"bytes", "percent", "duration", "count", "rate", "count rate"})
    m.units[type] = units.has(type) ? units.string(type) : "";  // count rates: objects since 2026-12
  m.settings = settings(o.object(key::kSettings));
  m.protect = o.strings(key::kProtect);
  o.forEach(key::kPreferences, [&](const json& e, const std::string& where) {
    namespace kp = key::preference;
    Object p(e, where);
    std::string mode = p.oneOf(kp::kMode, {"prefer", "avoid", "protect"});
    std::string what = p.string(kp::kWhat);
    if (what != "cgroup" && std::find(std::begin(kp::kWhats), std::end(kp::kWhats), what) == std::end(kp::kWhats))
      throw Refusal{fmt::format("{}.{} is \"{}\", which this mmrun does not know", where, kp::kWhat, what)};
    m.preferences.push_back({mode == "protect" ? PreferenceMode::Protect
                             : mode == "avoid" ? PreferenceMode::Avoid
                                               : PreferenceMode::Prefer,
                             what, p.string(kp::kPattern), p.string(kp::kLocation)});
  });
  o.forEach(key::kScopes, [&](const json& e, const std::string& where) {
    Object s(e, where);
    m.scopes.push_back({s.u32(key::scope::kBit), s.strings(key::scope::kPatterns)});
  });
  o.forEach(key::kSnapshot, [&](const json& e, const std::string& where) {
    namespace kf = key::snapshot;
    Object f(e, where);
    m.snapshot.push_back({f.string(kf::kField), f.string(kf::kType), f.oneOf(kf::kContext, {"memcg", "system", "event"}),
                          optionalString(f, kf::kRuntime)});
  });
  o.forEach(key::kPrograms, [&](const json& e, const std::string& where) {
    namespace kp = key::program;
    Object p(e, where);
    m.programs.push_back({p.string(kp::kHook), p.string(kp::kSection), optionalString(p, kp::kOptional)});
  });
  o.forEach(key::kRules, [&](const json& e, const std::string& where) { m.rules.push_back(rule(Object(e, where))); });
  if (o.has(key::kSlots))
    o.forEach(key::kSlots, [&](const json& e, const std::string& where) {
      namespace ks = key::slot;
      Object s(e, where);
      m.slots.push_back({s.string(ks::kStruct), s.string(ks::kMember), s.string(ks::kDirectLength), s.string(ks::kItem),
                         s.strings(ks::kTracked), s.strings(ks::kFields)});
    });
}

}  // namespace parse

}  // namespace

llvm::Expected<Manifest> parseManifest(const std::string& text, const std::string& name) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    return fail(fmt::format("'{}': its manifest is not valid JSON (a damaged object?)", name));
  }
  const char* format = manifest_key::kFormat;
  if (!j.is_object() || !j.contains(format) || !j[format].is_number_integer())
    return fail(fmt::format("'{}': its manifest has no format version", name));
  Manifest m;
  m.format = j[format].get<int>();
  if (m.format != MMP_MANIFEST_FORMAT)
    return fail(fmt::format("'{}' has manifest format {}, but this mmrun knows format {}: compile it again with "
                            "the mmpc that comes with this mmrun",
                            name, m.format, MMP_MANIFEST_FORMAT));
  try {
    parse::manifest(parse::Object(j, ""), m);
  } catch (const parse::Refusal& r) {
    return fail(fmt::format("'{}': its manifest is not one this mmrun reads ({}): compile it again with the "
                            "mmpc that comes with this mmrun",
                            name, r.what));
  }
  return m;
}

llvm::Expected<Manifest> readManifest(const std::string& path) {
  if (elf_version(EV_CURRENT) == EV_NONE) return fail("libelf is unusable");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  std::optional<std::string> text;
  bool isElf = elf && elf_kind(elf) == ELF_K_ELF;
  bool truncated = false;
  if (isElf) {
    // The section headers sit at the end: a cut file loses them first.
    GElf_Ehdr ehdr;
    struct stat st;
    truncated = gelf_getehdr(elf, &ehdr) && fstat(fd, &st) == 0 &&
                ehdr.e_shoff + static_cast<uint64_t>(ehdr.e_shnum) * ehdr.e_shentsize > static_cast<uint64_t>(st.st_size);
    if (!truncated) text = sectionBytes(elf, MMP_MANIFEST_SECTION);
  }
  if (elf) elf_end(elf);
  close(fd);
  if (!isElf) return fail(fmt::format("'{}' is not an ELF object file", path));
  if (truncated) return fail(fmt::format("'{}' is truncated: its section headers lie past its end", path));
  if (!text) return fail(fmt::format("'{}' has no {} section: it was not made by mmpc", path, MMP_MANIFEST_SECTION));
  return parseManifest(*text, path);
}

}  // namespace mmp::runtime

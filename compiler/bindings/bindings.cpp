#include "bindings/bindings.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace mmp {
namespace {

llvm::Error fail(const std::string& path, const std::string& what) {
  return llvm::createStringError(std::errc::invalid_argument, "%s: %s", path.c_str(), what.c_str());
}

std::string lineColumnOf(const std::string& text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return fmt::format("{}:{}", line, col);
}

std::optional<Type> typeNamed(const std::string& s) {
  for (Type t : {Type::Bytes, Type::Percent, Type::Duration, Type::Count, Type::String})
    if (s == typeName(t)) return t;
  return std::nullopt;
}

std::optional<FieldContext> contextNamed(const std::string& s) {
  if (s == "memcg") return FieldContext::Memcg;
  if (s == "system") return FieldContext::System;
  if (s == "event") return FieldContext::Event;
  return std::nullopt;
}

// Reads an optional member of an expected JSON kind; throws a message on a wrong kind.
template <typename T>
T member(const nlohmann::json& obj, const char* key, T fallback, nlohmann::json::value_t kind) {
  auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  if (it->type() != kind) throw std::runtime_error(fmt::format("`{}` has the wrong kind of value", key));
  return it->get<T>();
}

std::string requiredString(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) throw std::runtime_error(fmt::format("needs a string `{}`", key));
  return it->get<std::string>();
}

// [A-Za-z_][A-Za-z0-9_]* joined by dots. Not std::regex: building and
// matching one cost 2% of a whole small compile, which reads every binding.
bool validDottedName(const std::string& s) {
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  bool atStart = true;
  for (char c : s) {
    if (atStart) {
      if (!alpha(c)) return false;
      atStart = false;
    } else if (c == '.') {
      atStart = true;
    } else if (!alpha(c) && !(c >= '0' && c <= '9')) {
      return false;
    }
  }
  return !atStart;
}

// ---- the `kernel` member ------------------------------------------------------
// Parsed whole: an unknown member or value is an error here, never a value
// the back end reads wrong (a scale it does not know would pass a count of
// pages through as bytes).

std::runtime_error kernelError(const std::string& binding, const std::string& member, const std::string& what) {
  return std::runtime_error(fmt::format("`{}`: kernel{}{} {}", binding, member.empty() ? "" : ".", member, what));
}

// Refuses a member not in `known` (listed in the message).
void onlyKnownMembers(const nlohmann::json& k, const std::string& binding, std::initializer_list<const char*> known) {
  if (!k.is_object()) throw kernelError(binding, "", "is not an object");
  for (const auto& [member, value] : k.items()) {
    bool ok = false;
    for (const char* name : known) ok |= member == name;
    if (ok) continue;
    std::string list;
    for (const char* name : known) list += std::string(list.empty() ? "" : ", ") + name;
    throw kernelError(binding, "", fmt::format("has an unknown member `{}` (it has {})", member, list));
  }
}

std::string kernelString(const nlohmann::json& k, const char* member, const std::string& binding) {
  auto it = k.find(member);
  if (it == k.end()) return "";
  if (!it->is_string()) throw kernelError(binding, member, "is not a string");
  return it->get<std::string>();
}

// A path element's text: a string, or a decimal index written as a number.
std::string pathText(const nlohmann::json& e, const std::string& binding, const char* member) {
  if (e.is_string()) return e.get<std::string>();
  if (e.is_number_unsigned()) return std::to_string(e.get<uint64_t>());
  throw kernelError(binding, member, fmt::format("has `{}`, neither a name nor an index", e.dump()));
}

KernelPath kernelPath(const nlohmann::json& p, const std::string& binding, const char* member) {
  if (!p.is_array() || p.empty()) throw kernelError(binding, member, "is not a non-empty array (an access path)");
  KernelPath out;
  for (const auto& e : p) {
    if (!e.is_object()) {
      KernelPathElement plain;
      plain.name = pathText(e, binding, member);
      out.push_back(std::move(plain));
      continue;
    }
    // {"as": "TYPE"}: a cast to a struct of `types`.
    if (e.contains("as")) {
      if (e.size() != 1 || !e["as"].is_string())
        throw kernelError(binding, member, "has an element {\"as\": ...} with more than a type's name");
      KernelPathElement cast;
      cast.as = e["as"].get<std::string>();
      out.push_back(std::move(cast));
      continue;
    }
    // {"slot": "TABLE", "item": "@ENUM:ENUMERATOR"} (the table is checked by link)
    if (e.contains("slot")) {
      if (e.size() != 2 || !e["slot"].is_string() || !e.contains("item") || !e["item"].is_string() ||
          e["item"].get<std::string>().rfind('@', 0) != 0)
        throw kernelError(binding, member, "has a slot element that is not {\"slot\": \"TABLE\", \"item\": \"@ENUM:ENUMERATOR\"}");
      KernelPathElement slot;
      slot.slot = e["slot"].get<std::string>();
      slot.item = e["item"].get<std::string>();
      out.push_back(std::move(slot));
      continue;
    }
    // {"index": [ROW, COLUMN], "rows": ROWS}
    for (const auto& [key, value] : e.items())
      if (key != "index" && key != "rows")
        throw kernelError(binding, member,
                          fmt::format("has an element with an unknown member `{}` (it has index, rows; or slot, item)", key));
    if (!e.contains("index") || !e["index"].is_array() || e["index"].size() != 2 || !e.contains("rows"))
      throw kernelError(binding, member, "has an object element without \"index\": [ROW, COLUMN] and \"rows\"");
    KernelPathElement two;
    for (const auto& i : e["index"]) two.index.push_back(pathText(i, binding, member));
    two.rows = pathText(e["rows"], binding, member);
    out.push_back(std::move(two));
  }
  return out;
}

// mmrun's sources (runtime/system_fields.cpp, enactor.cpp).
bool knownRuntime(const std::string& s) {
  if (s == "cgroup_path") return true;
  if (s.rfind("meminfo:", 0) == 0) return s.size() > 8;
  if (s == "zram:mem_used_total" || s == "zram:orig_data_size" || s == "zram:compr_data_size") return true;
  for (const char* line : {"some", "full"})
    for (const char* what : {"avg10", "avg60", "avg300", "total"})
      if (s == fmt::format("pressure:{}:{}", line, what)) return true;
  return false;
}

KernelSource parseFieldKernel(const nlohmann::json& k, const std::string& binding) {
  onlyKnownMembers(k, binding,
                   {"from", "path", "sum", "or", "scale", "unlimited_at", "runtime", "observed", "event_arg", "doc"});
  KernelSource s;
  s.from = kernelString(k, "from", binding);
  if (!s.from.empty() && s.from != "cgroup" && s.from != "mem_cgroup" && s.from != "task_struct")
    throw kernelError(binding, "from", fmt::format("is `{}`; the programs read from cgroup, mem_cgroup or task_struct", s.from));
  if (k.contains("path") && k.contains("sum")) throw kernelError(binding, "", "has both `path` and `sum`");
  if (k.contains("path")) s.paths.push_back(kernelPath(k["path"], binding, "path"));
  if (k.contains("sum")) {
    if (!k["sum"].is_array() || k["sum"].empty()) throw kernelError(binding, "sum", "is not a non-empty array of paths");
    for (const auto& p : k["sum"]) s.paths.push_back(kernelPath(p, binding, "sum"));
  }
  if (s.from.empty() != s.paths.empty())
    throw kernelError(binding, "", "needs both `from` and a `path` (or `sum`), or neither");
  if (k.contains("or")) {
    if (s.paths.empty() || !k["or"].is_array() || k["or"].empty())
      throw kernelError(binding, "or", "is not a non-empty array of alternatives to a `path` or `sum`");
    for (const auto& alt : k["or"]) {
      onlyKnownMembers(alt, binding, {"path", "sum"});
      std::vector<KernelPath> paths;
      if (alt.contains("path") == alt.contains("sum"))
        throw kernelError(binding, "or", "has an alternative without one `path` or one `sum`");
      if (alt.contains("path")) paths.push_back(kernelPath(alt["path"], binding, "or"));
      else if (!alt["sum"].is_array() || alt["sum"].empty())
        throw kernelError(binding, "or", "has a `sum` that is not a non-empty array of paths");
      else
        for (const auto& p : alt["sum"]) paths.push_back(kernelPath(p, binding, "or"));
      s.otherwise.push_back(std::move(paths));
    }
  }
  std::string scale = kernelString(k, "scale", binding);
  if (scale == "pages") s.scale = KernelScale::Pages;
  else if (scale == "psi_fixed") s.scale = KernelScale::PsiFixed;
  else if (!scale.empty()) throw kernelError(binding, "scale", fmt::format("is `{}`; the scales are pages and psi_fixed", scale));
  if (s.scale != KernelScale::None && s.paths.empty())
    throw kernelError(binding, "scale", "applies only to a value read from the kernel (`from` and `path`)");
  s.unlimitedAt = kernelString(k, "unlimited_at", binding);
  s.runtime = kernelString(k, "runtime", binding);
  if (!s.runtime.empty() && !knownRuntime(s.runtime))
    throw kernelError(binding, "runtime",
                      fmt::format("is `{}`; mmrun provides meminfo:NAME, zram:mem_used_total|orig_data_size|compr_data_size, pressure:some|full:avg10|avg60|avg300|total "
                                  "and cgroup_path",
                                  s.runtime));
  s.observed = kernelString(k, "observed", binding);
  if (!s.observed.empty() && s.observed != "reclaim")
    throw kernelError(binding, "observed", fmt::format("is `{}`; the hooks observe reclaim only", s.observed));
  if (k.contains("event_arg")) {
    if (!k["event_arg"].is_number_unsigned() || k["event_arg"].get<uint64_t>() > 5)
      throw kernelError(binding, "event_arg", "is not a tracepoint argument's number (0 to 5)");
    s.eventArg = k["event_arg"].get<unsigned>();
  }
  s.doc = kernelString(k, "doc", binding);
  return s;
}

EventSource parseEventKernel(const nlohmann::json& k, const std::string& binding) {
  onlyKnownMembers(k, binding, {"tp_btf", "runtime", "doc"});
  EventSource s;
  if (k.contains("tp_btf")) {
    const auto& t = k["tp_btf"];
    for (const auto& e : t.is_array() ? t : nlohmann::json::array({t})) {
      if (!e.is_string()) throw kernelError(binding, "tp_btf", "is not a tracepoint name or a list of them");
      s.tpBtf.push_back(e.get<std::string>());
    }
  }
  s.runtime = kernelString(k, "runtime", binding);
  if (!s.runtime.empty() && s.runtime != "psi_trigger")
    throw kernelError(binding, "runtime", fmt::format("is `{}`; mmrun provides psi_trigger", s.runtime));
  s.doc = kernelString(k, "doc", binding);
  return s;
}

EventBinding parseEvent(const nlohmann::json& j) {
  if (!j.is_object()) throw std::runtime_error("is not an object");
  EventBinding e;
  e.name = requiredString(j, "name");
  e.memcg = member<bool>(j, "memcg", true, nlohmann::json::value_t::boolean);
  e.doc = member<std::string>(j, "doc", "", nlohmann::json::value_t::string);
  if (j.contains("kernel")) e.kernel = parseEventKernel(j["kernel"], e.name);
  return e;
}

Binding parseField(const nlohmann::json& j) {
  if (!j.is_object()) throw std::runtime_error("is not an object");
  Binding b;
  b.name = requiredString(j, "name");
  if (!validDottedName(b.name)) throw std::runtime_error(fmt::format("`{}` is not a dotted name", b.name));
  std::string type = requiredString(j, "type");
  auto t = typeNamed(type);
  if (!t) throw std::runtime_error(fmt::format("unknown type `{}` (bytes, percent, duration, count or string)", type));
  b.type = *t;
  std::string ctx = requiredString(j, "context");
  auto c = contextNamed(ctx);
  if (!c) throw std::runtime_error(fmt::format("unknown context `{}` (memcg, system or event)", ctx));
  b.context = *c;
  b.event = member<std::string>(j, "event", "", nlohmann::json::value_t::string);
  b.whole = member<std::string>(j, "whole", "", nlohmann::json::value_t::string);
  b.unlimited = member<bool>(j, "unlimited", false, nlohmann::json::value_t::boolean);
  b.logOnly = b.type == Type::String;
  b.doc = member<std::string>(j, "doc", "", nlohmann::json::value_t::string);
  if (j.contains("kernel")) b.kernel = parseFieldKernel(j["kernel"], b.name);
  if (b.context == FieldContext::Event && b.event.empty()) throw std::runtime_error("an event field needs `event`");
  return b;
}

// Cross-references: events exist, wholes are bytes fields of a usable
// context, slot tables exist and track the items read through them.
void link(Bindings& b) {
  for (auto& f : b.fields) {
    std::vector<const KernelPath*> paths;
    for (const auto& p : f.kernel.paths) paths.push_back(&p);
    for (const auto& way : f.kernel.otherwise)
      for (const auto& p : way) paths.push_back(&p);
    for (const KernelPath* p : paths)
      for (auto& e : const_cast<KernelPath&>(*p)) {
        if (e.slot.empty()) continue;
        const SlotTable* t = b.slotTable(e.slot);
        if (!t) throw std::runtime_error(fmt::format("field `{}` names unknown slot table `{}`", f.name, e.slot));
        if (std::find(t->tracked.begin(), t->tracked.end(), e.item) == t->tracked.end())
          throw std::runtime_error(
              fmt::format("field `{}`: `{}` is not among the items slot table `{}` tracks", f.name, e.item, e.slot));
        e.table = t;
      }
    if (f.context == FieldContext::Event && !b.event(f.event))
      throw std::runtime_error(fmt::format("field `{}` names unknown event `{}`", f.name, f.event));
    if (f.whole.empty()) continue;
    const Binding* w = b.field(f.whole);
    if (!w) throw std::runtime_error(fmt::format("field `{}` has unknown whole `{}`", f.name, f.whole));
    if (f.type != Type::Bytes || w->type != Type::Bytes)
      throw std::runtime_error(fmt::format("field `{}`: a whole relates two bytes fields", f.name));
    // The whole is read wherever the field is: it must be available there.
    bool usable = w->context == FieldContext::System || (w->context == f.context && w->event == f.event);
    if (!usable)
      throw std::runtime_error(fmt::format("field `{}`: its whole `{}` is not available where it is", f.name, f.whole));
    f.wholeBinding = w;
  }
}

}  // namespace

const Binding* Bindings::field(std::string_view name) const {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

const EventBinding* Bindings::event(std::string_view name) const {
  for (const auto& e : events)
    if (e.name == name) return &e;
  return nullptr;
}

const SlotTable* Bindings::slotTable(std::string_view name) const {
  for (const auto& t : slotTables)
    if (t.name == name) return &t;
  return nullptr;
}

std::vector<std::string> Bindings::fieldNames() const {
  std::vector<std::string> out;
  for (const auto& f : fields) out.push_back(f.name);
  return out;
}

std::vector<std::string> Bindings::eventNames() const {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.name);
  return out;
}

std::vector<SlotUse> slotsOf(const std::vector<const Binding*>& fields) {
  std::vector<SlotUse> out;
  auto add = [&](const KernelPath& p, const std::string& field) {
    for (const auto& e : p) {
      if (!e.table) continue;
      auto u = std::find_if(out.begin(), out.end(), [&](const SlotUse& u) { return u.table == e.table && u.item == e.item; });
      if (u == out.end()) u = out.insert(out.end(), {e.table, e.item, {}});
      if (std::find(u->fields.begin(), u->fields.end(), field) == u->fields.end()) u->fields.push_back(field);
    }
  };
  for (const Binding* b : fields) {
    for (const auto& p : b->kernel.paths) add(p, b->name);
    for (const auto& way : b->kernel.otherwise)
      for (const auto& p : way) add(p, b->name);
  }
  return out;
}

namespace {

// `types`: {"NAME": [["member", "TYPE"], ...], ...}.
std::vector<LocalStruct> parseTypes(const nlohmann::json& t) {
  if (!t.is_object()) throw std::runtime_error("is not an object of struct names");
  std::vector<LocalStruct> out;
  for (const auto& [name, members] : t.items()) {
    if (!validDottedName(name) || name.find('.') != std::string::npos)
      throw std::runtime_error(fmt::format("`{}` is not a struct's name", name));
    if (!members.is_array() || members.empty())
      throw std::runtime_error(fmt::format("`{}` is not a non-empty array of [member, type] pairs", name));
    LocalStruct s{name, {}};
    for (const auto& m : members) {
      if (!m.is_array() || m.size() != 2 || !m[0].is_string() || !m[1].is_string())
        throw std::runtime_error(fmt::format("`{}` has a member that is not [\"name\", \"type\"]", name));
      s.members.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    }
    out.push_back(std::move(s));
  }
  return out;
}

// `slot_tables`: [{"name", "struct", "member", "direct_length", "tracked", "doc"}, ...].
std::vector<SlotTable> parseSlotTables(const nlohmann::json& t) {
  if (!t.is_array()) throw std::runtime_error("is not an array of tables");
  std::vector<SlotTable> out;
  auto enumerator = [](const std::string& table, const std::string& s) {
    size_t colon = s.find(':');
    if (s.size() < 4 || s[0] != '@' || colon == std::string::npos || colon < 2 || colon + 1 == s.size())
      throw std::runtime_error(fmt::format("`{}`: `{}` is not `@ENUM:ENUMERATOR`", table, s));
    return s;
  };
  for (const auto& j : t) {
    if (!j.is_object()) throw std::runtime_error("has a table that is not an object");
    for (const auto& [key, value] : j.items())
      if (key != "name" && key != "struct" && key != "member" && key != "direct_length" && key != "tracked" &&
          key != "doc")
        throw std::runtime_error(fmt::format(
            "has a table with an unknown member `{}` (it has name, struct, member, direct_length, tracked, doc)", key));
    SlotTable s;
    s.name = requiredString(j, "name");
    s.structName = requiredString(j, "struct");
    s.member = requiredString(j, "member");
    s.directLength = enumerator(s.name, requiredString(j, "direct_length"));
    s.doc = member<std::string>(j, "doc", "", nlohmann::json::value_t::string);
    if (!j.contains("tracked") || !j["tracked"].is_array() || j["tracked"].empty())
      throw std::runtime_error(fmt::format("`{}` needs a non-empty array `tracked`", s.name));
    for (const auto& e : j["tracked"]) {
      if (!e.is_string()) throw std::runtime_error(fmt::format("`{}`: `tracked` holds a non-string", s.name));
      s.tracked.push_back(enumerator(s.name, e.get<std::string>()));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

llvm::Expected<Bindings> parseBindings(const std::string& text, const std::string& path) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return fail(path + ":" + lineColumnOf(text, e.byte ? e.byte - 1 : 0), "not valid JSON");
  }
  if (!doc.is_object() || !doc.contains("format") || doc["format"] != 1)
    return fail(path, "not an mmp bindings file of format 1 (expected {\"format\": 1, ...})");
  Bindings out;
  auto list = [&](const char* key) -> const nlohmann::json& {
    if (!doc.contains(key) || !doc[key].is_array()) throw std::runtime_error(fmt::format("needs an array `{}`", key));
    return doc[key];
  };
  std::string where;
  try {
    where = "";
    size_t i = 0;
    for (const auto& e : list("events")) {
      where = fmt::format("event #{}: ", ++i);
      out.events.push_back(parseEvent(e));
    }
    i = 0;
    for (const auto& f : list("fields")) {
      where = fmt::format("field #{}: ", ++i);
      Binding b = parseField(f);
      if (out.field(b.name)) throw std::runtime_error(fmt::format("`{}` is declared twice", b.name));
      out.fields.push_back(std::move(b));
    }
    where = "types: ";
    if (doc.contains("types")) out.types = parseTypes(doc["types"]);
    where = "slot_tables: ";
    if (doc.contains("slot_tables")) out.slotTables = parseSlotTables(doc["slot_tables"]);
    where = "";
    link(out);
  } catch (const std::exception& e) {
    return fail(path, where + e.what());
  }
  return out;
}

llvm::Expected<Bindings> loadBindings(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(path, "cannot read the kernel bindings file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parseBindings(ss.str(), path);
}

}  // namespace mmp

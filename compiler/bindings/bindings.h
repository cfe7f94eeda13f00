// Kernel bindings: the fields and events of the language, read from a data
// file in stdlib/ (adding a field is one declaration, no compiler change).
#pragma once

#include <llvm/Support/Error.h>

#include <optional>
#include <string>
#include <vector>

#include "units/quantity.h"

namespace mmp {

enum class FieldContext { Memcg, System, Event };

// One element of a kernel access path: a member name, a decimal array
// index or `@ENUM:ENUMERATOR`; or, when `index` is set, an element
// [ROW, COLUMN] of a two-dimensional array of `rows` rows; or, when `slot`
// is set, the element of `item` in an array laid out by that slot table.
struct KernelPathElement {
  std::string name;
  std::vector<std::string> index;  // empty, or ROW and COLUMN
  std::string rows;
  std::string as;  // `{"as": "T"}`: the pointer reached is read as a `struct T` of the bindings' `types`
  std::string slot, item;  // `{"slot": "TABLE", "item": "@ENUM:ENUMERATOR"}`
  const struct SlotTable* table = nullptr;  // `slot`'s, linked by parseBindings
};
using KernelPath = std::vector<KernelPathElement>;

// How a kernel value becomes the language's: pages into bytes, PSI fixed
// point (percent * 2048) into thousandths of a percent.
enum class KernelScale { None, Pages, PsiFixed };

// A field's `kernel` member: where its value comes from. Read by the back
// end and mmrun; the front end looks only at `observed`.
struct KernelSource {
  std::string from;          // the struct `paths` start at: "cgroup", "mem_cgroup", "task_struct"; "" when not read so
  std::vector<KernelPath> paths;  // `path`, or each of `sum`'s, added up
  // `or`: where the kernel lacks what `paths` reads, each of these in
  // turn (a `path` or a `sum` each), the first the kernel has.
  std::vector<std::vector<KernelPath>> otherwise;
  KernelScale scale = KernelScale::None;
  std::string unlimitedAt;   // the kernel's "max", for people (`unlimited_at`)
  std::string runtime;       // a value mmrun provides: "meminfo:NAME", "pressure:LINE:WHAT", "cgroup_path"
  std::string observed;      // what the policy's hooks record: "reclaim"
  std::optional<unsigned> eventArg;  // an argument of the event's tracepoint
  std::string doc;
};

// An event's `kernel` member: the tp_btf hooks it is seen at, or mmrun's
// source (`runtime`: "psi_trigger").
struct EventSource {
  std::vector<std::string> tpBtf;
  std::string runtime;
  std::string doc;
};

// An array whose layout changed between kernels (`slot_tables`): an item's
// index in it is worked out by mmrun at load time, from the running
// kernel's BTF (runtime/stat_slots.h). Up to some kernel the array is
// indexed by the item itself, and its length is then `directLength`'s
// value; after, it holds only `tracked`'s items that the running kernel
// has, in that order.
struct SlotTable {
  std::string name;       // "memcg_stat"
  std::string structName; // the array's struct: "memcg_vmstats"
  std::string member;     // and member: "state"
  std::string directLength;          // "@ENUM:ENUMERATOR"
  std::vector<std::string> tracked;  // "@ENUM:ENUMERATOR", in the array's order
  std::string doc;
};

struct Binding {
  std::string name;  // "memcg.usage"
  Type type = Type::Error;
  FieldContext context = FieldContext::Memcg;
  std::string event;               // the `on` event owning an event field
  std::string whole;               // the field a percent of this one is taken of
  const Binding* wholeBinding = nullptr;
  bool unlimited = false;          // may be unset in the kernel (`max`)
  bool logOnly = false;            // strings: only inside `log` interpolation
  std::string doc;
  KernelSource kernel;             // where its value comes from
};

struct EventBinding {
  std::string name;  // "oom"
  bool memcg = true; // whether the event has a memcg (bound for memcg.* fields)
  std::string doc;
  EventSource kernel;
};

// A struct the bindings describe (`types`), for a layout the BTF compiled
// against does not have: another kernel's, under a CO-RE flavour name
// (`mm_struct___6_1` is `mm_struct` to libbpf). Each member's type is a
// struct of `types`, a type of the kernel's BTF, or either as `NAME[N]`.
struct LocalStruct {
  std::string name;
  std::vector<std::pair<std::string, std::string>> members;  // name, type
};

class Bindings {
public:
  // Fields point at each other (`wholeBinding`): moves keep them, copies would not.
  Bindings() = default;
  Bindings(Bindings&&) = default;
  Bindings& operator=(Bindings&&) = default;
  Bindings(const Bindings&) = delete;
  Bindings& operator=(const Bindings&) = delete;

  std::vector<Binding> fields;
  std::vector<EventBinding> events;
  std::vector<LocalStruct> types;
  std::vector<SlotTable> slotTables;

  const Binding* field(std::string_view name) const;
  const EventBinding* event(std::string_view name) const;
  const SlotTable* slotTable(std::string_view name) const;
  std::vector<std::string> fieldNames() const;
  std::vector<std::string> eventNames() const;
};

// A slot of the running kernel that the programs read (`{"slot", "item"}`
// path elements): mmrun works each out at load time and writes it to
// `mmp_slots[index]`, the index being its place in slotsOf's list.
struct SlotUse {
  const SlotTable* table = nullptr;
  std::string item;                 // "@ENUM:ENUMERATOR"
  std::vector<std::string> fields;  // the fields read through it
};
// The slots `fields` read, each once, in the order of the fields, then of
// each field's paths (`path` or `sum`, then `or`'s).
std::vector<SlotUse> slotsOf(const std::vector<const Binding*>& fields);

// Parses a bindings file; a malformed one is an error naming the place.
llvm::Expected<Bindings> parseBindings(const std::string& text, const std::string& path);
llvm::Expected<Bindings> loadBindings(const std::string& path);

}  // namespace mmp

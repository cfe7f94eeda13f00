// Kernel bindings: the fields and events of the language, read from a data
// file in stdlib/ (adding a field is one declaration, no compiler change).
#pragma once

#include <llvm/Support/Error.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "units/quantity.h"

namespace mmp {

enum class FieldContext { Memcg, System, Event };

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
  nlohmann::json kernel;           // how the back end reads it; opaque here
};

struct EventBinding {
  std::string name;  // "oom"
  bool memcg = true; // whether the event has a memcg (bound for memcg.* fields)
  std::string doc;
  nlohmann::json kernel;
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

  const Binding* field(std::string_view name) const;
  const EventBinding* event(std::string_view name) const;
  std::vector<std::string> fieldNames() const;
  std::vector<std::string> eventNames() const;
};

// Parses a bindings file; a malformed one is an error naming the place.
llvm::Expected<Bindings> parseBindings(const std::string& text, const std::string& path);
llvm::Expected<Bindings> loadBindings(const std::string& path);

}  // namespace mmp

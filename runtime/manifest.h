// The object's manifest (.mmp.manifest), read and validated once: the
// runtime knows the policy only through these structs and the decision
// record. Key names are abi/mmp_manifest_keys.h; a member's comment says
// when its key may be absent, and its initializer is then the default.
#pragma once

#include <llvm/Support/Error.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stat_slots.h"

namespace mmp::runtime {

// A quantity in its raw unit (bytes, 0.001 %, ns, B/s), with its text.
struct ManifestQuantity {
  uint64_t raw = 0;
  std::string text;
};

struct ManifestSettings {
  uint64_t intervalNs = 0;
  bool dryRun = false;
  std::string reclaimStepType;  // "bytes" or "percent"
  ManifestQuantity reclaimStep;
  bool allowLimit = false;
  uint64_t maxActionsPerSecond = 0;
  ManifestQuantity pressureTrigger;  // a percent
  uint64_t insnBudget = 0;
};

struct ManifestScope {
  uint32_t bit = 0;
  std::vector<std::string> patterns;  // normalised and valid, as mmpc wrote them
};

// One u64 of the snapshot, in layout order.
struct SnapshotField {
  std::string field;    // "memcg.usage"
  std::string type;     // "bytes", "percent", ..., "string"
  std::string context;  // "memcg", "system" or "event"
  std::string runtime;  // absent: "" (the programs read it); else mmrun's source, "meminfo:MemFree"
};

struct ManifestProgram {
  std::string hook;
  std::string section;
  std::string optional;  // absent: "" (the policy needs it); else why it runs without it
};

// A value a decision carries: a rule's, or a log's `{...}`.
struct ManifestValue {
  std::string expr;
  std::string type;
  std::string runtime;  // absent: ""; "cgroup_path" for the subject's path
};

// A log message part: text, or the index of one of the action's values.
struct MessagePart {
  std::string text;
  std::optional<uint32_t> value;
};

struct ManifestAction {
  uint32_t index = 0;  // within the rule
  std::string kind;    // "kill", "log", ... (abi/mmp_actions.def's spelling)
  uint32_t code = 0;   // enum mmp_action
  uint32_t flags = 0;  // enum mmp_flags
  std::string amount;                 // absent: ""
  std::vector<std::string> among;     // absent: none
  std::string by;                     // absent: ""
  std::string signal;                 // absent: ""
  std::vector<MessagePart> message;   // absent (not a log): none
  std::vector<ManifestValue> values;  // absent (not a log): none
};

struct ManifestRule {
  uint32_t id = 0;
  std::string file;
  uint32_t line = 0;
  std::string location;  // "file:line"
  std::string text;
  std::string subject;   // "memcg", "system" or "event"
  uint32_t scope = 0;    // the scope bit
  std::vector<std::string> hooks;
  std::vector<ManifestAction> actions;
  std::vector<ManifestValue> values;
  uint64_t cooldownNs = 0;
  uint64_t forNs = 0;
  std::string event;                   // absent (a `when` rule): ""
  uint64_t atMostCount = 0;            // absent: 0, unbounded
  uint64_t atMostPerNs = 0;            // absent: 0
  std::optional<uint32_t> cooldownWord;  // absent: no cooldown
};

// One pattern of `prefer`/`avoid`, or a `protect` of processes
// (actions/preferences.h applies them).
enum class PreferenceMode { Prefer, Avoid, Protect };
struct ManifestPreference {
  PreferenceMode mode = PreferenceMode::Prefer;
  std::string what;      // "cgroup", or a process's text: key::preference::kWhats
  std::string pattern;   // a normalised cgroup pattern, or a POSIX extended regular expression
  std::string location;  // file:line
};

// A slot of the running kernel the programs read (stat_slots.h works it
// out): `item`'s index in `structName`.`member`.
using ManifestSlot = StatSlot;

struct Manifest {
  int format = 0;
  uint32_t decisionVersion = 0;
  std::string compiler;
  std::string sourceSha256;
  std::string policy;
  std::map<std::string, std::string> units;  // type → its raw unit
  ManifestSettings settings;
  std::vector<std::string> protect;
  std::vector<ManifestPreference> preferences;
  std::vector<ManifestScope> scopes;
  std::vector<SnapshotField> snapshot;
  std::vector<ManifestProgram> programs;
  std::vector<ManifestRule> rules;  // a decision's rule is its index here
  std::vector<ManifestSlot> slots;  // mmp_slots, in its order (absent: none)
};

// Reads the manifest of a BPF object file. Refuses (with a message saying
// why) a file that is not an ELF object, has no manifest (not made by
// mmpc), or has a format version this mmrun does not know.
llvm::Expected<Manifest> readManifest(const std::string& objectPath);

// The manifest's JSON text, parsed and validated: a missing or ill-typed
// key is an error naming it and its object; `name` starts each message.
llvm::Expected<Manifest> parseManifest(const std::string& text, const std::string& name);

}  // namespace mmp::runtime

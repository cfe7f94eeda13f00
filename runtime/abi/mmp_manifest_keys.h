// The key names of the .mmp.manifest JSON, shared by its writer
// (compiler/codegen/manifest.cpp) and its reader (runtime/manifest.cpp):
// a key renamed on one side is renamed on both, or fails to compile.
// The manifest's shape is docs/architecture.md's "The object".
#pragma once

namespace mmp::manifest_key {

// The top-level object.
inline constexpr char kFormat[] = "format";
inline constexpr char kDecisionVersion[] = "decision_version";
inline constexpr char kCompiler[] = "compiler";
inline constexpr char kSourceSha256[] = "source_sha256";
inline constexpr char kPolicy[] = "policy";
inline constexpr char kUnits[] = "units";
inline constexpr char kSettings[] = "settings";
inline constexpr char kProtect[] = "protect";
inline constexpr char kPreferences[] = "preferences";
inline constexpr char kScopes[] = "scopes";
inline constexpr char kSnapshot[] = "snapshot";
inline constexpr char kPrograms[] = "programs";
inline constexpr char kRules[] = "rules";
inline constexpr char kSlots[] = "slots";  // optional: what mmrun writes to mmp_slots

// A quantity: {"raw": N, "text": "10%"}.
namespace quantity {
inline constexpr char kRaw[] = "raw";
inline constexpr char kText[] = "text";
}  // namespace quantity

namespace settings {
inline constexpr char kIntervalNs[] = "interval_ns";
inline constexpr char kDryRun[] = "dry_run";
inline constexpr char kReclaimStep[] = "reclaim_step";  // {"type": T, "value": quantity}
inline constexpr char kReclaimStepType[] = "type";
inline constexpr char kReclaimStepValue[] = "value";
inline constexpr char kAllowLimit[] = "allow_limit";
inline constexpr char kMaxActionsPerSecond[] = "max_actions_per_second";
inline constexpr char kPressureTrigger[] = "pressure_trigger";  // a quantity
inline constexpr char kInsnBudget[] = "insn_budget";
}  // namespace settings

// One pattern of `prefer`/`avoid`, or a `protect` of processes.
namespace preference {
inline constexpr char kMode[] = "mode";          // "prefer", "avoid" or "protect"
inline constexpr char kWhat[] = "what";          // "cgroup", or what of a process: kWhats
inline constexpr char kPattern[] = "pattern";
inline constexpr char kLocation[] = "location";  // file:line
// A process's texts a regular expression can match (mmpc's PreferWhat).
inline constexpr const char* kWhats[] = {"process", "cmdline", "exe", "cwd", "uid", "environ"};
}  // namespace preference

namespace scope {
inline constexpr char kBit[] = "bit";
inline constexpr char kPatterns[] = "patterns";
}  // namespace scope

// One field of the snapshot layout.
namespace snapshot {
inline constexpr char kField[] = "field";
inline constexpr char kType[] = "type";
inline constexpr char kContext[] = "context";
inline constexpr char kRuntime[] = "runtime";  // optional: where mmrun reads a system field
}  // namespace snapshot

// A slot of the running kernel (compiler/bindings/bindings.h, SlotTable):
// {"struct", "member", "direct_length", "tracked": [...], "item",
// "fields": [...]}, one per element of mmp_slots, in its order.
namespace slot {
inline constexpr char kStruct[] = "struct";
inline constexpr char kMember[] = "member";
inline constexpr char kDirectLength[] = "direct_length";
inline constexpr char kTracked[] = "tracked";
inline constexpr char kItem[] = "item";
inline constexpr char kFields[] = "fields";  // the policy's fields read through it
}  // namespace slot

namespace program {
inline constexpr char kHook[] = "hook";
inline constexpr char kSection[] = "section";
inline constexpr char kOptional[] = "optional";  // optional: why the policy runs without it
}  // namespace program

namespace rule {
inline constexpr char kId[] = "id";
inline constexpr char kFile[] = "file";
inline constexpr char kLine[] = "line";
inline constexpr char kLocation[] = "location";
inline constexpr char kText[] = "text";
inline constexpr char kSubject[] = "subject";
inline constexpr char kScope[] = "scope";
inline constexpr char kHooks[] = "hooks";
inline constexpr char kActions[] = "actions";
inline constexpr char kValues[] = "values";
inline constexpr char kCooldownNs[] = "cooldown_ns";
inline constexpr char kForNs[] = "for_ns";
inline constexpr char kEvent[] = "event";                 // optional
inline constexpr char kAtMost[] = "at_most";              // optional: {"count", "per_ns"}
inline constexpr char kAtMostCount[] = "count";
inline constexpr char kAtMostPerNs[] = "per_ns";
inline constexpr char kCooldownWord[] = "cooldown_word";  // optional
}  // namespace rule

namespace action {
inline constexpr char kIndex[] = "index";
inline constexpr char kKind[] = "kind";
inline constexpr char kCode[] = "code";
inline constexpr char kFlags[] = "flags";
inline constexpr char kAmount[] = "amount";    // optional
inline constexpr char kAmong[] = "among";      // optional
inline constexpr char kBy[] = "by";            // optional
inline constexpr char kSignal[] = "signal";    // optional
inline constexpr char kMessage[] = "message";  // log only: parts, each {"text"} or {"value": N}
inline constexpr char kMessageText[] = "text";
inline constexpr char kMessageValue[] = "value";
inline constexpr char kValues[] = "values";    // log only
}  // namespace action

// A value a decision carries (a rule's, or a log's `{...}`).
namespace value {
inline constexpr char kExpr[] = "expr";
inline constexpr char kType[] = "type";
inline constexpr char kRuntime[] = "runtime";  // optional: a string's source, "cgroup_path"
}  // namespace value

}  // namespace mmp::manifest_key

#include "codegen/manifest.h"

#include <fmt/format.h>
#include <llvm/Support/SHA256.h>

#include <nlohmann/json.hpp>

#include "abi/mmp_abi.h"
#include "abi/mmp_manifest_keys.h"

namespace mmp {

namespace {

using nlohmann::json;
namespace key = manifest_key;

std::string sha256(const std::string& text) {
  auto digest = llvm::SHA256::hash(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  std::string hex;
  for (uint8_t b : digest) hex += fmt::format("{:02x}", b);
  return hex;
}

json rawValue(const Value& v) {
  // Quantities in their raw unit (see "units"), plus the text for people.
  return json{{key::quantity::kRaw, static_cast<uint64_t>(v.raw)}, {key::quantity::kText, v.str()}};
}

json valueInfo(const ast::Expr* e) {
  json j{{key::value::kExpr, ast::dump(*e)}, {key::value::kType, typeName(e->type)}};
  if (auto* p = llvm::dyn_cast<ast::PathExpr>(e); p && p->binding && p->binding->logOnly)
    j[key::value::kRuntime] = p->binding->kernel.runtime;
  return j;
}

json actionJson(const plan::Action& a) {
  json j{{key::action::kIndex, a.index},
          {key::action::kKind, ast::spelling(a.source->kind)},
          {key::action::kCode, a.kind},
          {key::action::kFlags, a.flags}};
  if (a.amount) j[key::action::kAmount] = ast::dump(*a.amount);
  if (!a.source->amongPatterns.empty()) j[key::action::kAmong] = a.source->amongPatterns;
  if (!a.source->key.empty()) j[key::action::kBy] = a.source->key;
  if (!a.source->signal.empty()) j[key::action::kSignal] = a.source->signal;
  if (a.source->kind == ast::ActionKind::Log) {
    json parts = json::array();
    size_t value = 0;
    for (const auto& p : a.source->parts) {
      if (p.expr && value < a.values.size()) parts.push_back({{key::action::kMessageValue, value++}});
      else if (!p.expr) parts.push_back({{key::action::kMessageText, p.text}});
    }
    j[key::action::kMessage] = parts;
    json values = json::array();
    for (const auto* v : a.values) values.push_back(valueInfo(v));
    j[key::action::kValues] = values;
  }
  return j;
}

json ruleJson(const plan::Rule& r) {
  json hooks = json::array();
  for (plan::Hook h : r.hooks) hooks.push_back(plan::hookName(h));
  json actions = json::array();
  for (const auto& a : r.actions) actions.push_back(actionJson(a));
  json values = json::array();
  for (const auto* v : r.values) values.push_back(valueInfo(v));
  json j{{key::rule::kId, r.id},
         {key::rule::kFile, r.file},
         {key::rule::kLine, r.line},
         {key::rule::kLocation, fmt::format("{}:{}", r.file, r.line)},
         {key::rule::kText, r.text},
         {key::rule::kSubject, r.event ? "event" : (r.system ? "system" : "memcg")},
         {key::rule::kScope, r.scopeBit},
         {key::rule::kHooks, hooks},
         {key::rule::kActions, actions},
         {key::rule::kValues, values},
         {key::rule::kCooldownNs, r.cooldownNs},
         {key::rule::kForNs, r.holdNs}};
  if (r.event) j[key::rule::kEvent] = *r.event;
  if (r.atMost) j[key::rule::kAtMost] = {{key::rule::kAtMostCount, r.atMost}, {key::rule::kAtMostPerNs, r.atMostPerNs}};
  // Where the last firing is kept: mmrun clears it when it drops a
  // decision for the rate limit, so that the cooldown is not spent.
  if (r.cooldownNs) j[key::rule::kCooldownWord] = r.lastWord();
  return j;
}

}  // namespace

std::string buildManifest(const plan::Plan& p, const std::string& sourceText) {
  const Settings& s = p.settings;
  namespace ks = key::settings;
  json settings{{ks::kIntervalNs, static_cast<uint64_t>(s.interval.raw)},
                {ks::kDryRun, s.dryRun},
                {ks::kReclaimStep,
                 {{ks::kReclaimStepType, typeName(s.reclaimStep.type)}, {ks::kReclaimStepValue, rawValue(s.reclaimStep)}}},
                {ks::kAllowLimit, s.allowLimit},
                {ks::kMaxActionsPerSecond, s.maxActionsPerSecond},
                {ks::kPressureTrigger, rawValue(s.pressureTrigger)},
                {ks::kInsnBudget, s.insnBudget}};
  json scopes = json::array();
  for (const auto& sc : p.scopes) scopes.push_back({{key::scope::kBit, sc.bit}, {key::scope::kPatterns, sc.patterns}});
  json snapshot = json::array();
  for (const Binding* b : p.snapshot) {
    const char* context = b->context == FieldContext::Memcg ? "memcg" : b->context == FieldContext::System ? "system" : "event";
    json f{{key::snapshot::kField, b->name}, {key::snapshot::kType, typeName(b->type)}, {key::snapshot::kContext, context}};
    if (!b->kernel.runtime.empty()) f[key::snapshot::kRuntime] = b->kernel.runtime;
    snapshot.push_back(f);
  }
  // The slots the programs read: the tables travel with them (mmrun knows
  // only the manifest), a few dozen names each.
  json slots = json::array();
  for (const SlotUse& u : slotsOf(p.snapshot))
    slots.push_back({{key::slot::kStruct, u.table->structName},
                     {key::slot::kMember, u.table->member},
                     {key::slot::kDirectLength, u.table->directLength},
                     {key::slot::kTracked, u.table->tracked},
                     {key::slot::kItem, u.item},
                     {key::slot::kFields, u.fields}});
  json rules = json::array();
  for (const auto& r : p.rules) rules.push_back(ruleJson(r));
  json preferences = json::array();
  for (const auto& pr : p.preferences)
    preferences.push_back({{key::preference::kMode, pr.mode}, {key::preference::kWhat, pr.what},
                           {key::preference::kPattern, pr.pattern}, {key::preference::kLocation, pr.location}});
  json programs = json::array();
  for (plan::Hook h : p.hooks) {
    json prog{{key::program::kHook, plan::hookName(h)}, {key::program::kSection, plan::hookSection(h)}};
    // Kernels without kprobes lose only what the stamp adds to the reclaim
    // tracepoints (reclaim asked by a task outside the cgroup).
    if (h == plan::Hook::ReclaimStamp)
      prog[key::program::kOptional] = "without it, memcg.since_reclaim sees only reclaim that the cgroup's own tasks start";
    programs.push_back(std::move(prog));
  }
  json m{{key::kFormat, MMP_MANIFEST_FORMAT},
         {key::kDecisionVersion, MMP_DECISION_VERSION},
         {key::kCompiler, std::string("mmpc ") + MMP_VERSION},
         {key::kSourceSha256, sha256(sourceText)},
         {key::kPolicy, p.name},
         {key::kUnits, {{"bytes", "B"}, {"percent", "0.001%"}, {"duration", "ns"}, {"count", "1"}, {"rate", "B/s"}, {"count rate", "0.001/s"}}},
         {key::kSettings, settings},
         {key::kProtect, p.protects},
         {key::kPreferences, preferences},
         {key::kScopes, scopes},
         {key::kSnapshot, snapshot},
         {key::kPrograms, programs},
         {key::kRules, rules}};
  if (!slots.empty()) m[key::kSlots] = slots;
  return m.dump(2);
}

}  // namespace mmp

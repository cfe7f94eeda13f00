#include "codegen/manifest.h"

#include <fmt/format.h>
#include <llvm/Support/SHA256.h>

#include <nlohmann/json.hpp>

#include "abi/mmp_abi.h"

namespace mmp {

namespace {

using nlohmann::json;

std::string sha256(const std::string& text) {
  auto digest = llvm::SHA256::hash(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  std::string hex;
  for (uint8_t b : digest) hex += fmt::format("{:02x}", b);
  return hex;
}

json rawValue(const Value& v) {
  // Quantities in their raw unit (see "units"), plus the text for people.
  return json{{"raw", static_cast<uint64_t>(v.raw)}, {"text", v.str()}};
}

json valueInfo(const ast::Expr* e) {
  json j{{"expr", ast::dump(*e)}, {"type", typeName(e->type)}};
  if (auto* p = llvm::dyn_cast<ast::PathExpr>(e); p && p->binding && p->binding->logOnly)
    j["runtime"] = p->binding->kernel.value("runtime", "");
  return j;
}

json actionJson(const plan::Action& a) {
  json j{{"index", a.index}, {"kind", ast::spelling(a.source->kind)}, {"code", a.kind}, {"flags", a.flags}};
  if (a.amount) j["amount"] = ast::dump(*a.amount);
  if (!a.source->amongPatterns.empty()) j["among"] = a.source->amongPatterns;
  if (!a.source->key.empty()) j["by"] = a.source->key;
  if (!a.source->signal.empty()) j["signal"] = a.source->signal;
  if (a.source->kind == ast::ActionKind::Log) {
    json parts = json::array();
    size_t value = 0;
    for (const auto& p : a.source->parts) {
      if (p.expr && value < a.values.size()) parts.push_back({{"value", value++}});
      else if (!p.expr) parts.push_back({{"text", p.text}});
    }
    j["message"] = parts;
    j["values"] = json::array();
    for (const auto* v : a.values) j["values"].push_back(valueInfo(v));
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
  json j{{"id", r.id},          {"file", r.file},       {"line", r.line},       {"location", fmt::format("{}:{}", r.file, r.line)},
         {"text", r.text},      {"subject", r.event ? "event" : (r.system ? "system" : "memcg")},
         {"scope", r.scopeBit}, {"hooks", hooks},       {"actions", actions},   {"values", values},
         {"cooldown_ns", r.cooldownNs}, {"for_ns", r.holdNs}};
  if (r.event) j["event"] = *r.event;
  if (r.atMost) j["at_most"] = {{"count", r.atMost}, {"per_ns", r.atMostPerNs}};
  // Where the last firing is kept: mmrun clears it when it drops a
  // decision for the rate limit, so that the cooldown is not spent.
  if (r.cooldownNs) j["cooldown_word"] = r.lastWord();
  return j;
}

}  // namespace

std::string buildManifest(const plan::Plan& p, const std::string& sourceText) {
  const Settings& s = p.settings;
  json settings{{"interval_ns", static_cast<uint64_t>(s.interval.raw)},
                {"dry_run", s.dryRun},
                {"reclaim_step", {{"type", typeName(s.reclaimStep.type)}, {"value", rawValue(s.reclaimStep)}}},
                {"allow_limit", s.allowLimit},
                {"max_actions_per_second", s.maxActionsPerSecond},
                {"pressure_trigger", rawValue(s.pressureTrigger)},
                {"insn_budget", s.insnBudget}};
  json scopes = json::array();
  for (const auto& sc : p.scopes) scopes.push_back({{"bit", sc.bit}, {"patterns", sc.patterns}});
  json snapshot = json::array();
  for (const Binding* b : p.snapshot) {
    json f{{"field", b->name}, {"type", typeName(b->type)}, {"context", b->context == FieldContext::Memcg ? "memcg" : b->context == FieldContext::System ? "system" : "event"}};
    if (b->kernel.contains("runtime")) f["runtime"] = b->kernel["runtime"];
    snapshot.push_back(f);
  }
  json rules = json::array();
  for (const auto& r : p.rules) rules.push_back(ruleJson(r));
  json programs = json::array();
  for (plan::Hook h : p.hooks) {
    json prog{{"hook", plan::hookName(h)}, {"section", plan::hookSection(h)}};
    // Kernels without kprobes lose only what the stamp adds to the reclaim
    // tracepoints (reclaim asked by a task outside the cgroup).
    if (h == plan::Hook::ReclaimStamp)
      prog["optional"] = "without it, memcg.since_reclaim sees only reclaim that the cgroup's own tasks start";
    programs.push_back(std::move(prog));
  }
  json m{{"format", MMP_MANIFEST_FORMAT},
         {"decision_version", MMP_DECISION_VERSION},
         {"compiler", std::string("mmpc ") + MMP_VERSION},
         {"source_sha256", sha256(sourceText)},
         {"policy", p.name},
         {"units", {{"bytes", "B"}, {"percent", "0.001%"}, {"duration", "ns"}, {"count", "1"}, {"rate", "B/s"}}},
         {"settings", settings},
         {"protect", p.protects},
         {"scopes", scopes},
         {"snapshot", snapshot},
         {"programs", programs},
         {"rules", rules}};
  return m.dump(2);
}

}  // namespace mmp

// `set NAME = value`: the policy's settings (docs/language.md section 7).
#include <fmt/format.h>

#include "check/checker.h"
#include "support/suggest.h"

namespace mmp {

using namespace ast;

namespace {

struct SettingSpec {
  const char* name;
  std::vector<Type> types;
  const char* example;
};

const std::vector<SettingSpec>& settingSpecs() {
  static const std::vector<SettingSpec> specs = {
      {"interval", {Type::Duration}, "set interval = 1s"},
      {"dry_run", {Type::Bool}, "set dry_run = true"},
      {"reclaim_step", {Type::Bytes, Type::Percent}, "set reclaim_step = 64MiB"},
      {"allow_limit", {Type::Bool}, "set allow_limit = true"},
      {"max_actions_per_second", {Type::Count}, "set max_actions_per_second = 10"},
      {"pressure_trigger", {Type::Percent}, "set pressure_trigger = 10%"},
      {"insn_budget", {Type::Count}, "set insn_budget = 4096"},
  };
  return specs;
}

constexpr __int128 kMinInterval = 10'000'000;  // 10 ms: the periodic walk's floor
constexpr __int128 kMaxInsnBudget = 1'000'000; // the kernel's limit for one program

}  // namespace

void Checker::checkSetting(SetDecl& s, Settings& settings) {
  const SettingSpec* spec = nullptr;
  for (const auto& candidate : settingSpecs())
    if (s.name == candidate.name) spec = &candidate;
  if (!spec) {
    std::vector<std::string> names;
    for (const auto& c : settingSpecs()) names.emplace_back(c.name);
    auto& d = diags_.report(DiagCode::E0100, s.nameRange, fmt::format("unknown setting `{}`", s.name));
    if (auto best = closestMatch(s.name, names)) d.help(fmt::format("did you mean `{}`?", *best));
    else d.help("the settings are interval, dry_run, reclaim_step, allow_limit, max_actions_per_second, pressure_trigger and insn_budget");
    return;
  }
  std::string what = fmt::format("`set {}`", s.name);
  ExprContext ctx{Site::Constant, nullptr, what.c_str(), nullptr};
  Type t = checkExpr(*s.value, ctx);
  if (t == Type::Error) return;
  if (std::find(spec->types.begin(), spec->types.end(), t) == spec->types.end()) {
    std::string want = typeName(spec->types[0]);
    if (spec->types.size() > 1) want += fmt::format(" or {}", typeName(spec->types[1]));
    diags_.report(DiagCode::E0200, s.value->range, fmt::format("`{}` takes {}, found `{}`", s.name, want, typeName(t)))
        .help(fmt::format("write `{}`", spec->example));
    return;
  }
  if (!s.value->constant) return;
  const Value& v = *s.value->constant;
  auto outOfRange = [&](const std::string& why) {
    diags_.report(DiagCode::E0204, s.value->range, fmt::format("`{}` cannot be {}: {}", s.name, v.str(), why))
        .help(fmt::format("write `{}`", spec->example));
  };
  if (t == Type::Percent && v.raw > static_cast<__int128>(kPercentWhole)) {
    diags_.report(DiagCode::E0201, s.value->range, fmt::format("`{}` is more than 100%", v.str()))
        .help(fmt::format("write `{}`", spec->example));
    return;
  }
  if (s.name == "interval") {
    if (v.raw < kMinInterval) return outOfRange("the interval is at least 10ms");
    settings.interval = v;
  } else if (s.name == "dry_run") {
    settings.dryRun = v.isTrue();
  } else if (s.name == "reclaim_step") {
    if (v.raw == 0) return outOfRange("a reclaim step must reclaim something");
    settings.reclaimStep = v;
  } else if (s.name == "allow_limit") {
    settings.allowLimit = v.isTrue();
  } else if (s.name == "max_actions_per_second") {
    if (v.raw == 0) return outOfRange("no action could ever be taken");
    settings.maxActionsPerSecond = static_cast<uint64_t>(v.raw);
  } else if (s.name == "pressure_trigger") {
    if (v.raw == 0) return outOfRange("a trigger at 0% would fire all the time");
    settings.pressureTrigger = v;
  } else if (s.name == "insn_budget") {
    if (v.raw < 64 || v.raw > kMaxInsnBudget) return outOfRange("the budget lies between 64 and 1000000 instructions");
    settings.insnBudget = static_cast<uint64_t>(v.raw);
  }
}

}  // namespace mmp

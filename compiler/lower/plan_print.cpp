// `--emit=plan`: the plan as text, one fact per line.
#include <fmt/format.h>

#include "abi/mmp_abi.h"
#include "lower/plan.h"

namespace mmp::plan {

namespace {

std::string flagNames(uint32_t f) {
  static const std::pair<uint32_t, const char*> names[] = {
      {MMP_RECLAIM_ANON, "anon"},       {MMP_RECLAIM_FILE, "file"},         {MMP_RECLAIM_FIRST, "first"},
      {MMP_RECLAIM_ONLY, "only"},       {MMP_KILL_LARGEST, "largest"},      {MMP_KILL_OLDEST, "oldest"},
      {MMP_KILL_YOUNGEST, "youngest"},  {MMP_KILL_GROWING, "growing"},      {MMP_KILL_CGROUP, "cgroup"},
      {MMP_SUBJECT_SYSTEM, "system"},   {MMP_ARG_SHARE, "share-of-usage"},  {MMP_ARG_DEFAULT, "default-step"},
      {MMP_KILL_OOM_SCORE, "by-oom_score"}, {MMP_KILL_SWAP, "by-swap"},     {MMP_KILL_RECLAIM, "by-reclaim"},
      {MMP_KILL_PRESSURE, "by-pressure"},
      {MMP_KILL_SIZE_OR_GROWTH, "by-size_or_growth"}, {MMP_KILL_OVER_REQUEST, "by-over_request"},
      {MMP_KILL_ABOVE, "above"},
      {MMP_KILL_IN_KERNEL, "in-kernel"}};
  std::string s;
  for (const auto& [bit, name] : names)
    if (f & bit) s += (s.empty() ? "" : "|") + std::string(name);
  if (uint32_t sig = MMP_KILL_SIGNAL(f)) s += fmt::format("{}signal={}", s.empty() ? "" : "|", sig);
  return s.empty() ? "-" : s;
}

std::string duration(uint64_t ns) { return Value::of(Type::Duration, ns).str(); }

std::string hooks(const std::set<Hook>& hs) {
  std::string s;
  for (Hook h : hs) s += (s.empty() ? "" : ",") + std::string(hookName(h));
  return s;
}

std::string valueName(const ast::Expr* e) { return ast::dump(*e); }

}  // namespace

std::string printPlan(const Plan& p) {
  const Settings& st = p.settings;
  std::string out = fmt::format("plan {}\n", p.name);
  out += fmt::format("  settings interval={} dry_run={} reclaim_step={} allow_limit={} max_actions_per_second={} "
                     "pressure_trigger={} insn_budget={}\n",
                     st.interval.str(), st.dryRun, st.reclaimStep.str(), st.allowLimit, st.maxActionsPerSecond,
                     st.pressureTrigger.str(), st.insnBudget);
  for (const auto& pa : p.params)
    out += fmt::format("  param {} = {}{}\n", pa.name, pa.value,
                       pa.given ? fmt::format(" (set by the import; default {})", pa.declared) : " (default)");
  for (const auto& pr : p.protects) out += fmt::format("  protect {}\n", pr);
  for (const auto& pr : p.preferences)
    out += fmt::format("  {} {} \"{}\" ({})\n", pr.mode, pr.what, pr.pattern, pr.location);
  for (const auto& s : p.scopes) out += fmt::format("  scope {} {}\n", s.bit, fmt::join(s.patterns, " "));
  for (size_t i = 0; i < p.snapshot.size(); ++i)
    out += fmt::format("  snapshot[{}] {} {}\n", i, p.snapshot[i]->name, typeName(p.snapshot[i]->type));
  out += fmt::format("  hooks {}\n", hooks(p.hooks));
  if (p.stateWords) out += fmt::format("  state-row {} words\n", p.stateWords);
  for (const auto& r : p.rules) {
    out += fmt::format("  rule {} {}:{} {} scope={} hooks={}\n", r.id, r.file, r.line,
                       r.event ? "on " + *r.event : (r.system ? "system" : "memcg"), r.scopeBit, hooks(r.hooks));
    if (r.condition) out += fmt::format("    when {}\n", ast::dump(*r.condition));
    if (r.unless) out += fmt::format("    unless {}\n", ast::dump(*r.unless));
    if (r.holdNs) out += fmt::format("    for {}\n", duration(r.holdNs));
    out += fmt::format("    cooldown {}\n", duration(r.cooldownNs));
    if (r.atMost) out += fmt::format("    at-most {} per {}\n", r.atMost, duration(r.atMostPerNs));
    for (const auto* c : r.rates) out += fmt::format("    rate-slot {} {}\n", r.rateSlot(*c), ast::dump(*c));
    if (r.stateWords()) out += fmt::format("    state-words {}..{}\n", r.stateBase, r.stateBase + r.stateWords() - 1);
    std::vector<std::string> values;
    for (const auto* v : r.values) values.push_back(valueName(v));
    if (!values.empty()) out += fmt::format("    values {}\n", fmt::join(values, " "));
    for (const auto& a : r.actions) {
      out += fmt::format("    action {} {} flags={}", a.index, ast::spelling(a.source->kind), flagNames(a.flags));
      if (a.amount) out += fmt::format(" amount={}", ast::dump(*a.amount));
      std::vector<std::string> vs;
      for (const auto* v : a.values) vs.push_back(valueName(v));
      if (!vs.empty()) out += fmt::format(" values={}", fmt::join(vs, ","));
      out += "\n";
    }
  }
  return out;
}

}  // namespace mmp::plan

#include "metrics.h"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <llvm/Support/SHA256.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "abi/mmp_counters.h"
#include "log.h"

namespace mmp::runtime {

namespace {

constexpr Outcome kAllOutcomes[] = {Outcome::Enacted,    Outcome::DryRun,    Outcome::Protected,
                                    Outcome::OutOfScope, Outcome::RateLimited, Outcome::Overruled,
                                    Outcome::Superseded, Outcome::NoVictim, Outcome::Failed};

Labels ruleLabels(const std::string& policy, const ManifestRule& rule) {
  return {{"policy", policy}, {"rule", rule.location}};
}

// The kinds of action a rule may decide, from the manifest, so that every
// series exists (at 0) before its first decision: PromQL's increase()
// over a series that appears at 1 sees no increase.
std::vector<std::string> actionKinds(const ManifestRule& rule) {
  std::vector<std::string> kinds;
  for (const auto& a : rule.actions) {
    const std::string& k = a.kind;
    if (!k.empty() && std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
  }
  return kinds;
}

const RuleCounters* countersOf(const Enactor& e, uint32_t id) {
  auto it = e.counters().find(id);
  return it == e.counters().end() ? nullptr : &it->second;
}

// The rules' counters as the BPF programs count them (summed over CPUs).
void bpfRuleCounters(Exposition& x, const std::vector<PolicyView>& policies) {
  struct Family {
    const char* name;
    const char* help;
    __u64 mmp_rule_counters::*field;
  };
  const Family families[] = {
      {"mmp_rule_evaluations_total", "Times a rule's condition was evaluated (by the BPF programs)",
       &mmp_rule_counters::evaluations},
      {"mmp_rule_fired_total", "Times a rule's condition held and it decided", &mmp_rule_counters::firings},
      {"mmp_rule_decisions_lost_total", "Decisions a full ring buffer refused: never enacted",
       &mmp_rule_counters::drops},
  };
  for (const auto& f : families) {
    x.family(f.name, MetricType::Counter, f.help);
    for (const auto& p : policies) {
      const Manifest& m = p.policy->manifest();
      int fd = bpf_map__fd(p.policy->map(MMP_MAP_COUNTERS));
      for (const auto& rule : m.rules) {
        struct mmp_rule_counters c {};
        if (fd >= 0) mmp_read_counters(fd, rule.id, &c);
        x.sample(f.name, ruleLabels(m.policy, rule), static_cast<double>(c.*f.field));
      }
    }
  }
}

void decisions(Exposition& x, const std::vector<PolicyView>& policies) {
  x.family("mmp_decisions_total", MetricType::Counter,
           "Decisions that reached mmrun, by action and what became of them");
  for (const auto& p : policies) {
    const Manifest& m = p.policy->manifest();
    for (const auto& rule : m.rules) {
      const RuleCounters* c = countersOf(*p.enactor, rule.id);
      std::vector<std::string> kinds = actionKinds(rule);
      if (c)
        for (const auto& [action, counts] : c->decisions)
          if (std::find(kinds.begin(), kinds.end(), action) == kinds.end()) kinds.push_back(action);
      for (const auto& action : kinds)
        for (Outcome o : kAllOutcomes) {
          uint64_t n = 0;
          if (c)
            if (auto it = c->decisions.find(action); it != c->decisions.end()) n = it->second[static_cast<size_t>(o)];
          Labels l = ruleLabels(m.policy, rule);
          l.emplace_back("action", action);
          l.emplace_back("outcome", outcomeName(o));
          x.sample("mmp_decisions_total", l, static_cast<double>(n));
        }
    }
  }
}

void latency(Exposition& x, const std::vector<PolicyView>& policies) {
  x.family("mmp_action_latency_seconds", MetricType::Histogram,
           "From the BPF program's decision (its bpf_ktime_get_ns) to the action's completion");
  const Histogram none(latencyBuckets());
  for (const auto& p : policies) {
    const Manifest& m = p.policy->manifest();
    for (const auto& rule : m.rules) {
      const RuleCounters* c = countersOf(*p.enactor, rule.id);
      for (const auto& action : actionKinds(rule)) {
        const Histogram* h = &none;
        if (c)
          if (auto it = c->latency.find(action); it != c->latency.end()) h = &it->second;
        Labels l = ruleLabels(m.policy, rule);
        l.emplace_back("action", action);
        x.histogram("mmp_action_latency_seconds", l, *h);
      }
    }
  }
}

void hooks(Exposition& x, const std::vector<PolicyView>& policies) {
  x.family("mmp_pre_kill_hooks_total", MetricType::Counter,
           "--pre-kill commands run, by result: ok (exited 0) or failed (did not start, exited non-zero, timed out)");
  for (const auto& p : policies) {
    const std::string& policy = p.policy->manifest().policy;
    x.sample("mmp_pre_kill_hooks_total", {{"policy", policy}, {"result", "ok"}},
             static_cast<double>(p.enactor->hooksOk()));
    x.sample("mmp_pre_kill_hooks_total", {{"policy", policy}, {"result", "failed"}},
             static_cast<double>(p.enactor->hooksFailed()));
  }
}

void logs(Exposition& x) {
  x.family("mmp_log_records_dropped_total", MetricType::Counter,
           "Log records dropped because stdout did not keep up (the queue to it was full)");
  x.sample("mmp_log_records_dropped_total", {}, static_cast<double>(logRecordsDropped()));
}

void programs(Exposition& x, const std::vector<PolicyView>& policies) {
  std::vector<std::pair<Labels, ProgramStats>> all;
  for (const auto& p : policies)
    for (auto& s : p.policy->programStats())
      all.push_back({{{"policy", p.policy->manifest().policy}, {"program", s.name}}, s});
  x.family("mmp_bpf_runs_total", MetricType::Counter,
           "Runs of a policy's BPF program, as the kernel counts them while BPF statistics are on");
  for (const auto& [l, s] : all) x.sample("mmp_bpf_runs_total", l, static_cast<double>(s.runs));
  x.family("mmp_bpf_run_time_seconds_total", MetricType::Counter,
           "Time spent in a policy's BPF program, as the kernel counts it while BPF statistics are on");
  for (const auto& [l, s] : all)
    x.sample("mmp_bpf_run_time_seconds_total", l, static_cast<double>(s.runTimeNs) / 1e9);
}

void policyGauges(Exposition& x, const std::vector<PolicyView>& policies) {
  x.family("mmp_policy_info", MetricType::Info, "The loaded policy: its object's SHA-256 and mmrun's version");
  for (const auto& p : policies)
    x.sample("mmp_policy_info",
             {{"policy", p.policy->manifest().policy}, {"object_sha256", p.objectSha256}, {"mmp_version", MMP_VERSION}},
             1);
  x.family("mmp_last_reload_timestamp_seconds", MetricType::Gauge,
           "When the policy's object was last loaded (at start or by a reload), in Unix time");
  for (const auto& p : policies)
    x.sample("mmp_last_reload_timestamp_seconds", {{"policy", p.policy->manifest().policy}}, p.loadedAt);
  x.family("mmp_cgroups_watched", MetricType::Gauge, "Cgroups in at least one of the policy's scopes");
  for (const auto& p : policies)
    x.sample("mmp_cgroups_watched", {{"policy", p.policy->manifest().policy}},
             static_cast<double>(p.cgroupsWatched));
}

}  // namespace

std::string renderMetrics(const std::vector<PolicyView>& policies, bool openMetrics) {
  Exposition x(openMetrics);
  policyGauges(x, policies);
  bpfRuleCounters(x, policies);
  decisions(x, policies);
  latency(x, policies);
  hooks(x, policies);
  logs(x);
  programs(x, policies);
  return x.finish();
}

std::string fileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return "";
  auto digest = llvm::SHA256::hash(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  std::string hex;
  for (uint8_t b : digest) hex += fmt::format("{:02x}", b);
  return hex;
}

}  // namespace mmp::runtime

// From a decision to an action: the subject, the protections checked
// again, dry-run, the rate limit, the write, and one log record.
#pragma once

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "abi/mmp_abi.h"
#include "actions/actions.h"
#include "arbiter.h"
#include "cgroupfs.h"
#include "exposition.h"
#include "log.h"
#include "manifest.h"
#include "rate_limit.h"
#include "scopes.h"

namespace mmp::runtime {

// What became of a decision: one per log record's outcome, a dropped one
// split by why (the metrics' `outcome` label, outcomeName).
enum class Outcome { Enacted, DryRun, Protected, OutOfScope, RateLimited, Overruled, Superseded, NoVictim, Failed };
inline constexpr size_t kOutcomes = 9;
const char* outcomeName(Outcome o);  // "enacted", "dry_run", "protected", ...

// The buckets of mmp_action_latency_seconds: from the BPF program's
// decision to the action's completion, 100 us to 10 s.
std::vector<double> latencyBuckets();

struct RuleCounters {
  // By action ("kill", "log", ...), then by outcome.
  std::map<std::string, std::array<uint64_t, kOutcomes>> decisions;
  // By action: the decisions that were carried out (enacted, superseded,
  // failed in the act), from the decision's time to the action's end.
  std::map<std::string, Histogram> latency;
  uint64_t total(Outcome o) const;
};

struct EnactOptions {
  bool dryRun = false;
  LogFormat format = LogFormat::Text;
  Arbiter* arbiter = nullptr;  // when several policies run
  size_t rank = 0;             // this policy's place on the command line, then in --policy-dir
  // Replay: the cgroups are the trace's (never listed from the system) and
  // a record's time is its decision's, so that the output is deterministic.
  bool replay = false;
  // mmp_state: a decision dropped for the rate limit gives its rule's
  // cooldown back (-1: none, as in replay).
  int stateFd = -1;
  // --pre-kill: a command run right before each kill, and its time limit.
  std::string preKill = {};
  std::chrono::milliseconds preKillLimit{5000};
  // The policy's `prefer` and `avoid`: they rank every kill's candidates.
  Preferences preferences = {};
  // `mmrun explain`: a decision made up, not the program's: no values
  // (the condition was not evaluated), no latency.
  bool explain = false;
  // A SIGKILL's victims raised to exit sooner (urgent.h, hastenExit);
  // mmrun load --no-realtime turns it off with the rest.
  bool hasten = false;
};

class Enactor {
public:
  Enactor(const Manifest& m, const Hierarchy& h, const Scopes& s, EnactOptions o);

  // The cgroups as of the last walk; decisions name them by id.
  void setCgroups(std::vector<Cgroup> cgroups);
  // Its place among the policies, when --policy-dir changed them.
  void setRank(size_t rank) { opts_.rank = rank; }
  void onDecision(const struct mmp_decision& d);
  // At each walk: memory.stat pgscan of the cgroups a `kill cgroup by
  // reclaim` of this policy may choose, for its rate (cgroup v2 only).
  void sampleReclaim();
  // Each kill of the policy chosen once now, pretending (nothing killed,
  // nothing logged or counted): the code of a kill, and the dynamic
  // linker's and the CPU's part in it, are then warm for the real one,
  // which comes when the machine is slowest (bench/RESULTS.md).
  void rehearse();
  const std::map<uint32_t, RuleCounters>& counters() const { return counters_; }
  // The last kRecentDecisions decision records, oldest first, as JSON
  // (`mmrun status`).
  static constexpr size_t kRecentDecisions = 10;
  const std::deque<nlohmann::json>& recent() const { return recent_; }
  // --pre-kill hooks run: exited 0, or not (failed to start, non-zero, timed out).
  uint64_t hooksOk() const { return hooksOk_; }
  uint64_t hooksFailed() const { return hooksFailed_; }

private:
  const Cgroup* byId(uint64_t id);
  std::vector<const Cgroup*> subtree(const Cgroup& c) const;
  std::vector<const Cgroup*> scopeTargets(uint32_t bit, bool leavesOnly) const;
  std::vector<const Cgroup*> leavesBelow(const std::vector<const Cgroup*>& targets,
                                         std::vector<CandidateRow>& excluded) const;
  std::optional<double> pgscanRate(uint64_t id, uint64_t pages) const;
  // `pretend` (a dry run): choose the victim and say so, kill nothing.
  // `rec`: the decision's record so far, for the --pre-kill hook.
  ActionResult killCgroupIn(const struct mmp_decision& d, const std::vector<const Cgroup*>& targets,
                            const LogRecord& rec, bool pretend);
  ActionResult killCgroupOf(const struct mmp_decision& d, const std::vector<const Cgroup*>& given,
                            std::vector<CandidateRow> excluded, const LogRecord& rec, bool pretend);
  // --pre-kill: runs the hook for the victim (a cgroup, and a pid for a
  // process kill) and logs what became of it; the kill goes on either way.
  void preKill(const LogRecord& rec, const std::string& cgroup, int pid, const std::string& why);
  uint64_t amountFor(const struct mmp_decision& d, const Cgroup& target) const;
  ActionResult perform(const struct mmp_decision& d, const std::vector<const Cgroup*>& targets, LogRecord& rec,
                       bool pretend = false);
  // A kill the reclaim hook made itself (`in kernel`): logged, counted in
  // the rate limit, its victim hastened; nothing left to do.
  Outcome killedInKernel(const struct mmp_decision& d, LogRecord& rec, bool& acted);

  const Manifest& m_;
  const Hierarchy& h_;
  const Scopes& scopes_;
  EnactOptions opts_;
  std::vector<Cgroup> cgroups_;
  std::map<uint64_t, size_t> index_;
  std::set<std::string> parents_;  // paths of the cgroups that have a child
  // With a `kill cgroup` rule: each cgroup's usage and cgroup.events, held
  // open for the kill (held_files.h); and the scopes of such system rules,
  // whose candidates each listing works out ahead of a kill.
  bool holdKillFiles_ = false;
  HeldFiles held_;
  std::set<uint32_t> warmScopes_;
  // scopeTargets and leavesBelow, once per listing (setCgroups clears
  // them): they compare every path with every other, tens of ms in a slow
  // guest under pressure, and a kill asks for them as memory runs out.
  struct Leaves {
    std::vector<const Cgroup*> leaves;
    std::vector<CandidateRow> excluded;
  };
  mutable std::map<std::pair<uint32_t, bool>, std::vector<const Cgroup*>> targetsCache_;
  mutable std::map<std::vector<const Cgroup*>, Leaves> leavesCache_;
  // pgscan samples per cgroup id, oldest first (sampleReclaim), and the
  // scope bits of the rules that kill cgroups by reclaim.
  struct PgscanSample {
    uint64_t pages;
    std::chrono::steady_clock::time_point at;
  };
  std::map<uint64_t, std::deque<PgscanSample>> pgscan_;
  std::set<uint32_t> reclaimScopes_;
  // `kill cgroup among PATTERNS`: by (rule, action index).
  std::map<std::pair<uint32_t, uint32_t>, std::vector<ScopePattern>> among_;
  std::vector<ScopePattern> reclaimAmong_;  // among patterns of kills by reclaim
  std::vector<const Cgroup*> amongCandidates(const std::vector<ScopePattern>& patterns,
                                             std::vector<CandidateRow>& excluded) const;
  std::map<uint32_t, RuleCounters> counters_;
  std::deque<nlohmann::json> recent_;
  uint64_t hooksOk_ = 0, hooksFailed_ = 0;
  RateLimit limit_;
  size_t stateWords_ = 0;  // of an mmp_state row
  void giveCooldownBack(const ManifestRule& rule, const struct mmp_decision& d, bool system);
  // What onDecision does, but writing the record: what became of it, and
  // whether the action was carried out (timed for the latency).
  Outcome decide(const struct mmp_decision& d, LogRecord& rec, bool& acted);
};

}  // namespace mmp::runtime

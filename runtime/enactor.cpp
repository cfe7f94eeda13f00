#include "enactor.h"

#include <bpf/bpf.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <string_view>

#include "actions/actions.h"
#include "actions/hook.h"
#include "actions/victims.h"
#include "urgent.h"

namespace mmp::runtime {

namespace {

std::string actionName(uint16_t a) {
  switch (static_cast<enum mmp_action>(a)) {
#define MMP_ACTION_ROW(kind, code, spelling, cooldown, v2file) \
  case code: return spelling;
#include "abi/mmp_actions.def"
#undef MMP_ACTION_ROW
  }
  return fmt::format("action#{}", a);
}

bool isAncestor(const std::string& a, const std::string& b) {
  return a == "/" ? b != "/" : b.rfind(a + "/", 0) == 0;
}

std::string parentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

// The rate of pgscan is taken over at least this long: a decision comes
// right after the walk that sampled, and a few milliseconds would measure
// noise. A sample this old or older is kept for the next decision.
constexpr std::chrono::milliseconds kMinRateWindow{250};

}  // namespace

Enactor::Enactor(const Manifest& m, const Hierarchy& h, const Scopes& s, EnactOptions o)
    : m_(m), h_(h), scopes_(s), opts_(o), limit_(m.settings.maxActionsPerSecond) {
  if (opts_.stateFd >= 0) {
    struct bpf_map_info info {};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(opts_.stateFd, &info, &len) == 0) stateWords_ = info.value_size / 8;
  }
  // The manifest lists each rule's actions with their flags: the rules whose
  // kill chooses a cgroup by reclaim activity need pgscan's history.
  const auto& rules = m.rules;
  for (uint32_t r = 0; r < rules.size(); ++r)
    for (const auto& a : rules[r].actions) {
      if (a.code != MMP_ACTION_KILL || !(a.flags & MMP_KILL_CGROUP)) continue;
      holdKillFiles_ = !opts_.replay && !opts_.explain;
      if (rules[r].subject == "system" && a.among.empty()) warmScopes_.insert(rules[r].scope);
      std::vector<ScopePattern> among = parsePatterns(a.among);
      bool byReclaim = a.flags & MMP_KILL_RECLAIM;
      if (byReclaim && among.empty()) reclaimScopes_.insert(rules[r].scope);
      if (byReclaim) reclaimAmong_.insert(reclaimAmong_.end(), among.begin(), among.end());
      if (!among.empty()) among_[{r, a.index}] = std::move(among);
    }
}

void Enactor::setCgroups(std::vector<Cgroup> cgroups) {
  cgroups_ = std::move(cgroups);
  index_.clear();
  for (size_t i = 0; i < cgroups_.size(); ++i) index_[cgroups_[i].id] = i;
  parents_.clear();
  for (const auto& c : cgroups_)
    if (c.path != "/") parents_.insert(parentOf(c.path));
  targetsCache_.clear();
  leavesCache_.clear();
  if (holdKillFiles_) {
    std::vector<std::string> dirs;
    for (const auto& c : cgroups_) dirs.push_back(c.dir);
    std::vector<std::string> files{usageFile(h_)};
    if (h_.version == CgroupVersion::V2) files.push_back("cgroup.events");
    held_.hold(dirs, files);
    // A system rule's candidates, worked out now rather than at its kill.
    for (uint32_t bit : warmScopes_) {
      std::vector<CandidateRow> excluded;
      leavesBelow(scopeTargets(bit, true), excluded);
    }
  }
}

void Enactor::rehearse() {
  for (const auto& rule : m_.rules)
    for (const auto& a : rule.actions) {
      if (a.code != MMP_ACTION_KILL) continue;
      struct mmp_decision d {};
      d.version = MMP_DECISION_VERSION;
      d.action = MMP_ACTION_KILL;
      d.rule = rule.id;
      d.action_index = a.index;
      d.flags = a.flags;
      std::vector<const Cgroup*> targets;
      if (d.flags & MMP_SUBJECT_SYSTEM) {
        targets = scopeTargets(rule.scope, d.flags & MMP_KILL_CGROUP);
      } else {
        for (const auto& c : cgroups_)
          if (targets.empty() && scopes_.inScope(rule.scope, c.path) && !scopes_.isProtected(c.path))
            targets.push_back(&c);
        if (targets.empty()) continue;
      }
      LogRecord rec;
      rec.policy = m_.policy;
      rec.rule = rule.location;
      rec.action = "kill";
      rec.detail = perform(d, targets, rec, true).detail;
      (void)logJson(rec, "");
    }
}

void Enactor::sampleReclaim() {
  if ((reclaimScopes_.empty() && reclaimAmong_.empty()) || h_.version != CgroupVersion::V2 || opts_.replay) return;
  auto now = std::chrono::steady_clock::now();
  std::map<uint64_t, std::deque<PgscanSample>> kept;  // gone cgroups drop out
  for (const auto& c : cgroups_) {
    // The candidates: unprotected leaves in or below a scope of such a
    // rule, and the cgroups its `among` names.
    if (scopes_.isProtected(c.path)) continue;
    bool reach = false;
    for (const auto& p : reclaimAmong_) reach |= matches(p, c.path);
    if (parents_.count(c.path) && !reach) continue;
    for (std::string p = c.path; !reach; p = parentOf(p)) {
      for (uint32_t bit : reclaimScopes_) reach |= scopes_.inScope(bit, p);
      if (p == "/") break;
    }
    if (!reach) continue;
    auto pages = cgroupPgscan(h_, c.dir);
    if (!pages) continue;
    auto& samples = kept[c.id];
    if (auto it = pgscan_.find(c.id); it != pgscan_.end()) samples = std::move(it->second);
    samples.push_back({*pages, now});
    // Keep the newest sample that is old enough for a rate, and those after it.
    while (samples.size() > 2 && now - samples[1].at >= kMinRateWindow) samples.pop_front();
  }
  pgscan_ = std::move(kept);
}

std::optional<double> Enactor::pgscanRate(uint64_t id, uint64_t pages) const {
  auto it = pgscan_.find(id);
  if (it == pgscan_.end()) return std::nullopt;
  auto now = std::chrono::steady_clock::now();
  for (auto s = it->second.rbegin(); s != it->second.rend(); ++s) {
    double seconds = std::chrono::duration<double>(now - s->at).count();
    if (now - s->at >= kMinRateWindow)
      return static_cast<double>(pages > s->pages ? pages - s->pages : 0) / seconds;
  }
  return std::nullopt;  // only a sample of a moment ago
}

const Cgroup* Enactor::byId(uint64_t id) {
  if (auto it = index_.find(id); it != index_.end()) return &cgroups_[it->second];
  if (opts_.replay) return nullptr;
  setCgroups(listCgroups(h_));  // a cgroup made since the last walk
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &cgroups_[it->second];
}

std::vector<const Cgroup*> Enactor::subtree(const Cgroup& c) const {
  std::vector<const Cgroup*> out;
  for (const auto& x : cgroups_)
    if (x.path == c.path || isAncestor(c.path, x.path))
      if (!scopes_.isProtected(x.path)) out.push_back(&x);
  return out;
}

// A system rule's targets: the cgroups its scope names directly (those
// whose parent is not in the scope), or the leaves of the scope.
std::vector<const Cgroup*> Enactor::scopeTargets(uint32_t bit, bool leavesOnly) const {
  auto [cached, fresh] = targetsCache_.try_emplace({bit, leavesOnly});
  if (!fresh) return cached->second;
  std::vector<const Cgroup*> in;
  std::set<std::string_view> inPaths, aboveIn;  // in scope; an ancestor of one in scope
  for (const auto& c : cgroups_)
    if (scopes_.inScope(bit, c.path)) {
      in.push_back(&c);
      inPaths.insert(c.path);
    }
  // Each path's ancestors, looked up: not every pair compared.
  auto ancestors = [](std::string_view p, auto visit) {
    for (size_t slash = p.rfind('/'); slash != std::string_view::npos && slash > 0; slash = p.rfind('/', slash - 1))
      if (visit(p.substr(0, slash))) return true;
    return p != "/" && visit(std::string_view("/"));
  };
  for (const Cgroup* c : in) ancestors(c->path, [&](std::string_view a) { return !aboveIn.insert(a).second; });
  std::vector<const Cgroup*> out;
  for (const Cgroup* c : in) {
    bool keep = leavesOnly ? !aboveIn.count(c->path)
                           : !ancestors(c->path, [&](std::string_view a) { return inPaths.count(a) > 0; });
    if (keep) out.push_back(c);
  }
  cached->second = out;
  return out;
}

// The candidates of `kill cgroup`: the leaves below the targets, all
// together (a system rule kills one cgroup of its whole scope). A leaf has
// no child at all: cgroup.kill of a cgroup kills its descendants, so one
// whose children are protected is no candidate either. Protected leaves
// are not candidates: they go to `excluded`, for the log.
std::vector<const Cgroup*> Enactor::leavesBelow(const std::vector<const Cgroup*>& targets,
                                                std::vector<CandidateRow>& excluded) const {
  auto [cached, fresh] = leavesCache_.try_emplace(targets);
  if (!fresh) {
    excluded.insert(excluded.end(), cached->second.excluded.begin(), cached->second.excluded.end());
    return cached->second.leaves;
  }
  std::vector<const Cgroup*> out;
  size_t firstExcluded = excluded.size();
  std::set<std::string_view> under;
  for (const Cgroup* t : targets) under.insert(t->path);
  for (const auto& c : cgroups_) {
    if (parents_.count(c.path)) continue;
    // In or below a target: itself or one of its ancestors is one.
    bool below = under.count(c.path) > 0 || under.count("/") > 0;
    for (std::string_view p = c.path; !below;) {
      size_t slash = p.rfind('/');
      if (slash == std::string_view::npos || slash == 0) break;
      p = p.substr(0, slash);
      below = under.count(p) > 0;
    }
    if (!below) continue;
    if (scopes_.isProtected(c.path)) excluded.push_back({c.path, "", "", "protected"});
    else out.push_back(&c);
  }
  cached->second = {out, {excluded.begin() + static_cast<std::ptrdiff_t>(firstExcluded), excluded.end()}};
  return out;
}

ActionResult Enactor::killCgroupIn(const struct mmp_decision& d, const std::vector<const Cgroup*>& targets,
                                   const LogRecord& rec, bool pretend) {
  std::vector<CandidateRow> excluded;
  std::vector<const Cgroup*> leaves = leavesBelow(targets, excluded);
  ActionResult none{false, ""};
  none.candidates = excluded;
  if (leaves.empty()) {
    none.detail = targets.empty() ? "no cgroup in the rule's scope"
                                  : "no cgroup to kill: every leaf below the subject is protected";
    return none;
  }
  return killCgroupOf(d, leaves, excluded, rec, pretend);
}

// The candidates a kill's `among` names: the cgroups matching a pattern,
// unprotected, none with a protected cgroup below it (cgroup.kill would
// reach it). Those left out go to `excluded`, for the log.
std::vector<const Cgroup*> Enactor::amongCandidates(const std::vector<ScopePattern>& patterns,
                                                    std::vector<CandidateRow>& excluded) const {
  std::vector<const Cgroup*> out;
  for (const auto& c : cgroups_) {
    if (std::none_of(patterns.begin(), patterns.end(), [&](const ScopePattern& p) { return matches(p, c.path); }))
      continue;
    if (scopes_.isProtected(c.path)) {
      excluded.push_back({c.path, "", "", "protected"});
      continue;
    }
    bool guardsProtected = false;
    for (const auto& o : cgroups_) guardsProtected |= isAncestor(c.path, o.path) && scopes_.isProtected(o.path);
    if (guardsProtected) excluded.push_back({c.path, "", "", "guards a protected cgroup"});
    else out.push_back(&c);
  }
  return out;
}

// The victim among `given`, by the decision's key, and its kill; the
// result carries the candidate table (`excluded`: those left out before).
ActionResult Enactor::killCgroupOf(const struct mmp_decision& d, const std::vector<const Cgroup*>& given,
                                   std::vector<CandidateRow> excluded, const LogRecord& rec, bool pretend) {
  // cgroup.kill would reach a protected process: its cgroup is no candidate.
  std::vector<const Cgroup*> named;
  for (const Cgroup* c : given) {
    auto why = opts_.preferences.protectsProcesses() ? opts_.preferences.protectedAmong(procsBelow(c->dir))
                                                     : std::nullopt;
    if (why) excluded.push_back({c->path, "", "", "holds protected " + *why});
    else named.push_back(c);
  }
  if (named.empty())
    return {.ok = false, .detail = "every candidate cgroup holds a protected process", .noVictim = true,
            .candidates = excluded};
  std::vector<CgroupCandidate> candidates;
  // A cgroup's age only where the pick reads it (one stat each, saved).
  const bool age = d.flags & (MMP_KILL_OLDEST | MMP_KILL_YOUNGEST | MMP_KILL_GROWING | MMP_KILL_SIZE_OR_GROWTH |
                              MMP_KILL_RECLAIM);
  for (const Cgroup* c : named) {
    CgroupCandidate k{c->path, cgroupUsage(h_, c->dir, &held_), std::nullopt, age ? cgroupAge(c->dir) : 0.0, std::nullopt,
                      std::nullopt};
    if (d.flags & MMP_KILL_SWAP) k.swap = cgroupSwap(h_, c->dir);
    if (d.flags & MMP_KILL_OVER_REQUEST) k.request = cgroupRequest(h_, c->dir);
    if (d.flags & MMP_KILL_PRESSURE) k.pressure = cgroupPressure(h_, c->dir);
    if (d.flags & MMP_KILL_RECLAIM) {
      k.pgscan = cgroupPgscan(h_, c->dir);
      if (k.pgscan) k.pgscanRate = pgscanRate(c->id, *k.pgscan);
    }
    if (!opts_.preferences.empty()) {
      PreferenceVerdict v = opts_.preferences.ofCgroup(c->path);
      k.preference = v.rank;
      k.preferredBy = std::move(v.by);
    }
    candidates.push_back(std::move(k));
  }
  // An empty cgroup kills nothing (cgroup.kill of it succeeds all the
  // same), and a pod already killed stays until kubelet removes it (by
  // over_request its few KiB with no request rank first): the pick's
  // victim is checked for a process, and passed over without one. Only
  // the victim is read: 60 pods would cost 60 reads before every kill.
  Pick pick;
  while (true) {
    pick = pickCgroup(candidates, d.flags, d.arg);
    if (!pick.victim || populated(named[*pick.victim]->dir, &held_)) break;
    excluded.push_back({named[*pick.victim]->path, "", "", "no process"});
    named.erase(named.begin() + static_cast<std::ptrdiff_t>(*pick.victim));
    candidates.erase(candidates.begin() + static_cast<std::ptrdiff_t>(*pick.victim));
  }
  auto withTable = [&](ActionResult r) {
    candidateTable(pick, [&](size_t i) { return named[i]->path; }, excluded, r.candidates, r.candidatesOmitted);
    return r;
  };
  if (candidates.empty())
    return withTable({.ok = false, .detail = "no cgroup to kill: no process runs in any candidate"});
  if (!pick.victim) return withTable({.ok = false, .detail = pick.detail, .noVictim = pick.noneQualified()});
  const Cgroup* victim = named[*pick.victim];
  if (pretend) return withTable({true, fmt::format("would kill {} ({})", victim->path, pick.detail)});
  preKill(rec, victim->path, 0, pick.detail);
  ActionResult r = killCgroup(h_, victim->dir, !parents_.count(victim->path));
  if (r.detail.find(victim->dir) == std::string::npos) r.detail = victim->path + ": " + r.detail;
  r.detail += " (" + pick.detail + ")";
  return withTable(r);
}

// The BPF program stamped the rule's last firing when it decided: a
// decision the rate limit drops must not start the cooldown, or the cgroup
// gets no new decision until it ends. The stamp is cleared if it is still
// this decision's. (The row is written whole: a hook updating another word
// of it at that moment loses that update.)
void Enactor::giveCooldownBack(const ManifestRule& rule, const struct mmp_decision& d, bool system) {
  if (opts_.stateFd < 0 || !rule.cooldownWord) return;
  uint32_t word = *rule.cooldownWord;
  uint64_t key = system ? 0 : d.cgroup_id;
  std::vector<uint64_t> row(stateWords_);
  if (word >= row.size() || bpf_map_lookup_elem(opts_.stateFd, &key, row.data()) != 0 || row[word] != d.time_ns) return;
  row[word] = 0;
  bpf_map_update_elem(opts_.stateFd, &key, row.data(), BPF_EXIST);
}

void Enactor::preKill(const LogRecord& rec, const std::string& cgroup, int pid, const std::string& why) {
  if (opts_.preKill.empty()) return;
  std::string victim = pid ? fmt::format("pid {}", pid) : cgroup;
  HookResult h = runHook(opts_.preKill,
                         {{"MMP_POLICY", rec.policy}, {"MMP_RULE", rec.rule}, {"MMP_ACTION", "kill"},
                          {"MMP_CGROUP", cgroup}, {"MMP_PID", pid ? std::to_string(pid) : ""},
                          {"MMP_VICTIM", victim}, {"MMP_REASON", why}},
                         opts_.preKillLimit);
  LogRecord note;
  note.kind = h.started && !h.timedOut ? "info" : "error";
  note.policy = rec.policy;
  note.rule = rec.rule;
  note.cgroup = cgroup;
  note.action = "kill";
  note.argument = victim;
  note.outcome = "pre-kill";
  note.detail = h.detail;
  writeLog(note, opts_.format);
  ++(h.started && !h.timedOut && h.status == 0 ? hooksOk_ : hooksFailed_);
}

uint64_t Enactor::amountFor(const struct mmp_decision& d, const Cgroup& target) const {
  constexpr uint64_t kMiB = 1 << 20;
  if (d.flags & MMP_ARG_DEFAULT) {
    const ManifestSettings& s = m_.settings;
    uint64_t raw = s.reclaimStep.raw;
    uint64_t bytes = s.reclaimStepType == "percent" ? cgroupUsage(h_, target.dir) / 100000 * raw : raw;
    return std::max(bytes, kMiB);
  }
  if (d.flags & MMP_ARG_SHARE) return cgroupUsage(h_, target.dir) / 100000 * d.arg;
  return d.arg;
}

ActionResult Enactor::perform(const struct mmp_decision& d, const std::vector<const Cgroup*>& targets, LogRecord& rec,
                              bool pretend) {
  ActionResult all{true, ""};
  auto add = [&](const ActionResult& r) {
    all.ok &= r.ok;
    all.superseded |= r.superseded;
    all.noVictim |= r.noVictim;
    all.detail += (all.detail.empty() ? "" : "; ") + r.detail;
    rec.candidates = r.candidates;  // a kill's (one per decision)
    rec.candidatesOmitted = r.candidatesOmitted;
    if (opts_.hasten)
      for (int pid : r.killed) hastenExit(pid);
  };
  if (d.action == MMP_ACTION_KILL) {
    // One kill per decision, its victim chosen among all the targets'
    // candidates (a system rule has one target per scope pattern's cgroup).
    if (d.flags & MMP_KILL_CGROUP) {
      // `among`: the named cgroups, whatever the subject.
      if (auto it = among_.find({d.rule, d.action_index}); it != among_.end()) {
        std::vector<CandidateRow> excluded;
        std::vector<const Cgroup*> named = amongCandidates(it->second, excluded);
        ActionResult none{false, "no cgroup to kill: `among` names no unprotected cgroup here"};
        none.candidates = excluded;
        add(named.empty() ? none : killCgroupOf(d, named, excluded, rec, pretend));
      } else {
        add(killCgroupIn(d, targets, rec, pretend));
      }
      return all;
    }
    std::vector<std::string> dirs;
    std::map<std::string, std::string> pathOf;  // dir -> cgroup path, for the preferences
    for (const Cgroup* t : targets)
      for (const Cgroup* c : subtree(*t)) {
        dirs.push_back(c->dir);
        pathOf[c->dir] = c->path;
      }
    RankProcess rank;
    if (!opts_.preferences.empty())
      rank = [&](const std::string& dir, int pid, const std::string& name) {
        return opts_.preferences.ofProcess(pathOf[dir], opts_.preferences.readTexts(pid, name));
      };
    add(killProcess(dirs, d.flags, d.arg, pretend,
                    [&](int pid, const std::string& why) { preKill(rec, rec.cgroup, pid, why); }, rank));
    return all;
  }
  for (const Cgroup* t : targets) {
    // Every action has a case (-Wswitch): a new row of mmp_actions.def
    // without its handler does not compile.
    switch (static_cast<enum mmp_action>(d.action)) {
      case MMP_ACTION_RECLAIM: {
        uint64_t bytes = amountFor(d, *t);
        rec.argument = formatValue("bytes", bytes);
        add(reclaim(t->dir, bytes, d.flags));
        break;
      }
      case MMP_ACTION_THROTTLE: add(setHigh(t->dir, d.arg)); break;
      case MMP_ACTION_UNTHROTTLE: add(setHigh(t->dir, MMP_UNLIMITED)); break;
      case MMP_ACTION_LIMIT: add(setMax(h_, t->dir, d.arg)); break;
      case MMP_ACTION_KILL: break;  // above: one victim for all the targets
      case MMP_ACTION_LOG: break;   // its record is the action (onDecision)
    }
  }
  return all;
}

Outcome Enactor::killedInKernel(const struct mmp_decision& d, LogRecord& rec, bool& acted) {
  const Cgroup* subject = byId(d.cgroup_id);
  rec.cgroup = subject ? subject->path : fmt::format("(cgroup {}, gone)", d.cgroup_id);
  const auto pid = static_cast<pid_t>(d.arg);
  int sig = MMP_KILL_SIGNAL(d.flags) ? static_cast<int>(MMP_KILL_SIGNAL(d.flags)) : SIGKILL;
  rec.argument = fmt::format("pid {}", pid);
  rec.by = "kernel";
  rec.outcome = "enacted";
  rec.detail = fmt::format("{} to pid {}: the largest unprotected process, signalled by the reclaim hook",
                           signalName(sig), pid);
  limit_.note(std::chrono::steady_clock::now());
  if (sig == SIGKILL && opts_.hasten) hastenExit(pid);
  acted = true;
  return Outcome::Enacted;
}

const char* outcomeName(Outcome o) {
  switch (o) {
    case Outcome::Enacted: return "enacted";
    case Outcome::DryRun: return "dry_run";
    case Outcome::Protected: return "protected";
    case Outcome::OutOfScope: return "out_of_scope";
    case Outcome::RateLimited: return "rate_limited";
    case Outcome::Overruled: return "overruled";
    case Outcome::Superseded: return "superseded";
    case Outcome::NoVictim: return "no_victim";
    case Outcome::Failed: return "failed";
  }
  return "failed";
}

std::vector<double> latencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

uint64_t RuleCounters::total(Outcome o) const {
  uint64_t n = 0;
  for (const auto& [action, counts] : decisions) n += counts[static_cast<size_t>(o)];
  return n;
}

namespace {

// CLOCK_MONOTONIC in ns, bpf_ktime_get_ns()'s clock.
uint64_t monotonicNs() {
  struct timespec now {};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(now.tv_nsec);
}

double sinceMs(uint64_t from, uint64_t to) { return to > from ? static_cast<double>(to - from) / 1e6 : 0.0; }

}  // namespace

void Enactor::onDecision(const struct mmp_decision& d) {
  const uint64_t started = monotonicNs();
  LogRecord rec;
  rec.policy = m_.policy;
  // Replay logs the snapshot's time: its output is the same every run.
  const std::string time = opts_.replay ? formatMonotonic(d.time_ns) : "";
  const auto& rules = m_.rules;
  if (d.version != MMP_DECISION_VERSION || d.rule >= rules.size()) {
    rec.kind = "error";
    rec.detail = fmt::format("a decision of version {} for rule {}, which this policy does not have", d.version, d.rule);
    writeLog(rec, opts_.format, time);
    return;
  }
  bool acted = false;
  Outcome o = decide(d, rec, acted);
  const double latency = sinceMs(d.time_ns, monotonicNs()) / 1e3;
  if (!opts_.replay && !opts_.explain) {
    rec.latencyMs = latency * 1e3;
    rec.queuedMs = sinceMs(d.time_ns, started);
    rec.decidedNs = d.time_ns;
  }
  // The overruled record has always carried the wall clock, also in replay.
  writeLog(rec, opts_.format, o == Outcome::Overruled ? "" : time);
  recent_.push_back(logJson(rec, o == Outcome::Overruled ? "" : time));
  if (recent_.size() > kRecentDecisions) recent_.pop_front();
  RuleCounters& counters = counters_[d.rule];
  auto& counts = counters.decisions[rec.action];
  ++counts[static_cast<size_t>(o)];
  if (!acted || opts_.replay) return;
  auto it = counters.latency.try_emplace(rec.action, latencyBuckets()).first;
  it->second.observe(latency);
}

Outcome Enactor::decide(const struct mmp_decision& d, LogRecord& rec, bool& acted) {
  const ManifestRule& rule = m_.rules[d.rule];
  rec.rule = rule.location;
  rec.action = actionName(d.action);
  static const ManifestAction kNoAction;
  const auto& action = d.action_index < rule.actions.size() ? rule.actions[d.action_index] : kNoAction;
  bool system = d.flags & MMP_SUBJECT_SYSTEM;
  uint32_t bit = rule.scope;

  // The values that made the condition true (log: its {...} values).
  const auto& names = d.action == MMP_ACTION_LOG ? action.values : rule.values;
  for (size_t i = 0; i < names.size() && i < MMP_MAX_VALUES && !opts_.explain; ++i)
    rec.values.emplace_back(names[i].expr, formatValue(names[i].type, d.values[i]));

  if (d.action == MMP_ACTION_KILL && (d.flags & MMP_KILL_BY_KERNEL)) return killedInKernel(d, rec, acted);
  // A kill the rule asked to make in kernel, made here: the hook could not
  // (another kernel, a path mmrun did not load, no victim it could choose).
  if (d.action == MMP_ACTION_KILL && (d.flags & MMP_KILL_IN_KERNEL)) rec.by = "mmrun";

  std::vector<const Cgroup*> targets;
  const Cgroup* subject = system ? nullptr : byId(d.cgroup_id);
  if (!system) {
    if (!subject) {
      rec.outcome = "failed";
      rec.detail = fmt::format("cgroup {} is gone", d.cgroup_id);
      return Outcome::Failed;
    }
    rec.cgroup = subject->path;
    // Protections, again, right before acting; and the scope of rules the
    // kernel could not scope (a cgroup that appeared a moment ago).
    if (scopes_.isProtected(subject->path) || !scopes_.inScope(bit, subject->path)) {
      rec.outcome = "dropped";
      bool isProtected = scopes_.isProtected(subject->path);
      rec.detail = isProtected ? "protected" : "outside the rule's scope";
      return isProtected ? Outcome::Protected : Outcome::OutOfScope;
    }
    targets.push_back(subject);
  } else {
    rec.cgroup = "(scope)";
    bool leaves = d.action == MMP_ACTION_KILL && (d.flags & MMP_KILL_CGROUP);
    targets = scopeTargets(bit, leaves);
  }

  if (d.action == MMP_ACTION_LOG) {
    size_t next = 0;
    for (const auto& part : action.message) {
      if (!part.value) rec.message += part.text;
      else if (next < rec.values.size()) {
        bool path = names[next].runtime == "cgroup_path";
        rec.message += path ? rec.cgroup : rec.values[next].second;
        ++next;
      }
    }
    rec.values.clear();
    rec.outcome = "logged";
    acted = true;
    return Outcome::Enacted;
  }
  if (d.action == MMP_ACTION_THROTTLE || d.action == MMP_ACTION_LIMIT) rec.argument = formatValue("bytes", d.arg);
  if (d.action == MMP_ACTION_UNTHROTTLE) rec.argument = "max";
  if (opts_.arbiter)
    for (const Cgroup* t : targets)
      if (auto winner = opts_.arbiter->claim(t->path, opts_.rank, m_.policy)) {
        rec.outcome = "overruled";
        rec.detail = fmt::format("policy {}, given earlier, acted on {} within this interval", *winner, t->path);
        return Outcome::Overruled;
      }
  if (opts_.dryRun || m_.settings.dryRun) {
    rec.outcome = "dry-run";
    // Say which victim a kill would take (replay has no live system to ask).
    if (d.action == MMP_ACTION_KILL && !opts_.replay) {
      ActionResult r = perform(d, targets, rec, true);
      rec.detail = r.ok ? r.detail : "no victim: " + r.detail;
    } else if (!opts_.replay) {
      rec.detail = opts_.dryRun ? "--dry-run: nothing written" : "the policy sets dry_run: nothing written";
    }
    return Outcome::DryRun;
  }
  if (!limit_.take(std::chrono::steady_clock::now())) {
    giveCooldownBack(rule, d, system);
    rec.outcome = "rate-limited";
    rec.detail = fmt::format("over max_actions_per_second = {}", limit_.perSecond());
    return Outcome::RateLimited;
  }
  ActionResult r = perform(d, targets, rec);
  acted = !r.noVictim;
  rec.outcome = r.ok ? "enacted" : r.superseded ? "superseded" : r.noVictim ? "no-victim" : "failed";
  rec.detail = r.detail;
  return r.ok ? Outcome::Enacted : r.superseded ? Outcome::Superseded : r.noVictim ? Outcome::NoVictim : Outcome::Failed;
}

}  // namespace mmp::runtime

// `kill [PICK] [process|cgroup] [by KEY [> AMOUNT]] [with SIGNAL] [in kernel]`:
// which keys and signals there are, which go together, and which kills the
// hook can make itself (docs/language.md §7).
#include <fmt/format.h>

#include <csignal>
#include <set>

#include "check/checker.h"
#include "support/suggest.h"

namespace mmp {

using namespace ast;

namespace {

struct KeyInfo {
  const char* name;
  KillKey key;
  bool process, cgroup;  // which targets it chooses among
  Type above;            // the type of `> AMOUNT`; Error: no threshold
};

const KeyInfo kKeys[] = {
    {"rss", KillKey::Rss, true, false, Type::Bytes},
    {"oom_score", KillKey::OomScore, true, false, Type::Count},
    {"usage", KillKey::Usage, false, true, Type::Bytes},
    {"swap", KillKey::Swap, true, true, Type::Bytes},
    {"reclaim", KillKey::Reclaim, false, true, Type::Error},
    {"pressure", KillKey::Pressure, false, true, Type::Error},
    {"size_or_growth", KillKey::SizeOrGrowth, false, true, Type::Error},
    {"over_request", KillKey::OverRequest, false, true, Type::Bytes},
};

struct SignalInfo {
  const char* name;
  int number;
};

// The signals a process may be asked to stop with: the usual polite ones
// and SIGKILL. Stop-style signals would leave the memory in place.
const SignalInfo kSignals[] = {{"SIGKILL", SIGKILL}, {"SIGTERM", SIGTERM}, {"SIGINT", SIGINT},
                               {"SIGHUP", SIGHUP},   {"SIGQUIT", SIGQUIT}, {"SIGUSR1", SIGUSR1},
                               {"SIGUSR2", SIGUSR2}};

const KeyInfo* findKey(const std::string& name) {
  for (const auto& k : kKeys)
    if (name == k.name) return &k;
  return nullptr;
}

std::string keysFor(KillTarget t) {
  std::string out;
  for (const auto& k : kKeys)
    if (t == KillTarget::Process ? k.process : k.cgroup) out += fmt::format("{}`{}`", out.empty() ? "" : ", ", k.name);
  return out;
}

}  // namespace

void Checker::checkKill(Action& a, Rule& r) {
  if (!a.among.empty()) checkKillAmong(a);
  if (!a.key.empty()) checkKillKey(a, r);
  if (!a.signal.empty()) checkKillSignal(a);
  if (!a.where.empty()) checkKillWhere(a);
}

// `among PATTERNS`: a cgroup kill's candidates, well-formed patterns.
void Checker::checkKillAmong(Action& a) {
  if (a.target != KillTarget::Cgroup)
    diags_.report(DiagCode::E0305, a.among.front().range, "`among` names the cgroups a cgroup kill chooses from")
        .note("a process kill chooses among the processes of the rule's subject")
        .help("write `kill cgroup among ...`");
  for (const auto& p : checkPatterns(a.among, true)) a.amongPatterns.push_back(p.text());
}

// `by KEY [> AMOUNT]`: a known key of this kind of victim, no pick beside
// it, a threshold of the key's type where it takes one.
void Checker::checkKillKey(Action& a, Rule& r) {
  const char* target = a.target == KillTarget::Process ? "process" : "cgroup";
  const KeyInfo* info = findKey(a.key);
  if (!info) {
    std::vector<std::string> names;
    for (const auto& k : kKeys) names.push_back(k.name);
    auto& d = diags_.report(DiagCode::E0100, a.keyRange, fmt::format("unknown kill key `{}`", a.key));
    if (auto best = closestMatch(a.key, names)) d.help(fmt::format("did you mean `{}`?", *best));
    else d.help(fmt::format("a {} is chosen by {}", target, keysFor(a.target)));
    return;
  }
  a.killKey = info->key;
  if (!(a.target == KillTarget::Process ? info->process : info->cgroup)) {
    const char* other = a.target == KillTarget::Process ? "cgroup" : "process";
    diags_.report(DiagCode::E0305, a.keyRange, fmt::format("`by {}` chooses a {}, but this kill chooses a {}", a.key, other, target))
        .help(fmt::format("write `kill {} by {}`, or choose a {} by {}", other, a.key, target, keysFor(a.target)));
  }
  if (a.pickWritten && a.pick != KillPick::Largest)
    diags_.report(DiagCode::E0305, a.range, "a kill is chosen either by a pick or by a key, not both")
        .note(fmt::format("`by {}` already says which {} goes", a.key, target))
        .help(fmt::format("drop the pick: `kill {} by {}`", target, a.key));
  if (a.amount) {
    ExprContext ctx{Site::Amount, &r, "", nullptr};
    Type t = checkExpr(*a.amount, ctx);
    if (info->above == Type::Error) {
      diags_.report(DiagCode::E0305, a.amount->range, fmt::format("`by {}` takes no threshold", a.key))
          .note("it ranks the candidates against each other")
          .help(fmt::format("drop `> ...`, or choose by {}", keysFor(a.target)));
    } else if (t != info->above && t != Type::Error) {
      auto& d = diags_.report(DiagCode::E0200, a.amount->range,
                              fmt::format("`by {} >` takes {}, found `{}`", a.key, typeName(info->above), typeName(t)));
      if (t == Type::Percent && info->above == Type::Bytes) d.help(fmt::format("name the whole: `by {} > 5% of system.swap.total`", a.key));
      else d.help(info->above == Type::Bytes ? fmt::format("write `by {} > 1GiB`", a.key) : "write `by oom_score > 500`");
    }
  }
}

// `with SIGNAL`: a signal that frees memory, SIGKILL alone for a cgroup.
void Checker::checkKillSignal(Action& a) {
  const SignalInfo* info = nullptr;
  for (const auto& s : kSignals)
    if (a.signal == s.name || "SIG" + a.signal == s.name) info = &s;
  if (!info) {
    std::vector<std::string> names;
    for (const auto& s : kSignals) names.push_back(s.name);
    const char* all = "the signals are `SIGTERM`, `SIGINT`, `SIGHUP`, `SIGQUIT`, `SIGUSR1`, `SIGUSR2` and `SIGKILL`";
    // Signals that stop, continue or are ignored by default free nothing.
    static const std::set<std::string> idle = {"SIGSTOP", "SIGTSTP", "SIGCONT", "SIGTTIN", "SIGTTOU",
                                               "SIGCHLD", "SIGWINCH", "SIGURG"};
    if (idle.count(a.signal)) {
      diags_.report(DiagCode::E0100, a.signalRange, fmt::format("`{}` would not free the process's memory", a.signal))
          .help(all);
      return;
    }
    auto& d = diags_.report(DiagCode::E0100, a.signalRange, fmt::format("unknown signal `{}`", a.signal));
    if (auto best = closestMatch(a.signal, names, true)) d.help(fmt::format("did you mean `{}`?", *best));
    else d.help(all);
    return;
  }
  a.signalNumber = info->number == SIGKILL ? 0 : info->number;
  if (a.target == KillTarget::Cgroup && a.signalNumber)
    diags_.report(DiagCode::E0305, a.signalRange, fmt::format("a cgroup is killed with SIGKILL only, not `{}`", a.signal))
        .note("`cgroup.kill` sends SIGKILL to every process in the cgroup")
        .help(fmt::format("kill a process instead: `kill process with {}`", info->name));
}

// `in WHERE`: `kernel` is the only place a kill can be asked to run.
void Checker::checkKillWhere(Action& a) {
  if (a.where == "kernel") {
    a.inKernel = true;
    return;
  }
  diags_.report(DiagCode::E0100, a.whereRange, fmt::format("a kill runs `in kernel` or in mmrun, not `in {}`", a.where))
      .help("write `in kernel`, or drop `in ...` to let mmrun kill");
}

// A kill `in kernel` is made by the hook that evaluates the rule, with
// what BPF can see: the memcg's processes, their RSS, the protected
// cgroups. It must choose the victim mmrun would choose and spare what
// mmrun would spare, or it is refused here (docs/language.md §7).
void Checker::checkKernelKills(const CheckedPolicy& out) {
  const PreferEntry* byProcess = nullptr;
  for (const auto& e : out.preferences)
    if (e.mode != PreferMode::Protect || e.what != PreferWhat::Cgroup) {
      byProcess = &e;
      break;
    }
  for (const auto& cr : out.rules)
    for (const auto& a : cr.rule->actions) {
      if (a.kind != ActionKind::Kill || !a.inKernel) continue;
      const Rule& r = *cr.rule;
      auto refuse = [&](const std::string& what) -> Diagnostic& {
        return diags_.report(DiagCode::E0308, a.whereRange, what);
      };
      if (r.ruleKind != RuleKind::When || !r.memcgSubject) {
        refuse(r.ruleKind == RuleKind::On ? fmt::format("an `on {}` rule cannot kill `in kernel`", r.event)
                                          : "a system rule cannot kill `in kernel`")
            .note("the kill is made from the memcg reclaim hook, which evaluates `when` rules on a cgroup's memcg "
                  "as it reclaims")
            .help("read a `memcg.*` field in a `when` rule, or drop `in kernel`");
      } else if (a.target != KillTarget::Process) {
        refuse("a cgroup cannot be killed `in kernel`")
            .note("the hook signals one process; `cgroup.kill` is a file mmrun writes")
            .help("write `kill process ... in kernel`, or drop `in kernel`");
      } else if (a.pick != KillPick::Largest || (a.killKey != KillKey::Default && a.killKey != KillKey::Rss) ||
                 a.amount) {
        refuse("a kill `in kernel` takes the largest process by RSS")
            .note("the hook ranks processes by their resident pages only")
            .help("write `kill largest process in kernel`, or drop `in kernel`");
      } else if (byProcess) {
        refuse(byProcess->mode == PreferMode::Protect ? "this policy protects processes, which only mmrun can see"
                                                      : "this policy ranks kill candidates, which only mmrun does")
            .note(byProcess->range, fmt::format("`{}` here", preferModeWord(byProcess->mode)))
            .note("mmrun reads a process's name, command line or cgroup path to apply it; the hook cannot")
            .help("protect cgroups instead (`protect \"/system.slice/*\"`), or drop `in kernel`");
      }
    }
}

}  // namespace mmp

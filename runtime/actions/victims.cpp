#include "actions/victims.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <functional>

#include "abi/mmp_abi.h"
#include "log.h"

namespace mmp::runtime {

namespace {

std::string bytes(double b) { return formatValue("bytes", static_cast<uint64_t>(b)); }

// growing: the average growth over the candidate's life, which needs no
// history (so the first decision has it); a candidate younger than a second
// counts as one second old, or a newborn would always win.
double perSecondOfLife(double amount, double age) { return amount / std::max(1.0, age); }

// One candidate as the shared order sees it: `key` is what "largest"
// measures, `size` (RSS or usage) breaks ties.
struct Scored {
  size_t index;
  double key;
  double size;
  double age;
  int tier = 0;                  // ranks before the key: a higher tier first (by over_request)
  const char* why = nullptr;     // left out: why, when not for the threshold
  int pref = 0;                  // ranks before the tier: prefer +1, avoid -1
  const std::string* prefBy = nullptr;  // the preference that set it
};

template <typename Candidate>
Scored withPreference(Scored s, const Candidate& c) {
  s.pref = c.preference;
  s.prefBy = &c.preferredBy;
  return s;
}

// Preferences, then the tier, then the flags' order (score, below).
int rankOrder(const Scored& a, const Scored& b) {
  if (a.pref != b.pref) return a.pref > b.pref ? 1 : -1;
  if (a.tier != b.tier) return a.tier > b.tier ? 1 : -1;
  return 0;
}

// What the flags' order ranks by: oldest, youngest, growing (key per
// second of life) or, by default, the largest key.
double score(const Scored& s, uint32_t flags) {
  if (flags & MMP_KILL_OLDEST) return s.age;
  if (flags & MMP_KILL_YOUNGEST) return -s.age;
  if (flags & MMP_KILL_GROWING) return perSecondOfLife(s.key, s.age);
  return s.key;
}

// The best of `in` (not empty) by the flags' order. Ties go to the larger
// size, then to the first listed (a stable answer).
size_t best(const std::vector<Scored>& in, uint32_t flags) {
  size_t b = 0;
  for (size_t i = 1; i < in.size(); ++i) {
    if (int order = rankOrder(in[i], in[b])) {
      if (order > 0) b = i;
      continue;
    }
    double now = score(in[i], flags), was = score(in[b], flags);
    if (now > was || (now == was && in[i].size > in[b].size)) b = i;
  }
  return b;
}

// `in` in the order `best` chooses from: its choice first.
std::vector<Scored> ranked(std::vector<Scored> in, uint32_t flags) {
  std::stable_sort(in.begin(), in.end(), [&](const Scored& a, const Scored& b) {
    if (int order = rankOrder(a, b)) return order > 0;
    double sa = score(a, flags), sb = score(b, flags);
    return sa != sb ? sa > sb : a.size > b.size;
  });
  return in;
}

// The candidates of the best preference among `in` (not empty): the only
// ones a pick that ranks by its own rule (size_or_growth) may choose from.
std::vector<Scored> topPreference(const std::vector<Scored>& in) {
  int top = std::max_element(in.begin(), in.end(), [](const Scored& a, const Scored& b) { return a.pref < b.pref; })->pref;
  std::vector<Scored> out;
  for (const auto& s : in)
    if (s.pref == top) out.push_back(s);
  return out;
}

// What the preferences did to the choice of `victim` (an index into the
// candidates) among `in`, for the detail; `choose` is the pick without
// them. Empty when the key alone chose it and no preference names it.
std::string preferenceNote(const std::vector<Scored>& in, size_t victim,
                           const std::function<size_t(const std::vector<Scored>&)>& choose) {
  const Scored* v = nullptr;
  for (const auto& s : in)
    if (s.index == victim) v = &s;
  if (!v) return "";
  std::string by = v->prefBy ? *v->prefBy : "";
  if (v->pref < 0) return fmt::format("; avoided ({}), and no other candidate was left", by);
  std::vector<Scored> plain = in;
  for (auto& s : plain) s.pref = 0;
  const Scored& keyed = plain[choose(plain)];
  if (keyed.index == victim) return v->pref > 0 ? fmt::format("; preferred ({})", by) : "";
  if (v->pref > 0) return fmt::format("; chosen by preference ({}) over a candidate the key ranks first", by);
  return fmt::format("; the key's first choice is avoided ({}): taken only when no other is left",
                     keyed.prefBy ? *keyed.prefBy : "");
}

// The candidate table: the victim (ranked's first, or `victim` when given),
// the others in rank, then those the threshold left out.
std::vector<Ranked> table(const std::vector<Scored>& order, const std::vector<Scored>& below,
                          const std::function<std::string(const Scored&)>& show, std::optional<size_t> victim) {
  std::vector<Ranked> out;
  if (victim)
    for (const auto& s : order)
      if (s.index == *victim) out.push_back({s.index, show(s), "victim"});
  for (const auto& s : order)
    if (!victim || s.index != *victim)
      out.push_back({s.index, show(s),
                     out.empty()         ? "victim"
                     : s.pref < 0 && s.prefBy ? "avoided: " + *s.prefBy
                                              : std::string("ranked lower")});
  for (const auto& s : below) out.push_back({s.index, show(s), s.why ? s.why : "under the threshold"});
  return out;
}

// The name of what the flags rank by, and each candidate's value of it.
// `base` names the key ("rss", "oom_score", "usage", ...), `bytesKey`
// whether it is bytes.
std::pair<std::string, std::function<std::string(const Scored&)>> keyView(uint32_t flags, const std::string& base,
                                                                          bool bytesKey) {
  if (flags & (MMP_KILL_OLDEST | MMP_KILL_YOUNGEST))
    return {"age", [](const Scored& s) { return fmt::format("{:.1f}s", s.age); }};
  if (flags & MMP_KILL_GROWING)
    return {base + "/s", [bytesKey](const Scored& s) {
              double v = perSecondOfLife(s.key, s.age);
              return bytesKey ? bytes(v) + "/s" : fmt::format("{:.1f}/s", v);
            }};
  return {base, [bytesKey](const Scored& s) { return bytesKey ? bytes(s.key) : fmt::format("{:.1f}", s.key); }};
}

std::string ageNote(uint32_t flags, double age) {
  return flags & (MMP_KILL_OLDEST | MMP_KILL_YOUNGEST) ? fmt::format(", {:.1f}s old", age) : "";
}

// oomd's kill_by_memory_size_or_growth over `in` (not empty; key = usage):
// the index of the victim among the candidates, and why.
std::pair<size_t, std::string> sizeOrGrowth(const std::vector<Scored>& in) {
  double total = 0;
  for (const auto& s : in) total += s.key;
  const Scored& largest = in[best(in, 0)];
  if (total > 0 && largest.key * 100 > total * kSizeThresholdPercent)
    return {largest.index, fmt::format("{:.0f}% of the candidates' {}, over {}%", largest.key * 100 / total,
                                       bytes(total), kSizeThresholdPercent)};
  // The percentile by nearest rank: the smallest usage that at least
  // kGrowingSizePercentile percent of the candidates do not exceed.
  std::vector<double> usages;
  for (const auto& s : in) usages.push_back(s.key);
  std::sort(usages.begin(), usages.end());
  size_t rank = (kGrowingSizePercentile * usages.size() + 99) / 100;  // 1-based, at least 1
  double floor = usages[rank - 1];
  std::vector<Scored> big;
  for (const auto& s : in)
    if (s.key >= floor) big.push_back(s);
  const Scored& v = big[best(big, MMP_KILL_GROWING)];
  return {v.index, fmt::format("no cgroup over {}% of the candidates' {}; the fastest growing at or above the {}th "
                               "percentile of usage ({}): {}/s over its life",
                               kSizeThresholdPercent, bytes(total), kGrowingSizePercentile, bytes(floor),
                               bytes(perSecondOfLife(v.key, v.age)))};
}

}  // namespace

Pick pickProcess(const std::vector<ProcessCandidate>& candidates, uint32_t flags, uint64_t arg) {
  if (candidates.empty()) return {std::nullopt, "no process to kill in the subject"};
  bool oom = flags & MMP_KILL_OOM_SCORE, swap = flags & MMP_KILL_SWAP;
  std::vector<Scored> in, below;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const auto& p = candidates[i];
    uint64_t key = oom ? p.oomScore : swap ? p.swap : p.rss;
    Scored s = withPreference(Scored{i, static_cast<double>(key), static_cast<double>(p.rss), p.age}, p);
    ((flags & MMP_KILL_ABOVE) && key <= arg ? below : in).push_back(s);
  }
  auto [keyName, show] = keyView(flags, oom ? "oom_score" : swap ? "swap" : "rss", !oom);
  if (oom && !(flags & (MMP_KILL_OLDEST | MMP_KILL_YOUNGEST | MMP_KILL_GROWING)))
    show = [](const Scored& s) { return fmt::format("{:.0f}", s.key); };
  std::vector<Ranked> rows = table(ranked(in, flags), below, show, std::nullopt);
  if (in.empty())
    return {std::nullopt,
            oom ? fmt::format("no process has an oom_score above {}", arg)
                : fmt::format("no process uses more than {} of {}", bytes(arg), swap ? "swap" : "RSS"),
            keyName, rows};
  const Scored& v = in[best(in, flags)];
  const auto& p = candidates[v.index];
  std::string detail = oom    ? fmt::format("oom_score {}, rss {}", p.oomScore, bytes(p.rss))
                       : swap ? fmt::format("swap {}, rss {}", bytes(p.swap), bytes(p.rss))
                              : fmt::format("rss {}", bytes(p.rss));
  if (flags & MMP_KILL_GROWING)
    detail += oom ? fmt::format(", oom_score {:.1f}/s over its life", perSecondOfLife(v.key, v.age))
                  : fmt::format(", {}/s over its life", bytes(perSecondOfLife(v.key, v.age)));
  detail += ageNote(flags, p.age) + preferenceNote(in, v.index, [&](const auto& c) { return best(c, flags); });
  return {v.index, detail, keyName, rows};
}

namespace {

// by over_request: those with no request (BestEffort pods) first, by
// usage; then those above their request, by how far; never one at or
// under it.
Pick pickOverRequest(const std::vector<CgroupCandidate>& candidates, uint32_t flags, uint64_t arg) {
  bool v1 = std::any_of(candidates.begin(), candidates.end(), [](const CgroupCandidate& c) { return !c.request; });
  std::vector<Scored> in, below;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const auto& c = candidates[i];
    uint64_t request = v1 ? 0 : *c.request;
    bool none = request == 0;
    double over = none ? static_cast<double>(c.usage) : c.usage > request ? static_cast<double>(c.usage - request) : 0;
    Scored s = withPreference(Scored{i, over, static_cast<double>(c.usage), c.age, none ? 1 : 0}, c);
    if (!none && c.usage <= request) s.why = "at or under its request";
    bool out = s.why || ((flags & MMP_KILL_ABOVE) && !(over > static_cast<double>(arg)));
    (out ? below : in).push_back(s);
  }
  auto show = [&](const Scored& s) {
    const auto& c = candidates[s.index];
    if (s.tier) return fmt::format("{} (no request)", bytes(s.key));
    return fmt::format("{} over {}", bytes(s.key),
                       *c.request == MMP_UNLIMITED ? std::string("max") : bytes(static_cast<double>(*c.request)));
  };
  std::string fallback = v1 ? "; cgroup v1 has no memory.min or memory.low: no candidate has a request" : "";
  if (in.empty())
    return {std::nullopt,
            fmt::format("no cgroup uses more than {}its request{}",
                        flags & MMP_KILL_ABOVE ? bytes(static_cast<double>(arg)) + " over " : "", fallback),
            "over_request", table({}, below, show, std::nullopt)};
  const Scored& v = in[best(in, 0)];
  return {v.index,
          fmt::format("usage {}, {}{}{}", bytes(v.size), show(v), fallback,
                      preferenceNote(in, v.index, [](const auto& c) { return best(c, 0); })),
          "over_request", table(ranked(in, 0), below, show, std::nullopt)};
}

}  // namespace

Pick pickCgroup(const std::vector<CgroupCandidate>& candidates, uint32_t flags, uint64_t arg) {
  if (candidates.empty()) return {std::nullopt, "no cgroup to kill"};
  if (flags & MMP_KILL_OVER_REQUEST) return pickOverRequest(candidates, flags, arg);
  // The key, or usage where this host does not have it (said in the log).
  bool swap = false, reclaim = false, pressure = false;
  std::string fallback;
  auto all = [&](auto has) { return std::all_of(candidates.begin(), candidates.end(), has); };
  if (flags & MMP_KILL_SWAP) {
    swap = all([](const CgroupCandidate& c) { return c.swap.has_value(); });
    if (!swap) fallback = "swap is not accounted per cgroup here (no memory.swap.current or memory.memsw.*): by usage";
  } else if (flags & MMP_KILL_RECLAIM) {
    reclaim = all([](const CgroupCandidate& c) { return c.pgscan.has_value(); });
    if (!reclaim) fallback = "memory.stat has no pgscan here (cgroup v1): by usage";
  } else if (flags & MMP_KILL_PRESSURE) {
    pressure = all([](const CgroupCandidate& c) { return c.pressure.has_value(); });
    if (!pressure) fallback = "no memory.pressure here (cgroup v1, or a kernel without PSI): by usage";
  }
  auto key = [&](const CgroupCandidate& c) {
    if (swap) return static_cast<double>(*c.swap);
    // The rate since the previous sample; with none yet, over its life.
    if (reclaim) return c.pgscanRate ? *c.pgscanRate : perSecondOfLife(static_cast<double>(*c.pgscan), c.age);
    if (pressure) return *c.pressure;
    return static_cast<double>(c.usage);
  };
  std::vector<Scored> in, below;
  for (size_t i = 0; i < candidates.size(); ++i) {
    double k = key(candidates[i]);
    Scored s = withPreference(Scored{i, k, static_cast<double>(candidates[i].usage), candidates[i].age}, candidates[i]);
    ((flags & MMP_KILL_ABOVE) && !(k > static_cast<double>(arg)) ? below : in).push_back(s);
  }
  auto [keyName, show] = keyView(flags, reclaim ? "pgscan/s" : swap ? "swap" : pressure ? "pressure" : "usage",
                                 !reclaim && !pressure);
  if (pressure) show = [](const Scored& s) { return fmt::format("{:.2f}%", s.key); };
  auto withFallback = [&](std::string s) { return fallback.empty() ? s : s + "; " + fallback; };
  if (in.empty())
    return {std::nullopt,
            withFallback(reclaim ? fmt::format("no cgroup scans more than {} pages/s", arg)
                                 : fmt::format("no cgroup uses more than {}{}", bytes(arg), swap ? " of swap" : "")),
            keyName, table({}, below, show, std::nullopt)};
  if (flags & MMP_KILL_SIZE_OR_GROWTH) {
    // oomd's rule, among the candidates of the best preference.
    auto choose = [](const std::vector<Scored>& c) {
      size_t index = sizeOrGrowth(topPreference(c)).first;
      for (size_t i = 0; i < c.size(); ++i)
        if (c[i].index == index) return i;
      return size_t{0};
    };
    auto [index, why] = sizeOrGrowth(topPreference(in));
    return {index,
            fmt::format("usage {}, {}{}", bytes(candidates[index].usage), why, preferenceNote(in, index, choose)),
            keyName, table(ranked(in, 0), below, show, index)};
  }
  std::vector<Ranked> rows = table(ranked(in, flags), below, show, std::nullopt);
  const Scored& v = in[best(in, flags)];
  const auto& c = candidates[v.index];
  std::string detail = fmt::format("usage {}", bytes(c.usage));
  if (swap) detail = fmt::format("swap {}, ", bytes(*c.swap)) + detail;
  if (reclaim)
    detail = fmt::format("pgscan {:.1f}/s {}, ", v.key,
                         c.pgscanRate ? "since the previous sample" : "over its life (no earlier sample)") +
             detail;
  if (pressure) detail = fmt::format("memory pressure full {:.2f}% (avg10 and avg60 averaged), ", v.key) + detail;
  if (flags & MMP_KILL_GROWING) detail += fmt::format(", {}/s over its life", bytes(perSecondOfLife(v.key, v.age)));
  detail += ageNote(flags, c.age) + preferenceNote(in, v.index, [&](const auto& s) { return best(s, flags); });
  return {v.index, withFallback(detail), keyName, rows};
}

void candidateTable(const Pick& pick, const std::function<std::string(size_t)>& who,
                    const std::vector<CandidateRow>& excluded, std::vector<CandidateRow>& rows, size_t& omitted) {
  rows.clear();
  for (size_t i = 0; i < pick.ranking.size() && i < kRankedRows; ++i) {
    const Ranked& r = pick.ranking[i];
    rows.push_back({who(r.index), pick.key, r.value, r.verdict});
  }
  for (size_t i = 0; i < excluded.size() && rows.size() < kTableRows; ++i) rows.push_back(excluded[i]);
  omitted = pick.ranking.size() + excluded.size() - rows.size();
}

std::string signalName(int signal) {
  if (signal == 0) signal = SIGKILL;
  const char* abbrev = sigabbrev_np(signal);
  return abbrev ? std::string("SIG") + abbrev : fmt::format("signal {}", signal);
}

bool dyingStatus(const std::string& status) {
  char state = '?';
  unsigned long threads = 0;
  bool killPending = false;
  size_t at = 0;
  while (at < status.size()) {
    size_t end = status.find('\n', at);
    if (end == std::string::npos) end = status.size();
    std::string line = status.substr(at, end - at);
    at = end + 1;
    auto value = [&](size_t skip) {
      size_t v = line.find_first_not_of(" \t", skip);
      return v == std::string::npos ? std::string() : line.substr(v);
    };
    if (line.rfind("State:", 0) == 0) {
      std::string v = value(6);
      if (!v.empty()) state = v[0];
    } else if (line.rfind("Threads:", 0) == 0) {
      threads = std::strtoul(value(8).c_str(), nullptr, 10);
    } else if (line.rfind("SigPnd:", 0) == 0 || line.rfind("ShdPnd:", 0) == 0) {
      killPending |= (std::strtoull(value(7).c_str(), nullptr, 16) >> 8) & 1;  // SIGKILL is 9: bit 8
    }
  }
  return killPending || state == 'X' || (state == 'Z' && threads <= 1);
}

}  // namespace mmp::runtime

// The victim of a kill, chosen from what was read of the candidates: pure
// functions that read nothing from the system, so that every pick (each
// key, ties, the threshold, oomd's size-or-growth rule) is unit-tested
// (test/unit/victims_test.cpp). kill.cpp and enactor.cpp do the reading.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "log.h"

namespace mmp::runtime {

struct ProcessCandidate {
  int pid = 0;
  uint64_t rss = 0;       // bytes (/proc/PID/stat's rss)
  uint64_t swap = 0;      // bytes (VmSwap of /proc/PID/status)
  uint64_t oomScore = 0;  // /proc/PID/oom_score
  double age = 0;         // seconds since the process started
  std::string name = {};  // its comm (/proc/PID/stat), for the log and the preferences
  int preference = 0;           // +1 preferred, -1 avoided (actions/preferences.h): ranks before the key
  std::string preferredBy = {};  // the preference, for the log
};

struct CgroupCandidate {
  std::string path;  // for the log
  uint64_t usage = 0;
  std::optional<uint64_t> swap;  // none: this host does not account swap per cgroup
  double age = 0;                // seconds since the cgroup was made
  std::optional<uint64_t> pgscan;        // memory.stat pgscan (pages); none: no such line (cgroup v1)
  std::optional<double> pgscanRate;      // pages per second since the previous sample; none: no earlier sample
  std::optional<double> pressure = std::nullopt;  // memory.pressure full, avg10 and avg60 averaged (%); none: v1
  std::optional<uint64_t> request = std::nullopt;  // memory.min, else memory.low; none: cgroup v1 (by over_request)
  int preference = 0;           // as ProcessCandidate's
  std::string preferredBy = {};
};

// One candidate's place in the pick, for the log's candidate table.
struct Ranked {
  size_t index;         // into the candidates
  std::string value;    // its key as a person reads it: "200MiB", "812", "25.6/s"
  std::string verdict;  // "victim", "ranked lower", "under the threshold"
};

struct Pick {
  std::optional<size_t> victim;  // index into the candidates; none: nothing to kill
  // With a victim: what it was chosen by, for the log ("oom_score 812, rss
  // 200MiB"); without: why there is none ("no cgroup uses more than 5GiB
  // of swap").
  std::string detail;
  std::string key = {};          // what the candidates were ranked by: "rss", "oom_score", "age", ...
  std::vector<Ranked> ranking = {};  // every candidate: the victim, the others best first, then those under the threshold
  // Candidates there were, and the rule's own threshold (`by KEY > AMOUNT`,
  // a request) left none: the policy chose not to kill, nothing failed.
  bool noneQualified() const { return !victim && !ranking.empty(); }
};

// oomd's defaults for kill_by_memory_size_or_growth: a candidate using more
// than size_threshold=50 percent of all candidates' usage is the victim;
// otherwise the fastest growing of those at or above the
// growing_size_percentile=80th percentile of usage.
constexpr uint64_t kSizeThresholdPercent = 50;
constexpr uint64_t kGrowingSizePercentile = 80;

// `flags` are the decision's (MMP_KILL_*), `arg` its threshold (with
// MMP_KILL_ABOVE). Preferences rank first: the victim is the best by the
// key among the preferred candidates, else among those neither preferred
// nor avoided, else among the avoided; the detail says when a preference,
// not the key, decided.
Pick pickProcess(const std::vector<ProcessCandidate>& candidates, uint32_t flags, uint64_t arg);
Pick pickCgroup(const std::vector<CgroupCandidate>& candidates, uint32_t flags, uint64_t arg);

// The log's candidate table of a pick: at most kRankedRows of its ranking
// (each named by `who`), then the candidates left out before the pick
// (`excluded`, with their verdicts), kTableRows rows in all; the rows left
// out are counted in `omitted`.
constexpr size_t kRankedRows = 5, kTableRows = 8;
void candidateTable(const Pick& pick, const std::function<std::string(size_t)>& who,
                    const std::vector<CandidateRow>& excluded, std::vector<CandidateRow>& rows, size_t& omitted);

// Whether /proc/PID/status (its text) shows a process already on its way
// out: SIGKILL pending (how the kernel's OOM killer and cgroup.kill leave
// their victims), or dead or a zombie with no thread left (a thread group
// whose leader exited while other threads run shows Z too, and is alive).
bool dyingStatus(const std::string& status);

// "SIGKILL" for 0 (the default) and 9, "SIGTERM" for 15, "signal 77" for
// a number without a name.
std::string signalName(int signal);

}  // namespace mmp::runtime

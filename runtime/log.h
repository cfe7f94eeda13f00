// mmrun's structured log: one record per decision (enacted, dry-run,
// dropped, failed), as text or JSON lines on stdout, or to journald with
// its fields.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mmp::runtime {

// Journal: each record sent to journald over its native protocol
// (libsystemd's sd_journal_sendv), its text line as MESSAGE and each part
// a field (MMP_POLICY, MMP_RULE, MMP_CGROUP, ...; the whole JSON record as
// MMP_RECORD); a kill carries MESSAGE_ID kKillMessageId. Where journald
// does not take it, the text line goes to stdout.
enum class LogFormat { Text, Json, Journal };
inline constexpr const char* kKillMessageId = "9c24e8a0a32d49aa8d54d394dbba22a3";

// One row of a kill's candidate table: who, the key it was ranked by and
// its value, and what became of it ("victim", "ranked lower", "under the
// threshold", "protected", "guards a protected cgroup", "no process",
// "gone").
struct CandidateRow {
  std::string who;  // "pid 1234 (java)", or a cgroup's path
  std::string key, value;
  std::string verdict;
};

struct LogRecord {
  std::string kind = "decision";  // decision | info | error
  std::string policy = {};
  std::string rule = {};      // file:line
  std::string cgroup = {};    // path below the cgroup root
  std::string action = {};    // reclaim, throttle, ...
  std::string argument = {};  // "64MiB", "max", "pid 1234"
  std::string outcome = {};   // enacted | dry-run | dropped | failed | overruled | rate-limited
  std::string detail = {};    // why, or the errno text
  std::string message = {};   // a log action's text
  std::string by = {};        // a kill `in kernel`'s: who made it, "kernel" (the hook) or "mmrun"
  std::vector<std::pair<std::string, std::string>> values = {};  // what made the condition true
  std::vector<CandidateRow> candidates = {};  // a kill's: the top of its table
  size_t candidatesOmitted = 0;          // rows left out of it
  // From the decision in the BPF program (bpf_ktime_get_ns) to this record:
  // the action's own time and its wait in the ring buffer. None in replay.
  std::optional<double> latencyMs = std::nullopt;
  // Of which the wait: from the decision until mmrun began to enact it
  // (the rest of the walk that made it, the ring buffer, the loop).
  std::optional<double> queuedMs = std::nullopt;
  // The decision's own time (bpf_ktime_get_ns: CLOCK_MONOTONIC), to line
  // records up with other clocks (bench/runtime_bench.py). None in replay.
  std::optional<uint64_t> decidedNs = std::nullopt;
};

// `time` empty: now (replay gives the snapshot's time).
// The record as one JSON object (what --log-format json writes).
nlohmann::json logJson(const LogRecord& r, const std::string& time = "");
void writeLog(const LogRecord& r, LogFormat format, const std::string& time = "");

// While one lives (mmrun load), records go to stdout from a thread of
// their own, so the loop that decides and kills never waits on a stdout
// that does not drain: journald stalled by the very pressure mmrun acts
// on, a full pipe. Over kQueuedRecords waiting, a record is dropped and
// counted, and one record says how many once stdout takes them again.
// Destroyed, it writes what is left.
class LogWriter {
public:
  static constexpr size_t kQueuedRecords = 4096;
  explicit LogWriter(LogFormat format);
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;
};
// Records dropped for a stdout that did not keep up, since mmrun started.
uint64_t logRecordsDropped();

// A value from a decision, as a person reads it: "1.5GiB", "61.234%".
std::string formatValue(const std::string& type, uint64_t raw);

// A snapshot's time (CLOCK_MONOTONIC ns, what the BPF programs read) as
// seconds: "1234.567890123".
std::string formatMonotonic(uint64_t ns);

}  // namespace mmp::runtime

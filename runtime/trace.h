// Traces: snapshots as JSON lines, written by `mmrun record` and `mmrun
// load --record`, read by `mmrun replay` (docs/runtime.md). Fields go by
// name, so one trace replays against any policy whose fields it holds.
//
//   {"mmp_trace":1,"source":"mmrun record","policy":...,"cgroup_root":...,
//    "cgroup_version":"v1","mmrun_cgroup":"/user.slice","fields":[...]}
//   {"time_ns":1,"cgroup":null,"cgroup_id":0,"system.memory.free":...}
//   {"time_ns":2,"cgroup":"/a/b","cgroup_id":42,"memcg.usage":...,...}
//
// The first line, a header, is optional (a hand-written trace may leave it
// out). Values are the snapshot's raw u64s: bytes, thousandths of a
// percent, counts; 18446744073709551615 is "unlimited".
#pragma once

#include <llvm/Support/Error.h>

#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "manifest.h"

namespace mmp::runtime {

constexpr int kTraceFormat = 1;

struct TraceHeader {
  std::string source;         // "mmrun record", "mmrun load --record"
  std::string policy;         // the recording object's policy
  std::string cgroupRoot;
  std::string cgroupVersion;  // "v1" or "v2"
  std::string mmrunCgroup;    // the recording mmrun's own cgroup: protected, as it was live
  std::vector<std::string> fields;  // every field the records carry
};

// Which of the manifest's snapshot fields a record carries: a system
// record (cgroup id 0) the system fields, a cgroup's record those and the
// memcg fields. Event fields and strings are never recorded (the replay
// program runs `when` rules only, and strings are not in snapshots).
bool recordedIn(const SnapshotField& field, bool systemRecord);

class TraceWriter {
public:
  // `layout` is the manifest's "snapshot"; writes the header at once.
  TraceWriter(std::ostream& out, const std::vector<SnapshotField>& layout, TraceHeader header);
  // One snapshot as the programs filled it (struct mmp_snapshot: time,
  // cgroup id, scope mask, fields); `path` is null for the system record
  // or a cgroup that is gone.
  void write(const uint64_t* words, size_t count, const std::string* path);
  uint64_t written() const { return written_; }

private:
  std::ostream& out_;
  const std::vector<SnapshotField>& layout_;
  uint64_t written_ = 0;
};

struct TraceRecord {
  size_t line;
  uint64_t timeNs;
  uint64_t cgroupId;                 // 0: the system rules
  std::optional<std::string> cgroup;  // none: the system, or a cgroup gone before it was named
  std::vector<uint64_t> fields;      // in the policy's snapshot order (0 where not recorded)
};

struct Trace {
  std::optional<TraceHeader> header;
  std::vector<TraceRecord> records;
};

// Reads a whole trace for a policy whose snapshot layout is `layout`, so
// that a bad line fails the replay before any decision is printed. Errors
// read "NAME:LINE: what", naming the missing field, the malformed line or
// the unknown format.
llvm::Expected<Trace> readTrace(std::istream& in, const std::string& name, const std::vector<SnapshotField>& layout,
                                const std::string& policy);

}  // namespace mmp::runtime

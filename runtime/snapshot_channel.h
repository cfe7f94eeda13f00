// The snapshot channel of a policy loaded to record (PolicyOptions), read
// into a trace: drains the mmp_snapshots ring buffer alongside the
// decisions and names each snapshot's cgroup.
#pragma once

#include <bpf/libbpf.h>

#include <ext/stdio_filebuf.h>

#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "cgroupfs.h"
#include "policy.h"
#include "safe_file.h"
#include "trace.h"

namespace mmp::runtime {

class SnapshotChannel {
public:
  // `p` was loaded with PolicyOptions::record. The channel's ring buffer
  // joins `rb`, so that one ring_buffer__poll/consume drains both.
  static llvm::Expected<std::unique_ptr<SnapshotChannel>> start(Policy& p, const Hierarchy& h, struct ring_buffer* rb,
                                                                std::ostream& out, const std::string& source);
  // Flushes the trace; what the programs send later is not read.
  ~SnapshotChannel();

  uint64_t written() const { return writer_.written(); }
  // Snapshots the full ring buffer refused: the trace misses them.
  uint64_t lost() const;

private:
  SnapshotChannel(Policy& p, const Hierarchy& h, std::ostream& out, TraceHeader header);
  static int onRecord(void* self, void* data, size_t size);
  const std::string* pathOf(uint64_t id);

  Policy& policy_;
  const Hierarchy& h_;
  std::ostream& out_;
  TraceWriter writer_;
  // Every cgroup seen, kept when gone (kernfs ids are not reused); none:
  // gone before it could be named.
  std::map<uint64_t, std::optional<std::string>> paths_;
};

// `mmrun load --record FILE`: the channel into FILE (nothing when `path`
// is empty). FILE is a new file renamed over the path at once (safe_file.h:
// never written through a link). Closing it warns on stderr if snapshots
// were lost.
struct TraceFile {
  ~TraceFile();
  ReplacementFile file;
  std::unique_ptr<__gnu_cxx::stdio_filebuf<char>> buf;
  std::ostream out{nullptr};
  std::unique_ptr<SnapshotChannel> channel;
};
llvm::Expected<std::unique_ptr<TraceFile>> recordToFile(const std::string& path, Policy& p, const Hierarchy& h,
                                                        struct ring_buffer* rb);

}  // namespace mmp::runtime

// `mmrun replay POLICY.bpf.o TRACE.jsonl`: the policy's own replay program
// (BPF_PROG_TEST_RUN) on each recorded snapshot, in order, with the scope
// mask mmrun load would have given it; its decisions go through the
// enactor in dry run, so they print as mmrun load logs them. The trace is
// read and checked whole first: an error prints no decision.
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <set>

#include "abi/mmp_abi.h"
#include "commands.h"
#include "enactor.h"
#include "policy.h"
#include "trace.h"

namespace mmp::runtime {

namespace {

struct Sink {
  Enactor* enactor;
  uint64_t decisions = 0;
};

int onDecision(void* ctx, void* data, size_t size) {
  struct mmp_decision d;
  std::memset(&d, 0, sizeof d);
  std::memcpy(&d, data, std::min(size, sizeof d));
  auto* sink = static_cast<Sink*>(ctx);
  ++sink->decisions;
  sink->enactor->onDecision(d);
  return 0;
}

int error(const std::string& what) {
  std::cerr << fmt::format("mmrun: error: {}\n", what);
  return 1;
}

}  // namespace

int runReplay(const ReplayOptions& o) {
  auto manifest = readManifest(o.object);
  if (!manifest) return error(llvm::toString(manifest.takeError()));
  std::ifstream in(o.trace);
  if (!in) return error(fmt::format("cannot open the trace '{}': {}", o.trace, std::strerror(errno)));
  auto trace = readTrace(in, o.trace, manifest->snapshot, manifest->policy);
  if (!trace) return error(llvm::toString(trace.takeError()));

  auto policy = Policy::loadDetached(o.object);
  if (!policy) return error(llvm::toString(policy.takeError()));
  const Manifest& m = (*policy)->manifest();
  const TraceHeader header = trace->header.value_or(TraceHeader{});
  Hierarchy h{header.cgroupRoot.empty() ? "/" : header.cgroupRoot,
              header.cgroupVersion == "v1" ? CgroupVersion::V1 : CgroupVersion::V2};
  Scopes scopes(m, header.mmrunCgroup);
  Enactor enactor(m, h, scopes, {.dryRun = true, .format = o.format, .replay = true});
  std::vector<Cgroup> cgroups;
  std::set<uint64_t> seen;
  for (const auto& r : trace->records)
    if (r.cgroupId && r.cgroup && seen.insert(r.cgroupId).second) cgroups.push_back({r.cgroupId, *r.cgroup, ""});
  enactor.setCgroups(std::move(cgroups));

  Sink sink{&enactor};
  struct ring_buffer* rb = ring_buffer__new((*policy)->decisionsFd(), onDecision, &sink, nullptr);
  if (!rb) return error("cannot open the decisions ring buffer");
  uint64_t replayed = 0, unscoped = 0;
  int status = 0;
  for (const auto& r : trace->records) {
    // As live: the walk gives system rules every scope bit (the enactor
    // matches their scope), and a cgroup in no scope has no entry in
    // mmp_scopes, so its programs end before any rule.
    uint64_t mask = r.cgroupId == 0 ? ~0ULL : r.cgroup ? scopes.maskOf(*r.cgroup) : 0;
    if (mask == 0) {
      ++unscoped;
      continue;
    }
    std::vector<uint64_t> snapshot = {r.timeNs, r.cgroupId, mask};
    snapshot.insert(snapshot.end(), r.fields.begin(), r.fields.end());
    if (int err = (*policy)->replay(snapshot)) {
      status = error(fmt::format("{}:{}: the replay program failed: {}", o.trace, r.line, std::strerror(-err)));
      break;
    }
    ring_buffer__consume(rb);
    ++replayed;
  }
  ring_buffer__free(rb);
  std::cerr << fmt::format("mmrun: replayed {} snapshots of {} ({} in no scope of {}): {} decisions\n", replayed,
                           o.trace, unscoped, m.policy, sink.decisions);
  return status;
}

}  // namespace mmp::runtime

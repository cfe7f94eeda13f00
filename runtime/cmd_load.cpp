// `mmrun load POLICY.bpf.o`: the foreground daemon. Load and attach, then
// every interval: refresh the cgroups and their scopes, the system fields,
// run the walk; in between, enact the decisions the ring buffer brings.
// SIGINT/SIGTERM detach everything and exit 0; if mmrun dies, the kernel
// drops the links with its file descriptors: nothing stays attached.
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <signal.h>

#include <chrono>
#include <csignal>
#include <iostream>

#include "commands.h"
#include "enactor.h"
#include "policy.h"
#include "system_fields.h"

namespace mmp::runtime {

namespace {

volatile sig_atomic_t stopRequested = 0;
void onStop(int) { stopRequested = 1; }

int onRingbuf(void* ctx, void* data, size_t size) {
  struct mmp_decision d;
  std::memset(&d, 0, sizeof d);
  std::memcpy(&d, data, std::min(size, sizeof d));
  static_cast<Enactor*>(ctx)->onDecision(d);
  return 0;
}

// Actions a v1 memory controller cannot carry out, refused at load.
std::optional<std::string> v1Refusal(const Manifest& m) {
  for (const auto& rule : m.json["rules"])
    for (const auto& a : rule["actions"]) {
      std::string kind = a.value("kind", "");
      if (kind == "reclaim" || kind == "throttle" || kind == "unthrottle")
        return fmt::format("rule {} uses `{}`, which needs cgroup v2 ({}); this host's memory controller is "
                           "cgroup v1, where only fields, `limit`, `kill` and `log` work",
                           rule.value("location", "?"), kind, kind == "reclaim" ? "memory.reclaim" : "memory.high");
    }
  return std::nullopt;
}

}  // namespace

int runLoad(const LoadOptions& o) {
  if (o.objects.size() != 1) {
    std::cerr << "mmrun: error: this mmrun runs one policy at a time\n";
    return 2;
  }
  auto h = findMemoryHierarchy(o.cgroupRoot);
  if (!h) {
    std::cerr << fmt::format("mmrun: error: {}\n", llvm::toString(h.takeError()));
    return 1;
  }
  auto policy = Policy::load(o.objects[0], *h);
  if (!policy) {
    std::cerr << fmt::format("mmrun: error: {}\n", llvm::toString(policy.takeError()));
    return 1;
  }
  const Manifest& m = (*policy)->manifest();
  if (h->version == CgroupVersion::V1)
    if (auto why = v1Refusal(m)) {
      std::cerr << fmt::format("mmrun: error: {}\n", *why);
      return 1;
    }
  Scopes scopes(m, *h);
  Enactor enactor(m, *h, scopes, {o.dryRun, o.format});
  struct ring_buffer* rb = ring_buffer__new((*policy)->decisionsFd(), onRingbuf, &enactor, nullptr);
  if (!rb) {
    std::cerr << "mmrun: error: cannot open the decisions ring buffer\n";
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = onStop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  auto interval = std::chrono::nanoseconds(o.intervalNs ? o.intervalNs : m.json["settings"].value("interval_ns", 1'000'000'000ull));
  LogRecord start{"info", m.policy, "", h->root, "", "", "started", "", "", {}};
  start.detail = fmt::format("{} (cgroup {}), interval {} ms{}", (*policy)->path(),
                             h->version == CgroupVersion::V2 ? "v2" : "v1",
                             std::chrono::duration_cast<std::chrono::milliseconds>(interval).count(),
                             o.dryRun ? ", dry run" : "");
  writeLog(start, o.format);

  auto next = std::chrono::steady_clock::now();
  while (!stopRequested) {
    auto now = std::chrono::steady_clock::now();
    if (now >= next) {
      auto cgroups = listCgroups(*h);
      scopes.refresh((*policy)->map(MMP_MAP_SCOPES), cgroups);
      enactor.setCgroups(std::move(cgroups));
      refreshSystemFields(m, (*policy)->map("mmp_system"));
      if (!(*policy)->tick()) writeLog({"error", m.policy, "", "", "", "", "failed", "the periodic walk failed", "", {}}, o.format);
      next += interval;
      if (next < now) next = now + interval;  // fell behind: do not burst
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - std::chrono::steady_clock::now());
    ring_buffer__poll(rb, static_cast<int>(std::max<int64_t>(0, wait.count())));
  }
  ring_buffer__consume(rb);
  ring_buffer__free(rb);
  policy->reset();  // detach and unload
  writeLog({"info", m.policy, "", "", "", "", "stopped", "detached; the kernel's own policy is back", "", {}}, o.format);
  return 0;
}

}  // namespace mmp::runtime

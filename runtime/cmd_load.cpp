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

#include <bpf/bpf.h>
#include <sys/epoll.h>

#include "abi/mmp_counters.h"
#include "commands.h"
#include "enactor.h"
#include "policy.h"
#include "snapshot_channel.h"
#include "status.h"
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

nlohmann::json statusReport(const Policy& p, const Enactor& e, std::chrono::steady_clock::time_point started,
                            bool dryRun) {
  const Manifest& m = p.manifest();
  nlohmann::json rules = nlohmann::json::array();
  int countersFd = bpf_map__fd(p.map(MMP_MAP_COUNTERS));
  for (const auto& rule : m.json["rules"]) {
    uint32_t id = rule.value("id", 0u);
    struct mmp_rule_counters c {};
    mmp_read_counters(countersFd, id, &c);
    RuleCounters r;
    if (auto it = e.counters().find(id); it != e.counters().end()) r = it->second;
    rules.push_back({{"id", id}, {"location", rule.value("location", "")}, {"text", rule.value("text", "")},
                     {"evaluations", c.evaluations}, {"firings", c.firings}, {"dropped_decisions", c.drops},
                     {"enacted", r.enacted}, {"failed", r.failed}, {"dropped_protected", r.dropped},
                     {"rate_limited", r.rateLimited}, {"overruled", 0}});
  }
  auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count();
  return {{"policy", m.policy}, {"object", p.path()}, {"uptime_s", up}, {"dry_run", dryRun}, {"rules", rules}};
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
  auto policy = Policy::load(o.objects[0], *h, {.record = !o.recordPath.empty()});
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
  auto trace = recordToFile(o.recordPath, **policy, *h, rb);  // --record FILE
  if (!trace) {
    std::cerr << fmt::format("mmrun: error: {}\n", llvm::toString(trace.takeError()));
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

  // One wait for the ring buffer and for status requests.
  StatusServer status(m.policy, o.statusSocket);
  auto started = std::chrono::steady_clock::now();
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev {};
  ev.events = EPOLLIN;
  ev.data.fd = ring_buffer__epoll_fd(rb);
  epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
  if (status.fd() >= 0) {
    ev.data.fd = status.fd();
    epoll_ctl(ep, EPOLL_CTL_ADD, status.fd(), &ev);
  }

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
    struct epoll_event ready[2];
    int n = epoll_wait(ep, ready, 2, static_cast<int>(std::max<int64_t>(0, wait.count())));
    for (int i = 0; i < n; ++i) {
      if (ready[i].data.fd == status.fd())
        status.serve([&] { return statusReport(**policy, enactor, started, o.dryRun); });
      else
        ring_buffer__consume(rb);
    }
  }
  close(ep);
  ring_buffer__consume(rb);
  trace->reset();  // flush the trace
  ring_buffer__free(rb);
  policy->reset();  // detach and unload
  writeLog({"info", m.policy, "", "", "", "", "stopped", "detached; the kernel's own policy is back", "", {}}, o.format);
  return 0;
}

}  // namespace mmp::runtime

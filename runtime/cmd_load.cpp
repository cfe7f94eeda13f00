// `mmrun load POLICY.bpf.o...`: the foreground daemon. Load and attach
// each policy, then every interval of each: refresh the cgroups and their
// scopes (and forget the state rows of cgroups that are gone), the system
// fields, run the walk; in between, enact the decisions
// the ring buffers bring, the earlier policy winning where two meet.
// SIGHUP reloads the objects (new attached before old detached);
// --policy-dir runs a directory's objects as they come, change and go.
// SIGINT/SIGTERM detach everything and exit 0; if mmrun dies, the kernel drops
// the links with its file descriptors: nothing stays attached (unless
// --pin pinned them).
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include <bpf/bpf.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/mman.h>

#include "abi/mmp_counters.h"
#include "arbiter.h"
#include "cgroup_watch.h"
#include "commands.h"
#include "enactor.h"
#include "metrics.h"
#include "metrics_server.h"
#include "pace.h"
#include "policy.h"
#include "policy_dir.h"
#include "pressure_fresh.h"
#include "psi_triggers.h"
#include "snapshot_channel.h"
#include "urgent.h"
#include "state_rows.h"
#include "status.h"
#include "system_fields.h"

namespace mmp::runtime {

namespace {

volatile sig_atomic_t stopRequested = 0, reloadRequested = 0;
void onStop(int) { stopRequested = 1; }
void onReload(int) { reloadRequested = 1; }

int onRingbuf(void* ctx, void* data, size_t size) {
  struct mmp_decision d;
  std::memset(&d, 0, sizeof d);
  std::memcpy(&d, data, std::min(size, sizeof d));
  static_cast<Enactor*>(ctx)->onDecision(d);
  return 0;
}

// Actions a v1 memory controller cannot carry out, refused at load.
std::optional<std::string> v1Refusal(const Manifest& m) {
  for (const auto& rule : m.rules) {
    if (rule.event == "pressure")
      return fmt::format("rule {} is `on pressure`, which needs cgroup v2 (a PSI trigger on memory.pressure); this "
                         "host's memory controller is cgroup v1, where only fields, `limit`, `kill` and `log` work",
                         rule.location);
    for (const auto& a : rule.actions) {
      const std::string& kind = a.kind;
      const char* file = "";  // the cgroup v2 file the action writes, where v1 has none
#define MMP_ACTION_ROW(k, code, spelling, cooldown, v2file) \
  if (kind == spelling) file = v2file;
#include "abi/mmp_actions.def"
#undef MMP_ACTION_ROW
      if (*file)
        return fmt::format("rule {} uses `{}`, which needs cgroup v2 ({}); this host's memory controller is "
                           "cgroup v1, where only fields, `limit`, `kill` and `log` work",
                           rule.location, kind, file);
    }
  }
  return std::nullopt;
}

nlohmann::json statusReport(const Policy& p, const Enactor& e, std::chrono::steady_clock::time_point started,
                            bool dryRun) {
  const Manifest& m = p.manifest();
  nlohmann::json rules = nlohmann::json::array();
  int countersFd = bpf_map__fd(p.map(MMP_MAP_COUNTERS));
  for (const auto& rule : m.rules) {
    uint32_t id = rule.id;
    struct mmp_rule_counters c {};
    mmp_read_counters(countersFd, id, &c);
    RuleCounters r;
    if (auto it = e.counters().find(id); it != e.counters().end()) r = it->second;
    auto logged = r.decisions.count("log") ? r.decisions.at("log")[static_cast<size_t>(Outcome::Enacted)] : 0;
    rules.push_back({{"id", id}, {"location", rule.location}, {"text", rule.text},
                     {"evaluations", c.evaluations}, {"firings", c.firings}, {"dropped_decisions", c.drops},
                     {"enacted", r.total(Outcome::Enacted) - logged}, {"logged", logged},
                     {"dry_run", r.total(Outcome::DryRun)}, {"failed", r.total(Outcome::Failed)},
                     {"dropped_protected", r.total(Outcome::Protected) + r.total(Outcome::OutOfScope)},
                     {"rate_limited", r.total(Outcome::RateLimited)}, {"overruled", r.total(Outcome::Overruled)},
                     {"superseded", r.total(Outcome::Superseded)}, {"no_victim", r.total(Outcome::NoVictim)}});
  }
  auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count();
  nlohmann::json recent = nlohmann::json::array();
  for (const auto& r : e.recent()) recent.push_back(r);
  return {{"policy", m.policy}, {"object", p.path()}, {"uptime_s", up}, {"dry_run", dryRun}, {"rules", rules},
          {"not_attached", p.unattached()}, {"recent", recent}, {"log_records_dropped", logRecordsDropped()}};
}

// One policy as it runs: the object, its scopes, its enactor and its ring
// buffer. Destroyed, it detaches.
struct Running {
  size_t rank = 0;       // where two policies meet, the lower wins: the command line's order, then the directory's
  uint32_t slot = 0;     // its epoll tags' id: kept across reloads, never reused
  bool fromDir = false;  // --policy-dir's: detached when its file goes
  std::string path;      // as given on the command line, or found in the directory
  std::unique_ptr<Policy> policy;
  std::unique_ptr<Scopes> scopes;
  std::unique_ptr<Enactor> enactor;
  struct ring_buffer* rb = nullptr;
  std::unique_ptr<TraceFile> trace;  // --record
  uint64_t cleaned = ~0ULL;          // the listing whose gone cgroups' rows were deleted
  std::unique_ptr<PsiTriggers> psi;  // `on pressure` rules
  std::unique_ptr<PressureFreshener> fresh;  // the scoped cgroups' PSI, folded before each walk
  uint64_t triggered = ~0ULL;        // the listing the triggers follow
  uint64_t scoped = ~0ULL;           // the listing the scopes map and the enactor follow
  bool rehearsed = false;            // its kills chosen once, pretending (Enactor::rehearse)
  std::chrono::nanoseconds interval{0};
  std::chrono::steady_clock::time_point next, started;
  std::string sha256;                     // of the object as loaded
  std::chrono::system_clock::time_point loadedAt;  // this object's load
  size_t watched = 0;                     // cgroups in some scope
  ~Running() {
    if (rb) {
      ring_buffer__consume(rb);  // the decisions already made are enacted
      trace.reset();             // flushed, before its ring buffer goes
      ring_buffer__free(rb);
    }
  }
};

// Rows enough for 16 times the cgroups there are now, 4,096 at the least:
// a row is made for each cgroup in scope as the rules first evaluate it,
// and the LRU map evicts the least recently evaluated when full, so rows
// fewer than the cgroups in scope would lose `for` and cooldown state.
// The hierarchy may grow 16-fold before that; a reload sizes it again.
uint32_t stateRowsFor(size_t cgroups) {
  return static_cast<uint32_t>(std::bit_ceil(std::max<size_t>(4096, 16 * cgroups)));
}

llvm::Expected<std::unique_ptr<Running>> start(const LoadOptions& o, const std::string& path, size_t rank,
                                               const Hierarchy& h, Arbiter* arbiter) {
  // What a v1 host cannot do is refused before anything reaches the kernel.
  if (h.version == CgroupVersion::V1) {
    auto manifest = readManifest(path);
    if (!manifest) return manifest.takeError();
    if (auto why = v1Refusal(*manifest))
      return llvm::createStringError(std::errc::not_supported, "%s: %s", path.c_str(), why->c_str());
  }
  std::string sha256 = fileSha256(path);
  // Kills `in kernel` only where mmrun would make them as they come: not
  // pretended, without a hook to run first, not overruled by a policy
  // given before.
  auto policy = Policy::load(path, h, {.record = !o.recordPath.empty(),
                                       .kernelKills = !o.dryRun && o.preKill.empty() && rank == 0,
                                       .stateRows = stateRowsFor(listCgroups(h).size())});
  if (!policy) return policy.takeError();
  auto r = std::make_unique<Running>();
  r->sha256 = std::move(sha256);
  r->loadedAt = std::chrono::system_clock::now();
  r->rank = rank;
  r->path = path;
  r->policy = std::move(*policy);
  const Manifest& m = r->policy->manifest();
  r->scopes = std::make_unique<Scopes>(m, h);
  auto preferences = Preferences::compile(m.preferences);
  if (!preferences) return preferences.takeError();
  if (auto psi = std::make_unique<PsiTriggers>(m); psi->wanted()) r->psi = std::move(psi);
  if (auto fresh = std::make_unique<PressureFreshener>(m, h); fresh->wanted()) r->fresh = std::move(fresh);
  r->enactor = std::make_unique<Enactor>(m, h, *r->scopes, EnactOptions{.dryRun = o.dryRun, .format = o.format, .arbiter = arbiter, .rank = rank,
                             .stateFd = r->policy->map(MMP_MAP_STATE) ? bpf_map__fd(r->policy->map(MMP_MAP_STATE)) : -1,
                             .preKill = o.preKill,
                             .preKillLimit = std::chrono::milliseconds(o.preKillLimitNs / 1'000'000),
                             .preferences = std::move(*preferences), .hasten = o.realtime});
  r->rb = ring_buffer__new(r->policy->decisionsFd(), onRingbuf, r->enactor.get(), nullptr);
  if (!r->rb)
    return llvm::createStringError(std::errc::io_error, "%s: cannot open the decisions ring buffer", r->path.c_str());
  auto trace = recordToFile(o.recordPath, *r->policy, h, r->rb);  // --record FILE
  if (!trace) return trace.takeError();
  r->trace = std::move(*trace);
  r->interval = std::chrono::nanoseconds(o.intervalNs ? o.intervalNs
                                                      : m.settings.intervalNs);
  r->started = r->next = std::chrono::steady_clock::now();
  if (!o.pinDir.empty())
    if (auto err = r->policy->pin(o.pinDir)) return err;
  return r;
}

void logStarted(const Running& r, const Hierarchy& h, const LoadOptions& o, const char* what) {
  const Manifest& m = r.policy->manifest();
  LogRecord rec{.kind = "info", .policy = m.policy, .cgroup = h.root, .outcome = what};
  rec.detail = fmt::format("{} (cgroup {}), interval {} ms{}{}", r.path, h.version == CgroupVersion::V2 ? "v2" : "v1",
                           std::chrono::duration_cast<std::chrono::milliseconds>(r.interval).count(),
                           o.dryRun ? ", dry run" : "", o.pinDir.empty() ? "" : ", pinned in " + o.pinDir);
  writeLog(rec, o.format);
  if (!r.policy->killPath().empty()) {
    rec.outcome = "kill path";
    rec.detail = "kills in kernel made by: " + r.policy->killPath();
    writeLog(rec, o.format);
  }
  for (const auto& note : r.policy->unattached()) {
    rec.outcome = "not attached";
    rec.detail = note;
    writeLog(rec, o.format);
  }
}

// SIGINT/SIGTERM stop, SIGHUP reloads; a closed status client or log
// reader is an error to handle, not death.
void installSignals() {
  struct sigaction sa {};
  sa.sa_handler = onStop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = onReload;
  sigaction(SIGHUP, &sa, nullptr);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, nullptr);
}

// Decisions of several policies are arbitrated: more than one object, or
// a directory's, which may bring more at any time.
bool arbitrated(const LoadOptions& o) { return o.objects.size() > 1 || !o.policyDir.empty(); }

// The name `mmrun status` knows this mmrun by: the first policy's, or the
// policy directory's when no object is given.
std::string statusName(const LoadOptions& o) {
  auto dir = std::filesystem::path(o.policyDir).lexically_normal();
  std::string name = dir.filename().string();
  if (name.empty()) name = dir.parent_path().filename().string();
  return name.empty() ? "mmrun" : name;
}

// Signals wait while objects load: one arriving during the kernel's
// verification would make it give up (EAGAIN). True if a SIGHUP came
// meanwhile.
template <typename F>
bool withSignalsHeld(F&& f) {
  sigset_t held, before, pending;
  sigemptyset(&held);
  for (int sig : {SIGHUP, SIGINT, SIGTERM}) sigaddset(&held, sig);
  sigprocmask(SIG_BLOCK, &held, &before);
  f();
  sigpending(&pending);
  bool hup = sigismember(&pending, SIGHUP);
  sigprocmask(SIG_SETMASK, &before, nullptr);
  return hup;
}

// The command line's policies all load, or none runs (the error on
// stderr). The arbiter's window becomes the shortest of their intervals.
std::optional<std::vector<std::unique_ptr<Running>>> loadAll(const LoadOptions& o, const Hierarchy& h,
                                                             Arbiter& arbiter) {
  std::vector<std::unique_ptr<Running>> running;
  std::chrono::nanoseconds window = std::chrono::nanoseconds::max();
  for (size_t i = 0; i < o.objects.size(); ++i) {
    auto r = start(o, o.objects[i], i, h, arbitrated(o) ? &arbiter : nullptr);
    if (!r) {
      std::cerr << fmt::format("mmrun: error: {}\n", llvm::toString(r.takeError()));
      return std::nullopt;
    }
    for (const auto& other : running)
      if (other->policy->manifest().policy == (*r)->policy->manifest().policy) {
        std::cerr << fmt::format("mmrun: error: {} and {} are both policy `{}`: give each policy once\n", other->path,
                                 (*r)->path, other->policy->manifest().policy);
        return std::nullopt;
      }
    window = std::min(window, (*r)->interval);
    (*r)->slot = static_cast<uint32_t>(i);
    running.push_back(std::move(*r));
  }
  arbiter.setWindow(running.empty() ? std::chrono::nanoseconds(0) : window);
  return running;
}

// The loop of `mmrun load`: one epoll wait for the ring buffers (each
// tagged with its policy's slot), status requests, metrics scrapes, cgroup
// changes, the policy directory and PSI triggers; each policy's walk when
// it is due, sooner as memory runs out (pace.h).
class Daemon {
public:
  Daemon(const LoadOptions& o, const Hierarchy& h, Arbiter& arbiter, std::vector<std::unique_ptr<Running>>& running,
         MetricsServer* metrics);
  ~Daemon() { close(ep_); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  void run();  // until SIGINT or SIGTERM

private:
  using Clock = std::chrono::steady_clock;
  static constexpr uint64_t kStatusTag = ~0ULL, kCgroupsTag = ~1ULL, kMetricsTag = ~2ULL, kDirTag = ~3ULL;
  static constexpr uint64_t kPsiTag = 1ULL << 62;  // | the policy's slot << 32 | the trigger's fd
  static constexpr Clock::time_point kNever = Clock::time_point::max();

  const std::string& name() const { return running_.empty() ? statusName_ : running_[0]->policy->manifest().policy; }
  void watch(int fd, uint64_t tag, int op, uint32_t events = EPOLLIN);
  void psiSync(Running& r, const std::vector<Cgroup>& list);
  void rescope();
  void reloadAll();
  void reload(std::unique_ptr<Running>& r);
  void replace(std::unique_ptr<Running>& r, std::unique_ptr<Running> fresh);
  void syncDir();
  const Running* owner(const std::string& policy, const Running* except) const;
  void reorder();
  Clock::time_point walkDue();
  void walk(Running& r, Clock::time_point now);
  void dispatch(Clock::time_point wake);
  std::string render(bool openMetrics) const;
  nlohmann::json report() const;

  const LoadOptions& o_;
  const Hierarchy& h_;
  Arbiter& arbiter_;
  std::vector<std::unique_ptr<Running>>& running_;
  MetricsServer* metrics_;
  std::string statusName_;
  StatusServer status_;
  CgroupWatch cgroups_;
  MemoryPace pace_;
  int ep_ = epoll_create1(EPOLL_CLOEXEC);
  // --policy-dir: the directory, when to list it next, and the digest of
  // each file that failed to load (tried again once its content changes).
  std::unique_ptr<PolicyDir> dir_;
  Clock::time_point dirDue_ = kNever;
  std::map<std::string, std::string> failed_;
  uint32_t nextSlot_ = 0;
};

Daemon::Daemon(const LoadOptions& o, const Hierarchy& h, Arbiter& arbiter,
               std::vector<std::unique_ptr<Running>>& running, MetricsServer* metrics)
    : o_(o), h_(h), arbiter_(arbiter), running_(running), metrics_(metrics),
      statusName_(running.empty() ? statusName(o) : running[0]->policy->manifest().policy),
      status_(statusName_, o.statusSocket), cgroups_(h) {
  if (!status_.error().empty())
    writeLog({.kind = "error", .policy = name(), .outcome = "failed", .detail = status_.error()}, o_.format);
  for (const auto& r : running_) watch(ring_buffer__epoll_fd(r->rb), r->slot, EPOLL_CTL_ADD);
  nextSlot_ = static_cast<uint32_t>(running_.size());
  if (status_.fd() >= 0) watch(status_.fd(), kStatusTag, EPOLL_CTL_ADD);
  if (metrics_) watch(metrics_->fd(), kMetricsTag, EPOLL_CTL_ADD);
  if (cgroups_.fd() >= 0) watch(cgroups_.fd(), kCgroupsTag, EPOLL_CTL_ADD);
  if (!o_.policyDir.empty()) {
    dir_ = std::make_unique<PolicyDir>(o_.policyDir);
    if (dir_->fd() >= 0) {
      watch(dir_->fd(), kDirTag, EPOLL_CTL_ADD);
      writeLog({.kind = "info", .policy = name(), .outcome = "watching",
                .detail = fmt::format("the policy directory {}: its *.bpf.o run as they come, change and go", dir_->path())},
               o_.format);
    } else
      writeLog({.kind = "error", .policy = name(), .outcome = "failed",
                .detail = fmt::format("policy directory: {}; it is listed again every second instead", dir_->error())},
               o_.format);
    dirDue_ = Clock::now();  // the first listing, once run() holds the signals
  }
}

void Daemon::watch(int fd, uint64_t tag, int op, uint32_t events) {
  struct epoll_event ev {};
  ev.events = events;
  ev.data.u64 = tag;
  epoll_ctl(ep_, op, fd, &ev);
}

void Daemon::psiSync(Running& r, const std::vector<Cgroup>& list) {
  if (!r.psi || r.triggered == cgroups_.generation()) return;
  r.triggered = cgroups_.generation();
  auto errors = r.psi->sync(list, *r.scopes, [&](int fd, uint64_t, bool add) {
    watch(fd, kPsiTag | (uint64_t{r.slot} << 32) | static_cast<uint32_t>(fd), add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL,
          EPOLLPRI);
  });
  for (const auto& e : errors)
    writeLog({.kind = "error", .policy = r.policy->manifest().policy, .outcome = "failed", .detail = "PSI trigger: " + e},
             o_.format);
}

// A cgroup made or removed: every policy's scopes at once, not at its next
// walk.
void Daemon::rescope() {
  const auto& now = cgroups_.current();
  for (auto& r : running_) {
    r->watched = r->scopes->refresh(r->policy->map(MMP_MAP_SCOPES), now);
    r->scopes->refreshProtected(r->policy->map(MMP_MAP_PROTECTED), now);
    if (r->fresh) r->fresh->follow(*r->scopes, now);
    r->enactor->setCgroups(now);
    r->scoped = cgroups_.generation();
    psiSync(*r, now);
  }
}

std::string Daemon::render(bool openMetrics) const {
  std::vector<PolicyView> views;
  for (const auto& r : running_)
    views.push_back({r->policy.get(), r->enactor.get(), r->sha256,
                     std::chrono::duration<double>(r->loadedAt.time_since_epoch()).count(), r->watched});
  return renderMetrics(views, openMetrics);
}

nlohmann::json Daemon::report() const {
  nlohmann::json all = nlohmann::json::array();
  for (const auto& r : running_) all.push_back(statusReport(*r->policy, *r->enactor, r->started, o_.dryRun));
  return all;
}

// SIGHUP: each object anew, and the policy directory listed again.
// SIGHUPs that arrive meanwhile make one more reload, not one each.
void Daemon::reloadAll() {
  reloadRequested = 0;
  if (!o_.recordPath.empty()) {
    // A reloaded object may read other fields: its trace would not be one
    // trace any more.
    writeLog({.kind = "error", .policy = name(), .outcome = "failed",
              .detail = "reload: not while recording (--record); the loaded policy keeps running"},
             o_.format);
    return;
  }
  bool again = withSignalsHeld([this] {
    for (auto& r : running_) reload(r);
    if (dir_) syncDir();
  });
  malloc_trim(0);  // the loads' BTF, as at start
  if (again)
    writeLog({.kind = "info", .policy = name(), .outcome = "reload",
              .detail = "SIGHUP during the reload: loading the objects once more"},
             o_.format);
}

// The new object loads and attaches while the old one still runs.
void Daemon::reload(std::unique_ptr<Running>& r) {
  auto fresh = start(o_, r->path, r->rank, h_, arbitrated(o_) ? &arbiter_ : nullptr);
  if (!fresh) {
    writeLog({.kind = "error", .policy = r->policy->manifest().policy, .outcome = "failed",
              .detail = fmt::format("reload: {}; the loaded policy keeps running", llvm::toString(fresh.takeError()))},
             o_.format);
    return;
  }
  replace(r, std::move(*fresh));
}

void Daemon::replace(std::unique_ptr<Running>& r, std::unique_ptr<Running> fresh) {
  watch(ring_buffer__epoll_fd(r->rb), 0, EPOLL_CTL_DEL);
  fresh->started = r->started;
  fresh->slot = r->slot;
  fresh->fromDir = r->fromDir;
  fresh->rank = r->rank;
  fresh->enactor->setRank(r->rank);
  r = std::move(fresh);  // the old one detaches here
  watch(ring_buffer__epoll_fd(r->rb), r->slot, EPOLL_CTL_ADD);
  logStarted(*r, h_, o_, "reloaded");
}

const Running* Daemon::owner(const std::string& policy, const Running* except) const {
  for (const auto& r : running_)
    if (r.get() != except && r->policy->manifest().policy == policy) return r.get();
  return nullptr;
}

// --policy-dir: the objects the directory holds now against those running
// from it. A new one starts, a changed one (another digest) reloads with
// no gap, a removed one detaches; one that fails to load is logged once
// per content and leaves the others running.
void Daemon::syncDir() {
  dirDue_ = dir_->fd() >= 0 ? kNever : Clock::now() + std::chrono::seconds(1);
  auto files = dir_->list();
  auto listed = [&](const std::string& path) { return std::binary_search(files.begin(), files.end(), path); };
  bool changed = false;
  for (auto it = running_.begin(); it != running_.end();) {
    if (!(*it)->fromDir || listed((*it)->path)) {
      ++it;
      continue;
    }
    std::string policy = (*it)->policy->manifest().policy, path = (*it)->path;
    watch(ring_buffer__epoll_fd((*it)->rb), 0, EPOLL_CTL_DEL);
    it = running_.erase(it);  // enacts what its ring buffer holds, then detaches
    writeLog({.kind = "info", .policy = policy, .outcome = "stopped",
              .detail = path + " left the policy directory: detached"},
             o_.format);
    changed = true;
  }
  std::erase_if(failed_, [&](const auto& f) { return !listed(f.first); });
  for (const auto& path : files) {
    std::string sha = fileSha256(path);
    if (sha.empty()) continue;  // gone since the listing: its event follows
    auto at = std::find_if(running_.begin(), running_.end(),
                           [&](const auto& r) { return r->fromDir && r->path == path; });
    Running* old = at == running_.end() ? nullptr : at->get();
    if ((old && old->sha256 == sha) || (failed_.count(path) && failed_[path] == sha)) continue;
    auto fresh = start(o_, path, running_.size(), h_, &arbiter_);
    std::string why;
    if (!fresh) why = llvm::toString(fresh.takeError());
    else if (const Running* other = owner((*fresh)->policy->manifest().policy, old))
      why = fmt::format("policy `{}` already runs from {}: give each policy once", other->policy->manifest().policy,
                        other->path);
    if (!why.empty()) {
      failed_[path] = sha;
      writeLog({.kind = "error", .policy = old ? old->policy->manifest().policy : name(), .outcome = "failed",
                .detail = fmt::format("policy directory: {}; {} keep running", why,
                                      old ? "the loaded policy and the others" : "the other policies")},
               o_.format);
      continue;
    }
    failed_.erase(path);
    if (old) {
      replace(*at, std::move(*fresh));
    } else {
      (*fresh)->fromDir = true;
      (*fresh)->slot = nextSlot_++;
      watch(ring_buffer__epoll_fd((*fresh)->rb), (*fresh)->slot, EPOLL_CTL_ADD);
      logStarted(**fresh, h_, o_, "started");
      running_.push_back(std::move(*fresh));
    }
    changed = true;
  }
  if (changed) reorder();
}

// Ranks anew after the directory changed the set: the command line's
// objects first, in their order, then the directory's by file name. The
// arbiter's window follows the shortest interval.
void Daemon::reorder() {
  std::stable_sort(running_.begin(), running_.end(), [](const auto& a, const auto& b) {
    if (a->fromDir != b->fromDir) return !a->fromDir;
    return a->fromDir ? a->path < b->path : a->rank < b->rank;
  });
  auto window = std::chrono::nanoseconds::max();
  for (size_t i = 0; i < running_.size(); ++i) {
    running_[i]->rank = i;
    running_[i]->enactor->setRank(i);
    window = std::min(window, running_[i]->interval);
  }
  arbiter_.setWindow(running_.empty() ? std::chrono::nanoseconds(0) : window);
}

// The walks that are due; when the next one is.
Daemon::Clock::time_point Daemon::walkDue() {
  auto now = Clock::now();
  auto wake = std::min(now + std::chrono::hours(1), dirDue_);
  bool due = false;
  for (auto& r : running_) due |= now >= r->next;
  if (due) {
    pace_.observe(now, memoryLeft());
  }
  for (auto& r : running_) {
    if (now >= r->next) walk(*r, now);
    wake = std::min(wake, r->next);
  }
  return wake;
}

void Daemon::walk(Running& r, Clock::time_point now) {
  const Manifest& m = r.policy->manifest();
  const auto& list = cgroups_.current();
  // Rows of cgroups that are gone: only when the listing changed.
  if (struct bpf_map* state = r.policy->map(MMP_MAP_STATE); state && r.cleaned != cgroups_.generation()) {
    forgetGoneCgroups(state, stateKeys(state), list);
    r.cleaned = cgroups_.generation();
  }
  // Matching every cgroup against the scopes costs: only for a new listing
  // (a walk every 10 ms as memory runs out, 60 pods churning).
  if (r.scoped != cgroups_.generation()) {
    r.watched = r.scopes->refresh(r.policy->map(MMP_MAP_SCOPES), list);
    r.scopes->refreshProtected(r.policy->map(MMP_MAP_PROTECTED), list);
    r.enactor->setCgroups(list);
    if (r.fresh) r.fresh->follow(*r.scopes, list);
    r.scoped = cgroups_.generation();
  }
  if (!r.rehearsed) {
    r.enactor->rehearse();
    r.rehearsed = true;
  }
  r.enactor->sampleReclaim();  // before the walk whose decisions may use it
  psiSync(r, list);
  refreshSystemFields(m, r.policy->map("mmp_system"));
  if (r.fresh) r.fresh->freshen();
  if (!r.policy->tick())
    writeLog({.kind = "error", .policy = m.policy, .outcome = "failed", .detail = "the periodic walk failed"}, o_.format);
  r.next = std::min(r.next + r.interval, now + pace_.next(r.interval));
  if (r.next < now) r.next = now + r.interval;  // fell behind: do not burst
}

// One wait, until `wake` at the latest, and what it brought.
void Daemon::dispatch(Clock::time_point wake) {
  // Rounded up: a wait rounded down to 0 ms spins until the tick is due.
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake - Clock::now());
  struct epoll_event ready[8];
  int n = epoll_wait(ep_, ready, 8, static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 3'600'000)));
  bool decisions = false;
  for (int i = 0; i < n; ++i) {
    uint64_t tag = ready[i].data.u64;
    if (tag == kStatusTag) status_.serve([this] { return report(); });
    else if (tag == kMetricsTag) metrics_->serve([this](bool openMetrics) { return render(openMetrics); });
    else if (tag == kCgroupsTag) {
      if (cgroups_.drain()) rescope();
    } else if (tag == kDirTag) {
      // A copy or the kubelet's swap is several events: listed once they settle.
      if (dir_->drain()) dirDue_ = std::min(dirDue_, Clock::now() + std::chrono::milliseconds(100));
    } else if (tag & kPsiTag) {
      // Pressure crossed the trigger in one cgroup: its `on pressure` rules now.
      uint32_t slot = static_cast<uint32_t>((tag >> 32) & 0x3fffffff);
      for (auto& r : running_)
        if (r->slot == slot && r->psi)
          if (uint64_t id = r->psi->cgroupOf(static_cast<int>(tag & 0xffffffff)))
            PsiTriggers::fire(r->policy->map(MMP_MAP_TRIGGER), id, [&] { return r->policy->tick(); });
      decisions = true;
    } else decisions = true;
  }
  // In the policies' order, so that where two meet the earlier claims first.
  if (decisions) {
    Urgent urgent(o_.realtime);
    for (auto& r : running_) ring_buffer__consume(r->rb);
  }
}

void Daemon::run() {
  while (!stopRequested) {
    if (reloadRequested) reloadAll();
    // (A SIGHUP held meanwhile is delivered after: it reloads next.)
    if (dir_ && Clock::now() >= dirDue_) withSignalsHeld([this] { syncDir(); });
    dispatch(walkDue());
  }
}

}  // namespace

int runLoad(const LoadOptions& o) {
  if (!o.recordPath.empty() && (o.objects.size() != 1 || !o.policyDir.empty())) {
    std::cerr << "mmrun: error: --record writes one policy's trace: give one object\n";
    return 2;
  }
  std::optional<MetricsAddress> metricsAt;
  if (!o.metrics.empty()) {
    auto at = parseMetricsAddress(o.metrics);
    if (!at) {
      std::cerr << fmt::format("mmrun: error: {}\n", llvm::toString(at.takeError()));
      return 2;
    }
    metricsAt = *at;
  }
  auto h = findMemoryHierarchy(o.cgroupRoot);
  if (!h) {
    std::cerr << fmt::format("mmrun: error: {}\n", llvm::toString(h.takeError()));
    return 1;
  }
  // mmrun locks all its memory (below), so each thread's stack is resident
  // whole: 256 KiB for every thread made from here on (the log's writer,
  // cpp-httplib's, which std::thread makes without attributes), not
  // glibc's 8 MiB each.
  pthread_attr_t stack;
  pthread_attr_init(&stack);
  pthread_attr_setstacksize(&stack, 256 << 10);
  pthread_setattr_default_np(&stack);
  pthread_attr_destroy(&stack);
  // --metrics: the server, bound before anything reaches the kernel, and
  // the kernel's run statistics of BPF programs for as long as the fd is
  // open (off otherwise: they cost two clock reads per run).
  std::unique_ptr<MetricsServer> metrics;
  int statsFd = -1, statsErr = 0;
  if (metricsAt) {
    auto server = MetricsServer::start(*metricsAt);
    if (!server) {
      std::cerr << fmt::format("mmrun: error: {}\n", llvm::toString(server.takeError()));
      return 1;
    }
    metrics = std::move(*server);
    statsFd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    statsErr = errno;
  }
  // What a thrashing machine must not page out, as earlyoom does: mmrun's
  // code, heap and the pages it will map (docs/runtime.md, "Memory").
  // The heap's free top is kept, not given back: with MCL_FUTURE every page
  // the heap grows by is faulted in at once, and a kill that grew it as
  // memory runs out would wait on reclaim for its own allocations.
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  // One heap for every thread: glibc reserves 64 MiB of address space for
  // each other thread's own, which mlockall counts as locked.
  mallopt(M_ARENA_MAX, 1);
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
    writeLog({.kind = "error", .outcome = "failed",
              .detail = fmt::format("mlockall: {}; mmrun's memory may be paged out under pressure", std::strerror(errno))},
             o.format);
  // From here the log leaves through its own thread (after mlockall: its
  // stack is locked too): a stalled stdout must not stall a kill.
  LogWriter logWriter(o.format);
  Arbiter arbiter(std::chrono::nanoseconds(0));
  auto loaded = loadAll(o, *h, arbiter);
  if (!loaded) return 1;
  // Loading parsed the kernel's BTF (megabytes, freed since): the heap
  // gives back what it no longer holds, which mlockall would keep.
  malloc_trim(0);
  std::vector<std::unique_ptr<Running>> running = std::move(*loaded);
  installSignals();
  for (const auto& r : running) logStarted(*r, *h, o, "started");
  if (metrics) {
    std::string policy = running.empty() ? statusName(o) : running[0]->policy->manifest().policy;
    writeLog({.kind = "info", .policy = policy, .outcome = "metrics", .detail = "serving " + metrics->url()}, o.format);
    if (statsFd < 0)
      writeLog({.kind = "error", .policy = policy, .outcome = "failed",
                .detail = fmt::format("BPF statistics: {}; mmp_bpf_runs_total and mmp_bpf_run_time_seconds_total stay 0 "
                            "unless kernel.bpf_stats_enabled is 1", std::strerror(statsErr))},
               o.format);
  }
  Daemon(o, *h, arbiter, running, metrics.get()).run();
  metrics.reset();  // scrapes still waiting are answered 503
  if (statsFd >= 0) close(statsFd);
  for (auto& r : running) {
    std::string name = r->policy->manifest().policy;
    r.reset();  // enact what is left, detach and unload
    writeLog({.kind = "info", .policy = name, .outcome = "stopped", .detail = "detached; the kernel's own policy is back"}, o.format);
  }
  return 0;
}

}  // namespace mmp::runtime

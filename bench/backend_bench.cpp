// The back end's benchmark tool (bench/run_backend.sh drives it):
//
//   mmp_backend_bench insns NAME HAND.o MMPC.o [NAME HAND.o MMPC.o ...]
//       loads both objects of each policy into the kernel and prints, per
//       program, the instruction and verified-instruction counts
//       (bpf_prog_info.verified_insns) and the ratio mmpc / hand-written.
//   mmp_backend_bench same MANIFEST HAND.o MMPC.o [CASES]
//       runs both replay programs on the same random snapshot sequence and
//       compares every decision (all 88 bytes) and every rule's counters.
//   mmp_backend_bench replay MANIFEST OBJ [OBJ...]
//       the replay program's in-kernel time per run (BPF_ENABLE_STATS), on a
//       snapshot of zeros and on a "busy" one where most conditions hold.
//   mmp_backend_bench log OBJ PROGRAM
//       the verifier's log at level 2 (each instruction of each path).
//
// MANIFEST is `mmpc compile --emit=manifest` of the policy: it gives the
// snapshot layout and the rules; a hand-written object has none of its own.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "abi/mmp_abi.h"
#include "abi/mmp_counters.h"

namespace {

int quietPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_WARN) return vfprintf(stderr, fmt, args);
  return 0;
}

struct Object {
  struct bpf_object* obj = nullptr;
  struct ring_buffer* rb = nullptr;
  std::vector<std::vector<uint8_t>> pending;
  std::string error;

  explicit Object(const std::string& path) {
    obj = bpf_object__open_file(path.c_str(), nullptr);
    if (!obj) {
      error = fmt::format("cannot open {}: {}", path, std::strerror(errno));
      return;
    }
    if (int err = bpf_object__load(obj)) {
      error = fmt::format("the kernel refused {}: {}", path, std::strerror(-err));
      bpf_object__close(obj);
      obj = nullptr;
      return;
    }
    if (struct bpf_map* m = bpf_object__find_map_by_name(obj, MMP_MAP_DECISIONS))
      rb = ring_buffer__new(bpf_map__fd(m), &Object::onDecision, this, nullptr);
  }
  ~Object() {
    ring_buffer__free(rb);
    bpf_object__close(obj);
  }
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;

  static int onDecision(void* self, void* data, size_t size) {
    auto* p = static_cast<uint8_t*>(data);
    static_cast<Object*>(self)->pending.emplace_back(p, p + size);
    return 0;
  }

  struct Program {
    std::string name, section;
    uint32_t insns, verified;
  };
  std::vector<Program> programs() const {
    std::vector<Program> out;
    struct bpf_program* prog;
    bpf_object__for_each_program(prog, obj) {
      struct bpf_prog_info info;
      std::memset(&info, 0, sizeof info);
      uint32_t len = sizeof info;
      if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0)
        out.push_back({bpf_program__name(prog), bpf_program__section_name(prog), info.xlated_prog_len / 8,
                       info.verified_insns});
    }
    return out;
  }

  int replayFd() const {
    struct bpf_program* p = bpf_object__find_program_by_name(obj, MMP_PROG_REPLAY);
    return p ? bpf_program__fd(p) : -1;
  }

  // Runs the replay program once; returns the decisions it sent.
  std::vector<std::vector<uint8_t>> replay(std::vector<uint64_t>& snap) {
    LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = snap.data(), .ctx_size_in = static_cast<uint32_t>(snap.size() * 8));
    pending.clear();
    if (bpf_prog_test_run_opts(replayFd(), &run) != 0) {
      std::cerr << fmt::format("test run failed: {}\n", std::strerror(errno));
      std::exit(1);
    }
    ring_buffer__consume(rb);
    return pending;
  }

  std::vector<uint8_t> counters(uint32_t rule) const {
    struct mmp_rule_counters sum;
    struct bpf_map* m = bpf_object__find_map_by_name(obj, MMP_MAP_COUNTERS);
    if (!m || mmp_read_counters(bpf_map__fd(m), rule, &sum) != 0) std::memset(&sum, 0xff, sizeof sum);
    auto* b = reinterpret_cast<const uint8_t*>(&sum);
    return std::vector<uint8_t>(b, b + sizeof sum);
  }
};

nlohmann::json readJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

// --- insns -----------------------------------------------------------------

int cmdInsns(const std::vector<std::string>& args) {
  if (args.empty() || args.size() % 3) {
    std::cerr << "usage: insns NAME HAND.o MMPC.o [...]\n";
    return 2;
  }
  std::cout << fmt::format("{:<8} {:<20} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8}\n", "policy", "program",
                           "hand insns", "hand verif", "mmpc insns", "mmpc verif", "ratio", "<=1.25");
  int worst = 0;
  for (size_t i = 0; i < args.size(); i += 3) {
    Object hand(args[i + 1]), mmpc(args[i + 2]);
    if (!hand.obj || !mmpc.obj) {
      std::cerr << hand.error << mmpc.error << "\n";
      return 1;
    }
    std::map<std::string, Object::Program> h;
    for (const auto& p : hand.programs()) h[p.name] = p;
    for (const auto& p : mmpc.programs()) {
      auto it = h.find(p.name);
      if (it == h.end()) {
        std::cout << fmt::format("{:<8} {:<20} {:>10} {:>10} {:>10} {:>10}\n", args[i], p.name, "-", "-", p.insns,
                                 p.verified);
        continue;
      }
      double ratio = double(p.verified) / it->second.verified;
      bool ok = ratio <= 1.25;
      if (!ok) worst = 1;
      std::cout << fmt::format("{:<8} {:<20} {:>10} {:>10} {:>10} {:>10} {:>8.2f} {:>8}\n", args[i], p.name,
                               it->second.insns, it->second.verified, p.insns, p.verified, ratio, ok ? "pass" : "FAIL");
    }
  }
  return worst;
}

// --- same ------------------------------------------------------------------

struct Layout {
  std::vector<std::string> names, types;
  size_t rules = 0;
};

Layout layoutOf(const nlohmann::json& m) {
  Layout l;
  for (const auto& f : m["snapshot"]) {
    l.names.push_back(f["field"].get<std::string>());
    l.types.push_back(f["type"].get<std::string>());
  }
  l.rules = m["rules"].size();
  return l;
}

// Values near the thresholds the benchmark policies use, the limits of the
// representation, and random ones.
uint64_t pick(std::mt19937_64& rng, const std::string& type) {
  constexpr uint64_t GiB = 1ull << 30;
  static const uint64_t percent[] = {0, 5000, 9999, 10000, 10001, 40000, 40001, 50000, 50001, 60000, 60001, 100000};
  static const uint64_t bytes[] = {0, MMP_UNLIMITED, GiB, 966367641, 966367642, 16 * GiB, 858993459, 858993460,
                                   4096, 1000 * 4096, 9 * GiB / 10 * 10, ~0ull - 1};
  std::uniform_int_distribution<int> coin(0, 3);
  if (type == "percent") {
    if (coin(rng) == 0) return std::uniform_int_distribution<uint64_t>(0, 100000)(rng);
    return percent[std::uniform_int_distribution<size_t>(0, std::size(percent) - 1)(rng)];
  }
  if (type == "bytes") {
    if (coin(rng) == 0) return std::uniform_int_distribution<uint64_t>(0, 64 * GiB)(rng) & ~4095ull;
    return bytes[std::uniform_int_distribution<size_t>(0, std::size(bytes) - 1)(rng)];
  }
  return std::uniform_int_distribution<uint64_t>(0, 300)(rng);
}

int cmdSame(const std::vector<std::string>& args) {
  if (args.size() < 3) {
    std::cerr << "usage: same MANIFEST HAND.o MMPC.o [CASES]\n";
    return 2;
  }
  Layout l = layoutOf(readJson(args[0]));
  Object hand(args[1]), mmpc(args[2]);
  if (!hand.obj || !mmpc.obj) {
    std::cerr << hand.error << mmpc.error << "\n";
    return 1;
  }
  size_t cases = args.size() > 3 ? std::stoul(args[3]) : 20000;
  std::mt19937_64 rng(20240601);
  static const uint64_t steps[] = {0, 1, 100'000'000, 500'000'000, 999'999'999, 1'000'000'000, 2'000'000'000,
                                   5'000'000'000, 10'000'000'000, 30'000'000'000};
  static const uint64_t masks[] = {0, 1, 2, ~0ull};
  uint64_t now = 1'000'000'000'000;
  size_t decisions = 0;
  for (size_t c = 0; c < cases; ++c) {
    now += steps[std::uniform_int_distribution<size_t>(0, std::size(steps) - 1)(rng)];
    std::vector<uint64_t> snap = {now, std::uniform_int_distribution<uint64_t>(0, 4)(rng),
                                  masks[std::uniform_int_distribution<size_t>(0, std::size(masks) - 1)(rng)]};
    for (const auto& t : l.types) snap.push_back(pick(rng, t));
    std::vector<uint64_t> copy = snap;
    auto a = hand.replay(snap);
    auto b = mmpc.replay(copy);
    bool same = a == b;
    for (uint32_t r = 0; same && r < l.rules; ++r) same = hand.counters(r) == mmpc.counters(r);
    if (!same) {
      std::cout << fmt::format("DIFFERENT at case {}: time {} cgroup {} mask {:#x}; fields", c, snap[0], snap[1],
                               snap[2]);
      for (size_t i = 0; i < l.names.size(); ++i) std::cout << fmt::format(" {}={}", l.names[i], snap[3 + i]);
      std::cout << fmt::format("\n  hand-written sent {} decisions, mmpc {}\n", a.size(), b.size());
      return 1;
    }
    decisions += a.size();
  }
  std::cout << fmt::format("same decisions and counters on {} snapshots ({} decisions in all)\n", cases, decisions);
  return 0;
}

// --- log -------------------------------------------------------------------

// The verifier's log (level 2: every instruction it processes, per path).
int cmdLog(const std::vector<std::string>& args) {
  if (args.size() != 2) {
    std::cerr << "usage: log OBJ PROGRAM\n";
    return 2;
  }
  struct bpf_object* obj = bpf_object__open_file(args[0].c_str(), nullptr);
  if (!obj) return 1;
  static char buf[64 << 20];
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    bool want = args[1] == bpf_program__name(prog);
    bpf_program__set_autoload(prog, want);
    if (want) {
      bpf_program__set_log_level(prog, 2);
      bpf_program__set_log_buf(prog, buf, sizeof buf);
    }
  }
  int err = bpf_object__load(obj);
  std::cout << buf;
  bpf_object__close(obj);
  return err ? 1 : 0;
}

// --- replay ----------------------------------------------------------------

// Fields of a "busy" cgroup: every percentage high, usage near its limits,
// event counters up, so that most conditions hold (then cooldowns stop the
// firing after the first run: the steady state is a full evaluation).
uint64_t busy(const std::string& name, const std::string& type) {
  constexpr uint64_t GiB = 1ull << 30;
  if (type == "percent") return 95'000;
  if (name == "memcg.max" || name == "memcg.swap.max") return 4 * GiB;
  if (name == "memcg.high") return 4 * GiB - (64ull << 20);
  if (name == "memcg.low" || name == "memcg.min") return 0;
  if (name == "system.memory.total" || name == "system.swap.total") return 16 * GiB;
  if (name == "system.memory.available" || name == "system.memory.free" || name == "system.swap.free")
    return 100ull << 20;
  if (type == "bytes") return 4 * GiB - (16ull << 20);
  return 200;
}

// The kernel does not test-run syscall programs with `repeat` (EINVAL: no
// repeat, no duration for BPF_PROG_TYPE_SYSCALL), so each run is one
// BPF_PROG_TEST_RUN and the time is the kernel's own account of the
// program (BPF_ENABLE_STATS: run_time_ns / run_cnt, sched_clock around
// each run). An empty syscall program, measured the same way, gives the
// cost of that accounting, subtracted in the "net" column.
struct RunStats {
  uint64_t ns = 0, runs = 0;
};
RunStats statsOf(int fd) {
  struct bpf_prog_info info;
  std::memset(&info, 0, sizeof info);
  uint32_t len = sizeof info;
  bpf_obj_get_info_by_fd(fd, &info, &len);
  return {info.run_time_ns, info.run_cnt};
}

// Median over `series` of the mean in-kernel ns per run of `runs` runs.
double nsPerRun(int fd, std::vector<uint64_t>& snap, int series, int runs, struct ring_buffer* rb) {
  std::vector<double> per;
  for (int s = 0; s < series; ++s) {
    RunStats before = statsOf(fd);
    for (int i = 0; i < runs; ++i) {
      LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = snap.data(), .ctx_size_in = static_cast<uint32_t>(snap.size() * 8));
      if (bpf_prog_test_run_opts(fd, &opts) != 0) {
        std::cerr << fmt::format("test run failed: {}\n", std::strerror(errno));
        std::exit(1);
      }
    }
    RunStats after = statsOf(fd);
    if (rb) ring_buffer__consume(rb);
    per.push_back(double(after.ns - before.ns) / double(after.runs - before.runs));
  }
  std::sort(per.begin(), per.end());
  return per[per.size() / 2];
}

int emptySyscallProgram() {
  struct bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},  // r0 = 0
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},                   // exit
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .prog_flags = BPF_F_SLEEPABLE);
  return bpf_prog_load(BPF_PROG_TYPE_SYSCALL, "mmp_empty", "GPL", insns, 2, &opts);
}

int cmdReplay(const std::vector<std::string>& args) {
  if (args.size() < 2) {
    std::cerr << "usage: replay MANIFEST OBJ [OBJ...]\n";
    return 2;
  }
  nlohmann::json m = readJson(args[0]);
  Layout l = layoutOf(m);
  size_t memcgRules = 0, systemRules = 0;
  for (const auto& r : m["rules"]) {
    std::string subject = r.value("subject", "");
    if (subject == "memcg") ++memcgRules;
    else if (subject == "system") ++systemRules;
  }
  int statsFd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (statsFd < 0) {
    std::cerr << fmt::format("BPF_ENABLE_STATS: {}\n", std::strerror(errno));
    return 1;
  }
  constexpr int kSeries = 9, kRuns = 20000;
  int empty = emptySyscallProgram();
  std::vector<uint64_t> nothing = {0, 0, 0};
  double base = empty >= 0 ? nsPerRun(empty, nothing, kSeries, kRuns, nullptr) : 0;
  std::cout << fmt::format("in-kernel time per run of mmp_replay (BPF_ENABLE_STATS), median of {} x {} runs;\n"
                           "an empty syscall program measures {:.1f} ns (the accounting), subtracted in `net`\n",
                           kSeries, kRuns, base);
  std::cout << fmt::format("{:<22} {:<7} {:<5} {:>5} {:>9} {:>9} {:>9}\n", "object", "subject", "data", "rules",
                           "ns/run", "net ns", "ns/rule");
  for (size_t o = 1; o < args.size(); ++o) {
    for (int kind = 0; kind < 4; ++kind) {
      bool system = kind >= 2, hot = kind % 2;
      size_t rules = system ? systemRules : memcgRules;
      if (!rules) continue;
      Object obj(args[o]);  // fresh maps for each series of runs
      if (!obj.obj) {
        std::cerr << obj.error << "\n";
        return 1;
      }
      std::vector<uint64_t> snap = {1'000'000'000'000, system ? 0ull : 42ull, ~0ull};
      for (size_t i = 0; i < l.names.size(); ++i) snap.push_back(hot ? busy(l.names[i], l.types[i]) : 0);
      nsPerRun(obj.replayFd(), snap, 1, 1000, obj.rb);  // warm up; the first run fires, cooldowns follow
      double ns = nsPerRun(obj.replayFd(), snap, kSeries, kRuns, obj.rb);
      std::string name = args[o].substr(args[o].rfind('/') + 1);
      std::cout << fmt::format("{:<22} {:<7} {:<5} {:>5} {:>9.1f} {:>9.1f} {:>9.1f}\n", name,
                               std::string(system ? "system" : "memcg"), hot ? "busy" : "zero", rules, ns, ns - base,
                               (ns - base) / rules);
    }
  }
  if (empty >= 0) close(empty);
  close(statsFd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  libbpf_set_print(quietPrint);
  if (argc < 2) {
    std::cerr << "usage: mmp_backend_bench insns|same|replay|log ...\n";
    return 2;
  }
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "insns") return cmdInsns(args);
  if (cmd == "same") return cmdSame(args);
  if (cmd == "replay") return cmdReplay(args);
  if (cmd == "log") return cmdLog(args);
  std::cerr << "unknown command " << cmd << "\n";
  return 2;
}

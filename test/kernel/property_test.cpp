// The property: every policy of the random generator (policy_generator.h)
// compiles with no diagnostic, loads into the running kernel (the verifier
// accepts every program), and its replay program runs on a snapshot of
// zeros. A rejection is a compiler bug.
//
//   MMP_PROPERTY_RUNS=N       how many policies (default 25, to keep the suite fast)
//   MMP_PROPERTY_SEED=S       the first seed (default 1); policy i has seed S + i
//   MMP_PROPERTY_MAX_RULES=M  at most M rules per policy (default 50)
//   MMP_PROPERTY_FAILURES=DIR write every failing policy to DIR/seed-S.mmp
//   MMP_PROPERTY_KEEP=DIR     write every policy to DIR/seed-S.mmp (to study one)
//   MMP_PROPERTY_EXCLUDE=a,b.*,rate()  never generate these fields (or rate
//                             calls), to look past a known failure for the next one
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bpf_harness.h"
#include "policy_generator.h"

namespace mmp::test {
namespace {

uint64_t envNumber(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::strtoull(v, nullptr, 10);
}

// Collects what is written to fd 2 (by this process and the compiling
// child it forks: LLVM's fatal errors, libbpf's verifier log) while alive.
class StderrCapture {
public:
  StderrCapture() {
    std::fflush(stderr);
    file_ = std::tmpfile();
    saved_ = dup(2);
    if (file_ && saved_ >= 0) dup2(fileno(file_), 2);
  }
  ~StderrCapture() { text(); }
  // Stops capturing; returns what was written.
  std::string text() {
    if (saved_ < 0) return out_;
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    saved_ = -1;
    if (!file_) return out_;
    std::rewind(file_);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) out_.append(buf, n);
    std::fclose(file_);
    file_ = nullptr;
    return out_;
  }

private:
  FILE* file_ = nullptr;
  int saved_ = -1;
  std::string out_;
};

// The line that says what went wrong, with positions and names made
// generic, so that failures group by cause.
std::string signature(const std::string& log) {
  std::string line;
  for (size_t at = 0; at < log.size();) {
    size_t end = std::min(log.find('\n', at), log.size());
    std::string l = log.substr(at, end - at);
    at = end + 1;
    if (l.find("error") == std::string::npos && l.find("failed") == std::string::npos &&
        l.find("invalid") == std::string::npos && l.find("died") == std::string::npos)
      continue;
    if (l.find("skipping unrecognized") != std::string::npos) continue;
    line = l;
    if (l.find("died") == std::string::npos) break;  // prefer the cause to the death
  }
  // "seed-12.mmp:3:4" -> "POS"; "relo #11", "[57]" -> "relo #N", "[N]".
  std::string out;
  for (size_t i = 0; i < line.size();) {
    if (line.compare(i, 5, "seed-") == 0) {
      size_t colon = line.find(": ", i);
      if (colon != std::string::npos) {
        out += "POS";
        i = colon;
        continue;
      }
    }
    if ((line[i] == '#' || line[i] == '[') && i + 1 < line.size() && std::isdigit(static_cast<unsigned char>(line[i + 1]))) {
      out += line[i++];
      out += 'N';
      while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
      continue;
    }
    out += line[i++];
  }
  return out;
}

// The last `n` lines of `text` (a verifier log can run to megabytes).
std::string lastLines(const std::string& text, size_t n) {
  size_t at = text.size();
  while (n-- > 0 && at > 0) {
    size_t nl = text.rfind('\n', at - 1);
    if (nl == std::string::npos) return text;
    at = nl;
  }
  return "[...]" + text.substr(at);
}

// libbpf's own lines of a load log (not the verifier's log it quotes).
std::string libbpfLines(const std::string& text) {
  std::string out;
  for (size_t at = 0; at < text.size();) {
    size_t end = std::min(text.find('\n', at), text.size());
    std::string l = text.substr(at, end - at);
    at = end + 1;
    if (l.rfind("libbpf: ", 0) == 0 && l.find("skipping unrecognized") == std::string::npos) out += l + "\n";
  }
  return out;
}

// Runs the replay program once on a snapshot whose fields are all zero;
// the error says why it did not run.
std::optional<std::string> replayZeros(LoadedPolicy& policy, const std::string& manifest, uint64_t cgroupId,
                                       uint64_t scopeMask) {
  size_t fields = nlohmann::json::parse(manifest)["snapshot"].size();
  std::vector<uint64_t> snap(3 + fields, 0);
  snap[1] = cgroupId;
  snap[2] = scopeMask;
  struct bpf_program* prog = bpf_object__find_program_by_name(policy.object(), MMP_PROG_REPLAY);
  if (!prog) return "no replay program";
  LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = snap.data(), .ctx_size_in = static_cast<uint32_t>(snap.size() * 8));
  if (int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &run))
    return "BPF_PROG_TEST_RUN: " + std::string(std::strerror(-err));
  if (run.retval != 0) return "the replay program returned " + std::to_string(run.retval);
  return std::nullopt;
}

TEST(Property, GeneratedPoliciesCompileLoadAndReplay) {
  if (auto why = bpfUnavailable()) GTEST_SKIP() << "SKIPPED: " << *why;
  const uint64_t runs = envNumber("MMP_PROPERTY_RUNS", 25);
  const uint64_t firstSeed = envNumber("MMP_PROPERTY_SEED", 1);
  const char* failures = std::getenv("MMP_PROPERTY_FAILURES");
  if (failures) std::filesystem::create_directories(failures);
  const char* keep = std::getenv("MMP_PROPERTY_KEEP");
  if (keep) std::filesystem::create_directories(keep);
  GeneratorOptions options;
  options.maxRules = static_cast<int>(envNumber("MMP_PROPERTY_MAX_RULES", 50));
  if (const char* x = std::getenv("MMP_PROPERTY_EXCLUDE")) {
    std::string list = x;
    for (size_t at = 0; at <= list.size();) {
      size_t comma = std::min(list.find(',', at), list.size());
      if (comma > at) options.exclude.push_back(list.substr(at, comma - at));
      at = comma + 1;
    }
  }

  uint64_t compiled = 0, loaded = 0, replayed = 0, rules = 0;
  // The verifier's largest count, to see how far from its 1M limit we are.
  struct {
    uint32_t verified = 0;
    uint64_t seed = 0;
    int rules = 0;
    std::string program;
  } most;
  std::set<std::string> covered;
  std::map<std::string, int> failureKinds;
  std::map<std::string, std::pair<int, uint64_t>> causes;  // cause -> (policies, first seed)
  auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < runs; ++i) {
    const uint64_t seed = firstSeed + i;
    GeneratedPolicy g = generatePolicy(seed, options);
    rules += static_cast<uint64_t>(g.rules);
    covered.insert(g.features.begin(), g.features.end());
    if (keep) std::ofstream(std::filesystem::path(keep) / ("seed-" + std::to_string(seed) + ".mmp")) << g.text;
    auto fail = [&](const std::string& stage, const std::string& detail) {
      ++failureKinds[stage];
      auto& cause = causes[stage + ": " + signature(detail)];
      if (cause.first++ == 0) cause.second = seed;
      ADD_FAILURE() << stage << " failed for seed " << seed << " (" << g.rules << " rules)\n--- policy ---\n"
                    << g.text << "--- " << stage << " ---\n"
                    << detail;
      if (failures) {
        std::ofstream out(std::filesystem::path(failures) / ("seed-" + std::to_string(seed) + ".mmp"));
        out << "# " << stage << ": seed " << seed << "\n" << g.text;
      }
    };

    StderrCapture compileErr;
    Compiled c = compilePolicy(g.text, "seed-" + std::to_string(seed) + ".mmp");
    std::string compileLog = compileErr.text();
    if (c.object.empty()) {
      fail("compile", c.diagnostics + "\n" + compileLog);
      continue;
    }
    ++compiled;
    // A valid policy draws no warning either (E0302, E0303 are avoided).
    if (!c.diagnostics.empty()) fail("diagnostics", c.diagnostics);

    std::string error;
    StderrCapture loadErr;
    auto policy = LoadedPolicy::load(c, error);
    std::string loadLog = loadErr.text();
    if (!policy) {
      fail("load", error + "\n" + libbpfLines(loadLog) + "verifier log: " + lastLines(loadLog, 12));
      continue;
    }
    ++loaded;
    for (const auto& [program, verified] : policy->programSizes())
      if (verified > most.verified) most = {verified, seed, g.rules, program};

    // The system rules (cgroup id 0) and the memcg rules (a cgroup in every scope).
    auto sys = replayZeros(*policy, c.manifest, 0, 0);
    auto memcg = replayZeros(*policy, c.manifest, 1, ~0ULL);
    if (sys || memcg) {
      fail("replay", sys ? *sys : *memcg);
      continue;
    }
    // Through the harness, whose ring buffer reads the decisions back: each
    // names a rule of the policy and carries the record's version.
    for (const auto& d : policy->replay(10'000'000'000ULL, 2, ~0ULL, {})) {
      if (d.version != MMP_DECISION_VERSION || d.rule >= static_cast<uint32_t>(g.rules) || d.action < MMP_ACTION_RECLAIM ||
          d.action > MMP_ACTION_LOG) {
        fail("decision", "decision of rule " + std::to_string(d.rule) + ", action " + std::to_string(d.action) +
                             ", version " + std::to_string(d.version));
        break;
      }
    }
    ++replayed;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::cout << "[property] " << runs << " policies (seeds " << firstSeed << ".." << firstSeed + runs - 1 << "), "
            << rules << " rules: " << compiled << " compiled, " << loaded << " loaded, " << replayed
            << " replayed; " << seconds << " s (" << (runs ? seconds / static_cast<double>(runs) : 0.0)
            << " s per policy)\n";
  std::cout << "[property] most verified: " << most.verified << " instructions, " << most.program << " of seed "
            << most.seed << " (" << most.rules << " rules)\n";
  for (const auto& [stage, n] : failureKinds) std::cout << "[property] " << n << " failed at " << stage << "\n";
  for (const auto& [cause, n] : causes)
    std::cout << "[property]   " << n.first << " x (first: seed " << n.second << ") " << cause << "\n";
  RecordProperty("policies", static_cast<int>(runs));
  RecordProperty("rules", static_cast<int>(rules));

  // Every feature the generator reports is one it knows, and a default run
  // (or longer) tries them all.
  const auto& all = generatorFeatures();
  std::set<std::string> known(all.begin(), all.end());
  for (const auto& f : covered) EXPECT_TRUE(known.count(f)) << "the generator reports an unlisted feature " << f;
  if (runs >= 25 && firstSeed == 1 && options.maxRules == 50) {
    std::vector<std::string> missing;
    for (const auto& f : all)
      if (!covered.count(f) && !(f.rfind("field.", 0) == 0 && excluded(options, f.substr(6))) &&
          !(f == "arith.rate()" && excluded(options, "rate()")))
        missing.push_back(f);
    std::string list;
    for (const auto& f : missing) list += " " + f;
    EXPECT_TRUE(missing.empty()) << missing.size() << " constructs were never generated:" << list;
  }
}

}  // namespace
}  // namespace mmp::test

// The front end's cost on generated policies of 10 .. 10,000 rules
// (bench/gen_policy.py; the files are generated into the build tree).
//
//   FrontEnd      parse + check, the pipeline of `mmpc check` without the
//                 file read and the diagnostics printer (there are none).
//   FrontEndCold  the same with ANTLR's DFA caches emptied before each
//                 iteration, as in a fresh `mmpc check` process.
//   Load          loadPolicy alone: lexing, parsing, building the AST.
//   Check         checkPolicy alone, on a policy parsed once beforehand.
//   Antlr/LL|SLL  the generated lexer and parser alone (no AST), in ANTLR's
//                 default LL prediction mode and in SLL mode: what a
//                 two-stage SLL-then-LL parse would save.
//
// The bindings are loaded once, outside every timed loop. Each benchmark
// reports `per_rule` (time per rule) and a fitted O(N) coefficient, so
// that linearity shows as a flat per-rule time. bench/RESULTS.md has the
// figures; bench/run_frontend.sh runs it all.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "bindings/bindings.h"
#include "check/check.h"
#include "load/load.h"
#include "parse/parse.h"

namespace {

const std::string kStdlib = MMP_SOURCE_STDLIB;

std::string policyDir() {
  if (const char* env = std::getenv("MMP_BENCH_POLICIES"); env && *env) return env;
  return MMP_BENCH_POLICY_DIR;
}

std::string policyPath(int64_t rules) { return policyDir() + "/fleet_" + std::to_string(rules) + ".mmp"; }

// Each policy is read from disk once; the timed loops start from its text.
const std::string* policyText(int64_t rules) {
  static std::map<int64_t, std::string> cache;
  if (auto it = cache.find(rules); it != cache.end()) return &it->second;
  std::ifstream in(policyPath(rules), std::ios::binary);
  if (!in) return nullptr;
  std::stringstream ss;
  ss << in.rdbuf();
  return &cache.emplace(rules, ss.str()).first->second;
}

const mmp::Bindings* kernelBindings() {
  static std::unique_ptr<mmp::Bindings> bindings = [] {
    auto b = mmp::loadBindings(kStdlib + "/bindings/kernel.json");
    if (!b) {
      llvm::consumeError(b.takeError());
      return std::unique_ptr<mmp::Bindings>();
    }
    return std::make_unique<mmp::Bindings>(std::move(*b));
  }();
  return bindings.get();
}

// One pass of the front end, as runFrontEnd does it (compiler/driver/pipeline.cpp).
struct FrontEnd {
  mmp::SourceManager sources;
  mmp::Diagnostics diags;
  std::unique_ptr<mmp::LoadedPolicy> loaded;
  mmp::CheckedPolicy checked;

  bool load(int64_t rules, const std::string& text) {
    uint32_t file = sources.add(policyPath(rules), text);
    loaded = mmp::loadPolicy(file, kStdlib, sources, diags);
    return loaded && diags.all().empty();
  }
  bool check(const mmp::Bindings& bindings) {
    return mmp::checkPolicy(*loaded, bindings, diags, checked) && diags.all().empty();
  }
};

// The inputs of one benchmark, or why it cannot run.
bool setUp(benchmark::State& state, const std::string** text, const mmp::Bindings** bindings) {
  *text = policyText(state.range(0));
  *bindings = kernelBindings();
  if (!*text) state.SkipWithError(("cannot read " + policyPath(state.range(0))).c_str());
  else if (!*bindings) state.SkipWithError(("cannot load " + kStdlib + "/bindings/kernel.json").c_str());
  return *text && *bindings;
}

void reportPerRule(benchmark::State& state) {
  const auto rules = static_cast<double>(state.range(0));
  state.SetComplexityN(state.range(0));
  state.counters["rules"] = rules;
  // Seconds per rule: rules per second, inverted.
  state.counters["per_rule"] =
      benchmark::Counter(rules, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_FrontEnd(benchmark::State& state) {
  const std::string* text;
  const mmp::Bindings* bindings;
  if (!setUp(state, &text, &bindings)) return;
  for (auto _ : state) {
    FrontEnd fe;
    if (!fe.load(state.range(0), *text) || !fe.check(*bindings)) {
      state.SkipWithError("the generated policy did not pass the front end cleanly");
      break;
    }
    benchmark::DoNotOptimize(fe.checked.rules.data());
  }
  reportPerRule(state);
}

void BM_FrontEndCold(benchmark::State& state) {
  const std::string* text;
  const mmp::Bindings* bindings;
  if (!setUp(state, &text, &bindings)) return;
  for (auto _ : state) {
    state.PauseTiming();
    mmp::parse::clearCaches();
    state.ResumeTiming();
    FrontEnd fe;
    if (!fe.load(state.range(0), *text) || !fe.check(*bindings)) {
      state.SkipWithError("the generated policy did not pass the front end cleanly");
      break;
    }
    benchmark::DoNotOptimize(fe.checked.rules.data());
  }
  reportPerRule(state);
}

void BM_Load(benchmark::State& state) {
  const std::string* text;
  const mmp::Bindings* bindings;
  if (!setUp(state, &text, &bindings)) return;
  for (auto _ : state) {
    FrontEnd fe;
    if (!fe.load(state.range(0), *text)) {
      state.SkipWithError("the generated policy did not parse cleanly");
      break;
    }
    benchmark::DoNotOptimize(fe.loaded.get());
  }
  reportPerRule(state);
}

// Sema only annotates the AST (types, constants, bindings, rule ids), and
// does so identically on every pass, so one parsed policy serves each
// iteration; only the results and the diagnostics are fresh.
void BM_Check(benchmark::State& state) {
  const std::string* text;
  const mmp::Bindings* bindings;
  if (!setUp(state, &text, &bindings)) return;
  FrontEnd parsed;
  if (!parsed.load(state.range(0), *text)) {
    state.SkipWithError("the generated policy did not parse cleanly");
    return;
  }
  for (auto _ : state) {
    mmp::Diagnostics diags;
    mmp::CheckedPolicy checked;
    if (!mmp::checkPolicy(*parsed.loaded, *bindings, diags, checked) || !diags.all().empty()) {
      state.SkipWithError("the generated policy did not check cleanly");
      break;
    }
    benchmark::DoNotOptimize(checked.rules.data());
  }
  reportPerRule(state);
}

// The generated lexer and parser alone, in the prediction mode given by
// range(1): 0 = LL (ANTLR's default, what parse.cpp uses), 1 = SLL.
void BM_Antlr(benchmark::State& state) {
  const std::string* text = policyText(state.range(0));
  if (!text) {
    state.SkipWithError(("cannot read " + policyPath(state.range(0))).c_str());
    return;
  }
  const bool sll = state.range(1) == 1;
  for (auto _ : state) {
    if (!mmp::parse::parseTreeOnly(*text, sll)) {
      state.SkipWithError("syntax errors in the generated policy");
      break;
    }
  }
  state.SetLabel(sll ? "SLL" : "LL");
  reportPerRule(state);
}

void sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {10, 100, 1000, 10000}) b->Arg(n);
  b->ArgName("rules")->Unit(benchmark::kMillisecond)->Complexity(benchmark::oN);
}

void sizesAndModes(benchmark::internal::Benchmark* b) {
  for (int64_t mode : {0, 1})
    for (int64_t n : {10, 100, 1000, 10000}) b->Args({n, mode});
  b->ArgNames({"rules", "sll"})->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_FrontEnd)->Apply(sizes);
BENCHMARK(BM_FrontEndCold)->Apply(sizes);
BENCHMARK(BM_Load)->Apply(sizes);
BENCHMARK(BM_Check)->Apply(sizes);
BENCHMARK(BM_Antlr)->Apply(sizesAndModes);

}  // namespace

BENCHMARK_MAIN();

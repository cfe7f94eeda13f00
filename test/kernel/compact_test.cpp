// The compact form (past 32 rules in a program: groups of rules calling the
// shared subprograms mmp_enter, mmp_row_get and mmp_decide) decides as the
// inline form does. A policy of N rules, written four times over, is in the
// compact form; each copy of a rule has its own state words, window and
// counters, so on the same snapshots copy c makes exactly the decisions of
// the N-rule policy (inline), its rule ids shifted by c * N, and counts the
// same.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "replay_fixture.h"

namespace mmp::test {
namespace {

constexpr int kCopies = 4;

// Values around the rules' thresholds, zero and unlimited.
uint64_t pick(std::mt19937_64& rng, const std::string& field) {
  uint64_t r = rng() % 100;
  if (r < 5) return 0;
  if (r < 8) return kUnl;
  bool percent = field.find("pressure") != std::string::npos || field == "system.swap.free";
  if (percent) return rng() % (100 * kPct);
  if (field == "memcg.events.oom_kill") return rng() % 6;
  return (rng() % 16) * kGiB / 4 + rng() % (64 * kMiB);
}

void expectSameDecisions(const std::string& rules, size_t n, uint64_t seed) {
  std::string one = "policy one\nset allow_limit = true\n" + rules;
  std::string many = "policy many\nset allow_limit = true\nset insn_budget = 1_000_000\n";
  for (int c = 0; c < kCopies; ++c) many += rules;
  Compiled a = compilePolicy(one), b = compilePolicy(many);
  ASSERT_FALSE(a.object.empty()) << a.diagnostics;
  ASSERT_FALSE(b.object.empty()) << b.diagnostics;
  std::string error;
  auto inlined = LoadedPolicy::load(a, error);
  ASSERT_TRUE(inlined) << error;
  auto compact = LoadedPolicy::load(b, error);
  ASSERT_TRUE(compact) << error;
  // It is the compact form: grouped rules and the shared subprograms.
  ASSERT_NE(b.object.find("mmp_rules0_15"), std::string::npos);
  ASSERT_NE(b.object.find("mmp_enter"), std::string::npos);
  ASSERT_EQ(a.object.find("mmp_enter"), std::string::npos);

  std::vector<std::string> fields;
  nlohmann::json manifest = nlohmann::json::parse(a.manifest);
  for (const auto& f : manifest["snapshot"]) fields.push_back(f["field"]);
  ASSERT_GT(fields.size(), 5u);
  std::mt19937_64 rng(seed);
  uint64_t t = 10 * kSec;
  size_t fired = 0;
  for (int i = 0; i < 3000; ++i) {
    t += (rng() % 4 == 0) ? rng() % (20 * kSec) : rng() % (2 * kSec);
    uint64_t cgroup = 1 + rng() % 3;
    uint64_t mask = rng() % 20 == 0 ? 0 : ~0ULL;  // sometimes in no scope
    Fields values;
    for (const auto& name : fields) values[name] = pick(rng, name);
    auto want = inlined->replay(t, cgroup, mask, values);
    std::vector<struct mmp_decision> all;
    for (int c = 0; c < kCopies; ++c)
      for (auto d : want) {
        d.rule += static_cast<uint32_t>(c * n);
        all.push_back(d);
      }
    auto got = compact->replay(t, cgroup, mask, values);
    std::vector<std::string> g, w;
    for (const auto& d : got) g.push_back(show(d));
    for (const auto& d : all) w.push_back(show(d));
    ASSERT_EQ(g, w) << "evaluation " << i;
    fired += want.size();
  }
  EXPECT_GT(fired, 100u);  // the snapshots exercise the rules
  for (uint32_t r = 0; r < n; ++r) {
    struct mmp_rule_counters x = inlined->counters(r);
    EXPECT_GT(x.firings, 0u) << "rule " << r << " never fired";
    for (int c = 0; c < kCopies; ++c) {
      struct mmp_rule_counters y = compact->counters(r + static_cast<uint32_t>(c * n));
      EXPECT_EQ(y.evaluations, x.evaluations) << "rule " << r << " copy " << c;
      EXPECT_EQ(y.firings, x.firings) << "rule " << r << " copy " << c;
      EXPECT_EQ(y.drops, x.drops) << "rule " << r << " copy " << c;
    }
  }
}

class CompactForm : public ::testing::Test {
protected:
  void SetUp() override {
    if (auto why = bpfUnavailable()) GTEST_SKIP() << "SKIPPED: " << *why;
  }
};

// Rules that need state whatever their condition (`for`, rate()): the
// evaluator fetches the row once and hands it to the groups.
TEST_F(CompactForm, StatefulRulesDecideAsInline) {
  expectSameDecisions(
      "when memcg.pressure > 60% reclaim anon first\n"
      "when memcg.pressure.full > 20% for 30s reclaim 5% of memcg.usage anon first\n"
      "when memcg.usage > 90% of memcg.max throttle to 95% of memcg.max\n"
      "when system.swap.free < 10% and memcg.pressure.full > 50% for 20s kill largest\n"
      "when memcg.usage - memcg.low > 1GiB reclaim 64MiB cooldown 5s\n"
      "when rate(memcg.usage) > 50MiB / 1s for 10s log \"{memcg.path} grows {rate(memcg.usage)}\"\n"
      "when memcg.usage / memcg.high > 95% throttle to memcg.high - 64MiB\n"
      "when memcg.swap > 80% reclaim anon only at most 10 per 1min\n"
      "when memcg.events.oom_kill > 3 kill oldest cgroup cooldown 5min\n"
      "when memcg.usage > 98% limit to memcg.usage + 256MiB unless system.pressure.full > 20%\n",
      10, 1);
}

// Rules that need their row only when they fire (cooldowns): each looks it
// up through mmp_row_get.
TEST_F(CompactForm, RulesWithStateOnFiringDecideAsInline) {
  expectSameDecisions(
      "when memcg.pressure > 60% reclaim anon first\n"
      "when memcg.usage > 90% of memcg.max throttle to 95% of memcg.max\n"
      "when memcg.usage - memcg.low > 1GiB reclaim 64MiB cooldown 5s\n"
      "when memcg.usage / memcg.high > 95% log \"{memcg.path} at {memcg.usage} of {memcg.high}, swap {memcg.swap}\"\n"
      "when memcg.swap > 80% reclaim anon only at most 10 per 1min\n"
      "when memcg.events.oom_kill > 3 kill oldest cgroup cooldown 5min\n"
      "when memcg.usage > 98% limit to memcg.usage + 256MiB unless system.pressure.full > 20%\n"
      "when memcg.pressure.full > 30% and not (memcg.usage < 1GiB) reclaim 2% of memcg.usage, log \"two actions\"\n"
      "when memcg.pressure < 5% unthrottle\n",
      9, 2);
}

// Kills by a key, with a threshold and a signal: flags past the 16 bits the
// shared mmp_decide packs (the signal once landed in the rule id: property
// seed 5124).
TEST_F(CompactForm, KillKeysThresholdsAndSignalsDecideAsInline) {
  expectSameDecisions(
      "when memcg.pressure.full > 50% for 5s kill process by oom_score with SIGTERM, log \"term\"\n"
      "when memcg.pressure.full > 60% for 5s kill cgroup by swap > 5% of memcg.usage\n"
      "when memcg.usage > 90% of memcg.max kill cgroup by size_or_growth cooldown 10s\n"
      "when memcg.swap > 80% kill cgroup among \"/batch.slice/*\" by reclaim cooldown 10s\n"
      "when memcg.events.oom_kill > 3 kill growing with SIGINT cooldown 1min\n"
      "when memcg.pressure > 70% kill largest process by rss > 1GiB cooldown 20s\n"
      "when memcg.pressure < 5% unthrottle\n"
      "when memcg.pressure > 80% reclaim anon first\n"
      "when memcg.usage > 95% of memcg.max log \"near\"\n",
      9, 3);
}

}  // namespace
}  // namespace mmp::test

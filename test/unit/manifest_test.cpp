// The manifest (runtime/manifest.h): what mmpc writes (codegen/manifest.cpp)
// mmrun reads back field by field, and a manifest whose keys writer and
// reader do not agree on is refused with a message naming the key.
#include "manifest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "abi/mmp_abi.h"
#include "codegen/manifest.h"
#include "lower/plan.h"
#include "sema_test.h"

namespace mmp::runtime {
namespace {

using nlohmann::json;

const char* kPolicy = R"(policy roundtrip

set interval = 2s
set dry_run = true
set reclaim_step = 64MiB
set max_actions_per_second = 7
set pressure_trigger = 20%
protect "/system.slice"

in "/work.slice/*" {
  when memcg.usage > 80% for 10s reclaim cooldown 30s at most 3 per 1min
}
on pressure when memcg.pressure.full > 20% log "full {memcg.pressure.full} in {memcg.path}"
when system.swap.free < 10% kill largest cgroup among "/batch.slice/**" cooldown 15s
)";

// The policy through the front end, lowered, and its manifest as mmpc writes it.
struct Written {
  std::unique_ptr<testing::FrontEnd> front;
  plan::Plan lowered;
  std::string text;
};

const Written& written() {
  static const Written w = [] {
    Written w;
    w.front = testing::runFrontEnd(kPolicy);
    EXPECT_TRUE(w.front->ok) << w.front->listing();
    w.lowered = plan::lowerPolicy(w.front->checked, w.front->sm, w.front->diags);
    w.text = buildManifest(w.lowered, kPolicy);
    return w;
  }();
  return w;
}

std::string refusal(const json& j) {
  auto m = parseManifest(j.dump(), "p.bpf.o");
  if (m) return "no error";
  return llvm::toString(m.takeError());
}

TEST(Manifest, ReadsBackWhatTheCompilerWrites) {
  const Written& w = written();
  auto read = parseManifest(w.text, "p.bpf.o");
  ASSERT_TRUE(static_cast<bool>(read)) << llvm::toString(read.takeError());
  const Manifest& m = *read;
  EXPECT_EQ(m.format, MMP_MANIFEST_FORMAT);
  EXPECT_EQ(m.decisionVersion, static_cast<uint32_t>(MMP_DECISION_VERSION));
  EXPECT_EQ(m.policy, "roundtrip");
  EXPECT_EQ(m.sourceSha256.size(), 64u);
  EXPECT_EQ(m.units.at("percent"), "0.001%");

  EXPECT_EQ(m.settings.intervalNs, 2'000'000'000u);
  EXPECT_TRUE(m.settings.dryRun);
  EXPECT_EQ(m.settings.reclaimStepType, "bytes");
  EXPECT_EQ(m.settings.reclaimStep.raw, 64u << 20);
  EXPECT_FALSE(m.settings.allowLimit);
  EXPECT_EQ(m.settings.maxActionsPerSecond, 7u);
  EXPECT_EQ(m.settings.pressureTrigger.raw, 20'000u);
  EXPECT_EQ(m.settings.insnBudget, 4096u);

  EXPECT_EQ(m.protect, w.lowered.protects);
  ASSERT_EQ(m.scopes.size(), w.lowered.scopes.size());
  for (size_t i = 0; i < m.scopes.size(); ++i) {
    EXPECT_EQ(m.scopes[i].bit, w.lowered.scopes[i].bit);
    EXPECT_EQ(m.scopes[i].patterns, w.lowered.scopes[i].patterns);
  }
  ASSERT_EQ(m.snapshot.size(), w.lowered.snapshot.size());
  for (size_t i = 0; i < m.snapshot.size(); ++i) EXPECT_EQ(m.snapshot[i].field, w.lowered.snapshot[i]->name);
  for (const auto& f : m.snapshot) {
    if (f.field == "system.swap.free") {
      EXPECT_EQ(f.context, "system");
    }
  }
  EXPECT_EQ(m.programs.size(), w.lowered.hooks.size());

  ASSERT_EQ(m.rules.size(), 3u);
  for (size_t i = 0; i < m.rules.size(); ++i) {
    const ManifestRule& r = m.rules[i];
    const plan::Rule& p = w.lowered.rules[i];
    EXPECT_EQ(r.id, p.id);
    EXPECT_EQ(r.file, p.file);
    EXPECT_EQ(r.line, p.line);
    EXPECT_EQ(r.location, p.file + ":" + std::to_string(p.line));
    EXPECT_EQ(r.text, p.text);
    EXPECT_EQ(r.scope, p.scopeBit);
    EXPECT_EQ(r.hooks.size(), p.hooks.size());
    EXPECT_EQ(r.values.size(), p.values.size());
    ASSERT_EQ(r.actions.size(), p.actions.size());
    for (size_t a = 0; a < r.actions.size(); ++a) {
      EXPECT_EQ(r.actions[a].index, p.actions[a].index);
      EXPECT_EQ(r.actions[a].code, p.actions[a].kind);
      EXPECT_EQ(r.actions[a].flags, p.actions[a].flags);
    }
  }
  const ManifestRule& reclaim = m.rules[0];
  EXPECT_EQ(reclaim.subject, "memcg");
  EXPECT_EQ(reclaim.forNs, 10'000'000'000u);
  EXPECT_EQ(reclaim.cooldownNs, 30'000'000'000u);
  EXPECT_EQ(reclaim.cooldownWord, w.lowered.rules[0].lastWord());
  EXPECT_EQ(reclaim.atMostCount, 3u);
  EXPECT_EQ(reclaim.atMostPerNs, 60'000'000'000u);
  EXPECT_EQ(reclaim.actions[0].kind, "reclaim");

  const ManifestRule& log = m.rules[1];
  EXPECT_EQ(log.subject, "event");
  EXPECT_EQ(log.event, "pressure");
  EXPECT_EQ(log.cooldownNs, w.lowered.rules[1].cooldownNs);  // an `on` rule's default cooldown
  EXPECT_EQ(log.cooldownWord.has_value(), log.cooldownNs != 0);
  ASSERT_EQ(log.actions.size(), 1u);
  const ManifestAction& message = log.actions[0];
  EXPECT_EQ(message.kind, "log");
  ASSERT_EQ(message.message.size(), 4u);
  EXPECT_EQ(message.message[0].text, "full ");
  EXPECT_EQ(message.message[1].value, 0u);
  EXPECT_EQ(message.message[2].text, " in ");
  EXPECT_EQ(message.message[3].value, 1u);
  ASSERT_EQ(message.values.size(), 2u);
  EXPECT_EQ(message.values[0].expr, "memcg.pressure.full");
  EXPECT_EQ(message.values[0].type, "percent");
  EXPECT_EQ(message.values[1].runtime, "cgroup_path");

  const ManifestRule& kill = m.rules[2];
  EXPECT_EQ(kill.subject, "system");
  EXPECT_EQ(kill.actions[0].among, std::vector<std::string>{"/batch.slice/**"});
  EXPECT_TRUE(kill.actions[0].flags & MMP_KILL_CGROUP);
  EXPECT_EQ(kill.cooldownNs, 15'000'000'000u);
  EXPECT_EQ(kill.cooldownWord, w.lowered.rules[2].lastWord());
}

TEST(Manifest, RefusesAMissingOrIllTypedKeyNamingIt) {
  const json good = json::parse(written().text);
  const std::string again = ": compile it again with the mmpc that comes with this mmrun";

  json j = good;
  j["settings"]["dryrun"] = j["settings"]["dry_run"];  // a key renamed by the writer
  j["settings"].erase("dry_run");
  EXPECT_EQ(refusal(j), "'p.bpf.o': its manifest is not one this mmrun reads (settings has no \"dry_run\")" + again);

  j = good;
  j.erase("rules");
  EXPECT_EQ(refusal(j), "'p.bpf.o': its manifest is not one this mmrun reads (the manifest has no \"rules\")" + again);

  j = good;
  j["rules"][2]["actions"][0].erase("code");
  EXPECT_EQ(refusal(j),
            "'p.bpf.o': its manifest is not one this mmrun reads (rules[2].actions[0] has no \"code\")" + again);

  j = good;
  j["settings"]["max_actions_per_second"] = "7";
  EXPECT_EQ(refusal(j),
            "'p.bpf.o': its manifest is not one this mmrun reads (settings.max_actions_per_second is \"7\", not an "
            "unsigned integer)" +
                again);

  j = good;
  j["snapshot"][0]["context"] = "cgroup";
  EXPECT_EQ(refusal(j),
            "'p.bpf.o': its manifest is not one this mmrun reads (snapshot[0].context is \"cgroup\", which this mmrun "
            "does not know)" +
                again);

  j = good;
  j["rules"][0]["scope"] = uint64_t{1} << 40;
  EXPECT_EQ(refusal(j),
            "'p.bpf.o': its manifest is not one this mmrun reads (rules[0].scope is 1099511627776, past 32 bits)" +
                again);

  j = good;
  j.erase("format");
  EXPECT_EQ(refusal(j), "'p.bpf.o': its manifest has no format version");
  EXPECT_EQ(llvm::toString(parseManifest("{", "p.bpf.o").takeError()),
            "'p.bpf.o': its manifest is not valid JSON (a damaged object?)");
}

}  // namespace
}  // namespace mmp::runtime

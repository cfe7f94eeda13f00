// Semantic analysis on in-memory policies: diagnostic codes, implied wholes,
// constant folding, rule subjects, settings and rule order.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sema_test.h"

namespace mmp {
namespace {

using testing::FrontEnd;
using testing::kernelBindings;
using testing::runFrontEnd;

std::unique_ptr<FrontEnd> check(const std::string& body) { return runFrontEnd("policy t\n" + body + "\n"); }

struct Case {
  const char* name;
  const char* body;
  std::vector<std::string> codes;  // sorted
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class SemaCodes : public ::testing::TestWithParam<Case> {};

TEST_P(SemaCodes, ReportsExactlyTheseCodes) {
  const Case& c = GetParam();
  auto r = check(c.body);
  ASSERT_TRUE(r->loaded) << r->listing();
  EXPECT_EQ(r->sortedCodes(), c.codes) << c.body << "\n" << r->listing();
}

using V = std::vector<std::string>;

const Case kCases[] = {
    // Valid policies.
    {"design_card", "when memcg.pressure > 60% reclaim anon first", V{}},
    {"all_actions", "set allow_limit = true\nwhen memcg.usage > 90% for 10s reclaim 64MiB anon only, throttle to 95% of memcg.max, limit to 8GiB, log \"x {memcg.usage}\"", V{}},
    {"kill_with_for", "when memcg.pressure.full > 50% for 30s kill largest", V{}},
    {"kill_with_cooldown", "when memcg.pressure.full > 50% kill oldest cgroup cooldown 1min", V{}},
    {"kill_for_one_second", "when memcg.pressure.full > 50% for 1s kill", V{}},
    {"on_oom", "on oom log \"oom in {memcg.path}: victim {oom.victim.pid}\"", V{}},
    {"on_oom_when", "on oom when oom.victim.rss > 1GiB log \"big victim {oom.victim.pid}\"", V{}},
    {"on_reclaim", "on reclaim when reclaim.order > 2 reclaim", V{}},
    {"on_pressure_memcg", "on pressure when memcg.usage > 1GiB reclaim 1MiB", V{}},
    {"on_cgroup_created", "on cgroup_created throttle to 1GiB", V{}},
    {"saturating_sub", "when memcg.usage - memcg.low > 1GiB reclaim", V{}},
    {"rate", "when rate(memcg.usage) > 50MiB / 1s reclaim", V{}},
    {"negative_rate", "when rate(memcg.usage) < -(1MiB / 1s) unthrottle", V{}},
    {"rate_sum", "when rate(memcg.usage) + rate(memcg.swap) > 50MiB / 1s reclaim", V{}},
    {"implied_whole", "when memcg.usage > 90% reclaim", V{}},
    {"implied_whole_left", "when 90% < memcg.usage reclaim", V{}},
    {"implied_whole_system", "when system.swap.free < 10% and system.memory.available < 5% kill cooldown 30s", V{}},
    {"implied_whole_let", "let full = 90%\nwhen memcg.usage > full reclaim", V{}},
    {"implied_whole_swap", "when memcg.swap > 50% reclaim anon", V{}},
    {"percent_of", "when memcg.usage > 90% of memcg.high reclaim", V{}},
    {"count_field", "when memcg.events.oom_kill > 3 log \"kills\"", V{}},
    {"scoped", "in \"/workload.slice/*\", \"/batch.slice/**\" {\n let hot = 60%\n when memcg.pressure > hot reclaim\n}", V{}},
    {"overlapping_protect", "protect \"/system.slice/sshd.service\"\nin \"/system.slice/*\" {\n when memcg.pressure > 60% reclaim\n}", V{}},
    {"modifiers", "when memcg.pressure > 60% reclaim cooldown 5s at most 3 per 1min unless memcg.usage < 1GiB", V{}},
    {"settings", "set interval = 500ms\nset dry_run = true\nset reclaim_step = 5%\nset max_actions_per_second = 3\nset pressure_trigger = 20%\nset insn_budget = 8192\nwhen memcg.pressure > 60% reclaim", V{}},
    {"disjoint_contradiction", "in \"/batch.slice/*\" {\n when memcg.pressure > 60% reclaim anon first\n}\nin \"/web.slice/*\" {\n when memcg.pressure > 60% reclaim file first\n}", V{}},
    {"any_vs_anon", "when memcg.pressure > 60% reclaim\nwhen memcg.pressure > 80% reclaim anon", V{}},
    {"bool_equality", "when (memcg.pressure > 10%) == (memcg.usage > 1GiB) reclaim", V{}},
    // min, max, percent arithmetic, PSI totals and their rate (a share of time).
    {"min_bytes", "when memcg.usage > min(memcg.high, 8GiB) reclaim", V{}},
    {"max_of_each_type", "when max(memcg.pressure, 1%) > 2% and max(rate(memcg.usage), 0B / 1s) > 1MiB / 1s and min(memcg.events.oom, 3) > 1 and min(memcg.pressure.some.total, 1h) > 1s reclaim", V{}},
    {"min_unlimited_limit", "when memcg.usage > min(memcg.max, memcg.high) - 64MiB reclaim", V{}},
    {"min_as_amount", "when memcg.usage > 1GiB reclaim min(1% of memcg.usage, 64MiB)", V{}},
    {"percent_ratio", "when memcg.pressure.some / memcg.pressure.full > 200% reclaim", V{}},
    {"percent_of_percent", "when memcg.pressure > 50% of memcg.pressure.some.avg60 reclaim", V{}},
    {"percent_times_count", "when memcg.pressure * 2 > 3 * memcg.pressure.full reclaim", V{}},
    {"percent_by_count", "when memcg.pressure / 2 > 10% reclaim", V{}},
    {"psi_total", "when memcg.pressure.some.total > 1min reclaim", V{}},
    {"system_psi_total", "when system.pressure.full.total > 10s log \"{system.pressure.full.total}\"", V{}},
    {"rate_of_psi_total", "when rate(memcg.pressure.some.total) < 0.2% reclaim", V{}},
    {"rate_of_system_psi_total", "when rate(system.pressure.full.total) > 5% log \"stalled\"", V{}},
    {"senpai_step", "let target = 0.2%\nwhen memcg.usage > 100MiB and rate(memcg.pressure.some.total) < target reclaim max(min(1% of (100% - rate(memcg.pressure.some.total) / target), 1%) of memcg.usage, 1MiB)", V{}},

    // E0001 / E0002 / E0003
    {"syntax", "when memcg.pressure > 60%", V{"E0001"}},
    {"bad_escape", "when memcg.pressure > 60% log \"a \\q\"", V{"E0002"}},
    {"bad_pattern", "in \"/a//b\" {\n when memcg.pressure > 60% reclaim\n}", V{"E0003"}},
    {"bad_protect", "protect \"/a/../b\"", V{"E0003"}},
    // E0100
    {"unknown_field", "when memcg.presure > 60% reclaim", V{"E0100"}},
    {"unknown_name", "when memcg.pressure > hot reclaim", V{"E0100"}},
    {"let_after_use", "when memcg.pressure > hot reclaim\nlet hot = 60%", V{"E0100"}},
    {"let_of_other_scope", "in \"/a\" {\n let y = 1%\n}\nin \"/b\" {\n when memcg.pressure > y reclaim\n}", V{"E0100"}},
    {"unknown_setting", "set intervall = 1s", V{"E0100"}},
    {"unknown_event", "on panic reclaim", V{"E0100"}},
    {"unknown_function", "when ratee(memcg.usage) > 1GiB reclaim", V{"E0100"}},
    {"unknown_function_mix", "when mix(memcg.usage, 1GiB) > 1GiB reclaim", V{"E0100"}},
    {"unknown_in_log", "when memcg.pressure > 60% log \"{nope}\"", V{"E0100"}},
    {"unknown_import", "import \"std/nope\"", V{"E0100"}},
    // E0101
    {"event_field_in_when", "when oom.victim.rss > 1GiB log \"big\"", V{"E0101"}},
    {"event_field_other_event", "on reclaim when oom.victim.pid > 1 reclaim", V{"E0101"}},
    {"event_field_in_log", "when memcg.pressure > 60% log \"{oom.victim.pid}\"", V{"E0101"}},
    {"path_outside_log", "when memcg.path == memcg.path reclaim", V{"E0101", "E0101"}},
    {"field_in_let", "let x = memcg.usage", V{"E0101"}},
    {"field_in_set", "set interval = memcg.usage", V{"E0101"}},
    {"field_in_for", "when memcg.pressure > 60% for memcg.usage reclaim", V{"E0101"}},
    {"field_in_cooldown", "when memcg.pressure > 60% reclaim cooldown memcg.usage", V{"E0101"}},
    // E0102
    {"let_twice", "let hot = 60%\nlet hot = 70%\nwhen memcg.pressure > hot reclaim", V{"E0102"}},
    {"let_shadows_outer", "let hot = 60%\nin \"/a\" {\n let hot = 70%\n when memcg.pressure > hot reclaim\n}", V{"E0102"}},
    {"set_twice", "set interval = 1s\nset interval = 2s", V{"E0102"}},
    {"cooldown_twice", "when memcg.pressure > 60% reclaim cooldown 1s cooldown 2s", V{"E0102"}},
    {"unless_twice", "when memcg.pressure > 60% reclaim unless memcg.usage < 1GiB unless memcg.usage < 2GiB", V{"E0102"}},
    // E0200
    {"percent_vs_bytes", "when memcg.pressure > 1GiB reclaim", V{"E0200"}},
    {"no_whole", "when memcg.high > 90% reclaim", V{"E0200"}},
    {"no_whole_expression", "when memcg.usage + 1GiB > 90% reclaim", V{"E0200"}},
    {"no_whole_event", "on oom when oom.victim.rss > 10% log \"x\"", V{"E0200"}},
    {"not_a_condition", "when memcg.pressure reclaim", V{"E0200"}},
    {"not_of_bytes", "when not memcg.usage reclaim", V{"E0200"}},
    {"and_of_bytes", "when memcg.usage and memcg.pressure > 1% reclaim", V{"E0200"}},
    {"bytes_plus_percent", "when memcg.usage + 10% > 1GiB reclaim", V{"E0200"}},
    {"of_bytes_bytes", "when memcg.usage > 1GiB of memcg.max reclaim", V{"E0200"}},
    {"duration_times_count", "when memcg.pressure > 60% for 2 * 10s reclaim", V{"E0200"}},
    {"negative_bytes", "when memcg.usage > -memcg.low reclaim", V{"E0200"}},
    {"bool_ordering", "when (memcg.pressure > 10%) < (memcg.usage > 1GiB) reclaim", V{"E0200"}},
    {"throttle_percent", "when memcg.pressure > 60% throttle to 95%", V{"E0200"}},
    {"limit_duration", "set allow_limit = true\nwhen memcg.pressure > 60% limit to 1s", V{"E0200"}},
    {"reclaim_duration", "when memcg.pressure > 60% reclaim 1s", V{"E0200"}},
    {"rate_of_percent", "when rate(memcg.pressure) > 1MiB / 1s reclaim", V{"E0200"}},
    {"rate_two_args", "when rate(memcg.usage, memcg.swap) > 1MiB / 1s reclaim", V{"E0200"}},
    {"rate_of_psi_total_is_percent", "when rate(memcg.pressure.some.total) > 1ms reclaim", V{"E0200"}},
    {"rate_of_count", "when rate(memcg.events.oom) > 1MiB / 1s reclaim", V{"E0200"}},
    {"min_one_arg", "when min(memcg.usage) > 1GiB reclaim", V{"E0200"}},
    {"max_three_args", "when max(memcg.usage, memcg.swap, 1GiB) > 1GiB reclaim", V{"E0200"}},
    {"min_mixed_types", "when min(memcg.usage, 50%) > 1GiB reclaim", V{"E0200"}},
    {"max_bool", "when max(true, false) reclaim", V{"E0200"}},
    {"min_result_type", "when min(memcg.usage, 1GiB) > 50% reclaim", V{"E0200"}},
    {"percent_times_percent", "when memcg.pressure * memcg.pressure > 1% reclaim", V{"E0200"}},
    {"count_by_percent", "when 2 / memcg.pressure > 1% reclaim", V{"E0200"}},
    {"percent_of_duration_total", "when 5% of memcg.pressure.some.total > 1s reclaim", V{"E0200"}},
    {"percent_by_zero_percent", "when memcg.pressure / 0% > 1% reclaim", V{"E0203"}},
    {"percent_of_percent_over_100", "when memcg.pressure > 150% of memcg.pressure.full reclaim", V{"E0201"}},
    {"percent_product_overflow", "let big = 18446744073709551% * 2", V{"E0203"}},
    {"for_not_duration", "when memcg.pressure > 60% for 30 reclaim", V{"E0200"}},
    {"cooldown_not_duration", "when memcg.pressure > 60% reclaim cooldown 5%", V{"E0200"}},
    {"setting_type", "set interval = 1GiB", V{"E0200"}},
    {"setting_bool", "set dry_run = 1", V{"E0200"}},
    // E0201
    {"pressure_over_100", "when memcg.pressure > 120% reclaim", V{"E0201"}},
    {"implied_whole_over_100", "when memcg.usage > 120% reclaim", V{"E0201"}},
    {"of_over_100", "when memcg.usage > 150% of memcg.max reclaim", V{"E0201"}},
    {"reclaim_over_100", "when memcg.pressure > 60% reclaim 101%", V{"E0201"}},
    {"negative_percent", "when memcg.pressure > -5% reclaim", V{"E0201"}},
    {"setting_over_100", "set pressure_trigger = 150%", V{"E0201"}},
    // E0202
    {"unit_MB", "when memcg.usage > 512MB reclaim", V{"E0202"}},
    {"unit_m", "when memcg.pressure > 60% for 5m reclaim", V{"E0202"}},
    {"unit_sec", "when memcg.pressure > 60% for 5sec reclaim", V{"E0202"}},
    // E0203
    {"literal_overflow", "when memcg.usage > 16777216TiB reclaim", V{"E0203"}},
    {"product_overflow", "when memcg.usage > 16777216TiB * 2 reclaim", V{"E0203"}},
    {"product_overflow_fits_literal", "when memcg.usage > 16777215TiB * 2 reclaim", V{"E0203"}},
    {"divide_by_zero", "when memcg.usage > 1GiB / 0 reclaim", V{"E0203"}},
    {"divide_by_zero_let", "let z = 0\nwhen memcg.usage > 1GiB / z reclaim", V{"E0203"}},
    {"fraction_of_byte", "when memcg.usage > 1.5B reclaim", V{"E0203"}},
    {"too_precise_percent", "when memcg.pressure > 0.0001% reclaim", V{"E0203"}},
    // E0204
    {"interval_too_short", "set interval = 1ms", V{"E0204"}},
    {"insn_budget_small", "set insn_budget = 10", V{"E0204"}},
    {"insn_budget_large", "set insn_budget = 2000000", V{"E0204"}},
    {"max_actions_zero", "set max_actions_per_second = 0", V{"E0204"}},
    {"reclaim_step_zero", "set reclaim_step = 0B", V{"E0204"}},
    {"at_most_zero", "when memcg.pressure > 60% reclaim at most 0 per 1min", V{"E0204"}},
    {"interval_9ms", "set interval = 9ms", V{"E0204"}},
    {"interval_10ms", "set interval = 10ms", V{}},
    {"insn_budget_63", "set insn_budget = 63", V{"E0204"}},
    {"insn_budget_64", "set insn_budget = 64", V{}},
    {"insn_budget_1000000", "set insn_budget = 1_000_000", V{}},
    {"insn_budget_1000001", "set insn_budget = 1_000_001", V{"E0204"}},
    {"at_most_seconds", "when memcg.pressure > 60% reclaim at most 3s per 1min", V{"E0200"}},
    {"per_zero", "when memcg.pressure > 60% reclaim at most 1 per 0s", V{"E0204"}},
    // E0300
    {"scope_root", "in \"/\" {\n when memcg.pressure > 60% reclaim\n}", V{"E0300"}},
    {"scope_protected", "protect \"/system.slice\"\nin \"/system.slice/*\" {\n when memcg.pressure > 60% reclaim\n}", V{"E0300"}},
    {"all_protected", "protect \"/**\"\nwhen memcg.pressure > 60% reclaim", V{"E0300"}},
    // E0301
    {"kill_unguarded", "when memcg.pressure.full > 50% kill largest", V{"E0301"}},
    {"kill_short_cooldown", "when memcg.pressure.full > 50% kill cooldown 500ms", V{"E0301"}},
    {"kill_short_for", "when memcg.pressure.full > 50% for 999ms kill", V{"E0301"}},
    {"on_kill_unguarded", "on oom kill", V{"E0301"}},
    // E0302
    {"anon_vs_file", "when memcg.pressure > 60% reclaim anon first\nwhen memcg.pressure > 80% reclaim file first", V{"E0302"}},
    {"throttle_vs_unthrottle", "in \"/a/*\" {\n when memcg.pressure > 60% throttle to 1GiB\n}\nin \"/a/b\" {\n when memcg.pressure < 70% unthrottle\n}", V{"E0302"}},
    {"hysteresis_is_not_a_contradiction", "in \"/a/*\" {\n when memcg.pressure > 60% throttle to 1GiB\n}\nin \"/a/b\" {\n when memcg.pressure < 10% unthrottle\n}", V{}},
    // E0303
    {"constant_condition", "when 60% > 50% reclaim", V{"E0303"}},
    {"constant_let_condition", "let always = true\nwhen always reclaim", V{"E0303"}},
    {"constant_unless", "when memcg.pressure > 60% reclaim unless false", V{"E0303"}},
    {"or_true", "when memcg.pressure > 60% or true reclaim", V{"E0303"}},
    {"and_false", "when false and memcg.pressure > 60% reclaim", V{"E0303"}},
    // E0304
    {"limit_without_allow", "when memcg.usage > 90% limit to 8GiB", V{"E0304"}},
    {"limit_allow_false", "set allow_limit = false\nwhen memcg.usage > 90% limit to 8GiB", V{"E0304"}},
};

INSTANTIATE_TEST_SUITE_P(Sema, SemaCodes, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

// ---- whole-file behaviour -------------------------------------------------------------

TEST(Sema, TheSpecsFirstExampleHasNoErrors) {
  auto r = runFrontEnd(R"(policy web

protect "/system.slice/sshd.service"

let hot = 60%

in "/workload.slice/*" {
  when memcg.pressure > hot reclaim anon first
  when memcg.pressure.full > 20% for 30s reclaim 5% of memcg.usage file first
  when memcg.usage > 90% of memcg.max throttle to 95% of memcg.max
  when system.swap.free < 10% and memcg.pressure.full > 50% for 20s kill largest
}

on oom log "oom in {memcg.path}: victim {oom.victim.pid}"
)");
  EXPECT_TRUE(r->ok) << r->listing();
  // `anon first` and `file first` in one scope: the contradiction warning, nothing else.
  EXPECT_EQ(r->codes(), std::vector<std::string>{"E0302"});
  EXPECT_EQ(r->checked.name, "web");
  EXPECT_EQ(r->checked.rules.size(), 5u);
  ASSERT_EQ(r->checked.protects.size(), 1u);
  EXPECT_EQ(r->checked.protects[0].pattern.text(), "/system.slice/sshd.service");
}

TEST(Sema, EveryErrorIsReportedNotJustTheFirst) {
  auto r = check(
      "when memcg.presure > 60% reclaim\n"
      "when memcg.usage > 512MB reclaim\n"
      "when memcg.pressure.full > 50% kill\n"
      "when memcg.high > 90% reclaim");
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->codes(), (std::vector<std::string>{"E0100", "E0202", "E0301", "E0200"})) << r->listing();
}

TEST(Sema, DiagnosticsPointAtTheirSpan) {
  struct Span {
    const char* body;
    const char* code;
    const char* text;
  };
  for (const Span& c : {Span{"when memcg.usage > 512MB reclaim", "E0202", "MB"},
                        Span{"when memcg.presure > 60% reclaim", "E0100", "memcg.presure"},
                        Span{"when memcg.pressure > 1GiB reclaim", "E0200", ">"},
                        Span{"when memcg.pressure.full > 50% kill", "E0301", "kill"},
                        Span{"when memcg.usage > 1GiB / 0 reclaim", "E0203", "0"},
                        Span{"in \"/\" {\n when memcg.pressure > 1% reclaim\n}", "E0300", "\"/\""},
                        Span{"when memcg.usage > 90% limit to 8GiB", "E0304", "limit to 8GiB"}}) {
    SCOPED_TRACE(c.body);
    auto r = check(c.body);
    ASSERT_EQ(r->codes(), std::vector<std::string>{c.code}) << r->listing();
    EXPECT_EQ(r->sm.file(r->file).slice(r->diags.all()[0].range), c.text);
  }
}

TEST(Sema, BrokenLetsStayQuiet) {
  auto r = check("let bad = 1 + * 2\nwhen memcg.pressure > 1% reclaim\nwhen memcg.pressure > bad reclaim");
  EXPECT_EQ(r->main().items.size(), 2u);
  EXPECT_EQ(r->codes(), std::vector<std::string>{"E0001"}) << r->listing();
}

TEST(Sema, CheckPolicyFailsOnItsOwnErrors) {
  EXPECT_FALSE(check("when memcg.high > 90% reclaim")->ok);
  EXPECT_FALSE(check("set interval = 1ms")->ok);
  EXPECT_TRUE(check("when memcg.pressure > 60% reclaim")->ok);
}

TEST(Sema, WarningsAloneKeepThePolicyOk) {
  auto r = check("when 60% > 50% reclaim");
  EXPECT_TRUE(r->ok);
  ASSERT_EQ(r->diags.all().size(), 1u);
  EXPECT_EQ(r->diags.all()[0].severity, Severity::Warning);
}

// ---- implied wholes --------------------------------------------------------------------

const ast::BinaryExpr& conditionOf(const FrontEnd& r, size_t rule) {
  const ast::Expr* e = r.checked.rules.at(rule).rule->condition.get();
  return *llvm::cast<ast::BinaryExpr>(e);
}

TEST(Sema, ImplicitWholeComparisonsSetImpliedWhole) {
  auto r = check(
      "when memcg.usage > 90% reclaim\n"
      "when 90% < memcg.usage reclaim\n"
      "when system.swap.free < 10% kill cooldown 30s\n"
      "when memcg.swap >= 50% reclaim\n"
      "when system.memory.available < 5% kill cooldown 30s\n"
      "when memcg.usage > 90% of memcg.max reclaim\n"
      "when memcg.pressure > 60% reclaim");
  ASSERT_TRUE(r->ok) << r->listing();
  const Bindings& b = kernelBindings();
  EXPECT_EQ(conditionOf(*r, 0).impliedWhole, b.field("memcg.max"));
  EXPECT_FALSE(conditionOf(*r, 0).wholeOnLeft);
  EXPECT_EQ(conditionOf(*r, 1).impliedWhole, b.field("memcg.max"));
  EXPECT_TRUE(conditionOf(*r, 1).wholeOnLeft);
  EXPECT_EQ(conditionOf(*r, 2).impliedWhole, b.field("system.swap.total"));
  EXPECT_EQ(conditionOf(*r, 3).impliedWhole, b.field("memcg.swap.max"));
  EXPECT_EQ(conditionOf(*r, 4).impliedWhole, b.field("system.memory.total"));
  EXPECT_EQ(conditionOf(*r, 5).impliedWhole, nullptr);
  EXPECT_EQ(conditionOf(*r, 6).impliedWhole, nullptr);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(conditionOf(*r, i).type, Type::Bool) << i;
}

TEST(Sema, ImpliedWholeInsideAConjunction) {
  auto r = check("when system.swap.free < 10% and memcg.pressure.full > 50% for 20s kill largest");
  ASSERT_TRUE(r->ok) << r->listing();
  const auto& conj = conditionOf(*r, 0);
  const auto* left = llvm::cast<ast::BinaryExpr>(conj.lhs.get());
  const auto* right = llvm::cast<ast::BinaryExpr>(conj.rhs.get());
  EXPECT_EQ(left->impliedWhole, kernelBindings().field("system.swap.total"));
  EXPECT_EQ(right->impliedWhole, nullptr);
}

// ---- constant folding ------------------------------------------------------------------

const ast::LetDecl& letNamed(const FrontEnd& r, const std::string& name) {
  for (const auto& item : r.main().items)
    if (auto* let = llvm::dyn_cast<ast::LetDecl>(item.get()); let && let->name == name) return *let;
  ADD_FAILURE() << "no let " << name;
  static ast::LetDecl none{SourceRange{}};
  return none;
}

void expectConstant(const FrontEnd& r, const std::string& let, Type type, __int128 raw, const std::string& text) {
  SCOPED_TRACE(let);
  const ast::LetDecl& d = letNamed(r, let);
  ASSERT_TRUE(d.value);
  EXPECT_EQ(d.value->type, type);
  ASSERT_TRUE(d.value->constant.has_value());
  EXPECT_EQ(d.value->constant->type, type);
  EXPECT_TRUE(d.value->constant->raw == raw) << static_cast<long double>(d.value->constant->raw);
  EXPECT_EQ(d.value->constant->str(), text);
}

TEST(Sema, ConstantFolding) {
  auto r = check(
      "let x = 2 * 64MiB\n"
      "let y = x / 4\n"
      "let share = 1GiB / 4GiB\n"
      "let third = 1GiB / 3GiB\n"
      "let hold = 1min + 30s\n"
      "let tight = 100ms - 1s\n"
      "let speed = 50MiB / 1s\n"
      "let part = 5% of 50% of 1GiB\n"
      "let small = 64MiB - 1GiB\n"
      "let n = (1 + 2) * 3\n"
      "let cond = not (1GiB > 2GiB) and true\n"
      "let back = -(speed)\n"
      "let pct = 60% - 10.5%");
  ASSERT_TRUE(r->ok) << r->listing();
  constexpr __int128 kMiB = 1 << 20;
  expectConstant(*r, "x", Type::Bytes, 128 * kMiB, "128MiB");
  expectConstant(*r, "y", Type::Bytes, 32 * kMiB, "32MiB");
  expectConstant(*r, "share", Type::Percent, 25 * kPercentScale, "25%");
  expectConstant(*r, "third", Type::Percent, 33333, "33.333%");
  expectConstant(*r, "hold", Type::Duration, 90 * __int128{kNanosPerSecond}, "90s");
  expectConstant(*r, "tight", Type::Duration, 0, "0s");
  expectConstant(*r, "speed", Type::Rate, 50 * kMiB, "52428800B/s");
  expectConstant(*r, "part", Type::Bytes, 1024 * kMiB / 40, "26843545B");
  expectConstant(*r, "small", Type::Bytes, 0, "0B");
  expectConstant(*r, "n", Type::Count, 9, "9");
  expectConstant(*r, "cond", Type::Bool, 1, "true");
  expectConstant(*r, "back", Type::Rate, -50 * kMiB, "-52428800B/s");
  expectConstant(*r, "pct", Type::Percent, 49500, "49.5%");
}

TEST(Sema, ConstantFoldingOfMinMaxAndPercentArithmetic) {
  auto r = check(
      "let lo = min(64MiB, 1GiB)\n"
      "let hi = max(64MiB, 1GiB)\n"
      "let shortest = min(2s, 1500ms)\n"
      "let fewest = min(3, 2)\n"
      "let slower = max(-(1MiB / 1s), -(2MiB / 1s))\n"
      "let ratio = 0.1% / 0.2%\n"
      "let third = 1% / 3%\n"
      "let part = 50% of 10%\n"
      "let tiny = 1% of 0.1%\n"
      "let triple = 1.5% * 3\n"
      "let triple_left = 3 * 1.5%\n"
      "let quarter = 10% / 4\n"
      "let step = min(1% of (100% - 0.1% / 0.2%), 1%)\n"
      "let floor = max(100% - 150%, 0.5%)\n"
      "let nested = max(1%, min(5%, 3%))");
  ASSERT_TRUE(r->ok) << r->listing();
  constexpr __int128 kMiB = 1 << 20;
  expectConstant(*r, "lo", Type::Bytes, 64 * kMiB, "64MiB");
  expectConstant(*r, "hi", Type::Bytes, 1024 * kMiB, "1GiB");
  expectConstant(*r, "shortest", Type::Duration, 1'500'000'000, "1500ms");
  expectConstant(*r, "fewest", Type::Count, 2, "2");
  expectConstant(*r, "slower", Type::Rate, -kMiB, "-1048576B/s");
  expectConstant(*r, "ratio", Type::Percent, 50'000, "50%");
  expectConstant(*r, "third", Type::Percent, 33'333, "33.333%");
  expectConstant(*r, "part", Type::Percent, 5'000, "5%");
  expectConstant(*r, "tiny", Type::Percent, 1, "0.001%");
  expectConstant(*r, "triple", Type::Percent, 4'500, "4.5%");
  expectConstant(*r, "triple_left", Type::Percent, 4'500, "4.5%");
  expectConstant(*r, "quarter", Type::Percent, 2'500, "2.5%");
  expectConstant(*r, "step", Type::Percent, 500, "0.5%");  // 1% of 50%
  expectConstant(*r, "floor", Type::Percent, 500, "0.5%");  // 0% saturated, then the floor
  expectConstant(*r, "nested", Type::Percent, 3'000, "3%");
}

TEST(Sema, RateOfADurationFieldIsAPercent) {
  auto r = check("when rate(memcg.pressure.some.total) < 0.2% reclaim\nwhen rate(memcg.usage) > 1MiB / 1s reclaim");
  ASSERT_TRUE(r->ok) << r->listing();
  EXPECT_EQ(conditionOf(*r, 0).lhs->type, Type::Percent);
  EXPECT_EQ(conditionOf(*r, 1).lhs->type, Type::Rate);
}

TEST(Sema, MinMaxDiagnosticsSayWhatTheyTake) {
  auto arity = check("when min(memcg.usage) > 1GiB reclaim");
  ASSERT_EQ(arity->codes(), std::vector<std::string>{"E0200"}) << arity->listing();
  EXPECT_EQ(arity->diags.all()[0].message, "`min` takes two values, found 1 argument");
  auto mixed = check("when max(memcg.usage, 50%) > 1GiB reclaim");
  ASSERT_EQ(mixed->codes(), std::vector<std::string>{"E0200"}) << mixed->listing();
  EXPECT_EQ(mixed->diags.all()[0].message, "`max` of `bytes` and `percent`");
}

TEST(Sema, LetUsesCarryTheConstant) {
  auto r = check("let hot = 60%\nwhen memcg.pressure > hot reclaim");
  ASSERT_TRUE(r->ok) << r->listing();
  const auto& cmp = conditionOf(*r, 0);
  const auto* use = llvm::cast<ast::PathExpr>(cmp.rhs.get());
  EXPECT_EQ(use->let, &letNamed(*r, "hot"));
  EXPECT_EQ(use->binding, nullptr);
  ASSERT_TRUE(use->constant.has_value());
  EXPECT_EQ(use->constant->str(), "60%");
  const auto* field = llvm::cast<ast::PathExpr>(cmp.lhs.get());
  EXPECT_EQ(field->binding, kernelBindings().field("memcg.pressure"));
  EXPECT_FALSE(field->constant.has_value());
  EXPECT_FALSE(cmp.constant.has_value());
}

// ---- rule subjects ------------------------------------------------------------------------

TEST(Sema, MemcgSubject) {
  auto r = check(
      "when memcg.pressure > 60% reclaim\n"
      "when system.swap.free < 10% for 20s kill largest process\n"
      "when system.pressure > 10% and memcg.usage > 1GiB reclaim\n"
      "on oom log \"x\"\n"
      "when system.pressure > 10% reclaim 5% of memcg.usage\n"
      "on reclaim when reclaim.order > 2 reclaim");
  ASSERT_TRUE(r->ok) << r->listing();
  ASSERT_EQ(r->checked.rules.size(), 6u);
  EXPECT_TRUE(r->checked.rules[0].rule->memcgSubject);
  EXPECT_FALSE(r->checked.rules[1].rule->memcgSubject);
  EXPECT_TRUE(r->checked.rules[2].rule->memcgSubject);
  EXPECT_TRUE(r->checked.rules[3].rule->memcgSubject);  // oom has a memcg
  EXPECT_FALSE(r->checked.rules[4].rule->memcgSubject);  // the amount is not the condition
  EXPECT_TRUE(r->checked.rules[5].rule->memcgSubject);
}

// ---- settings ----------------------------------------------------------------------------

TEST(Sema, SettingDefaults) {
  auto r = check("when memcg.pressure > 60% reclaim");
  ASSERT_TRUE(r->ok) << r->listing();
  const Settings& s = r->checked.settings;
  EXPECT_EQ(s.interval.str(), "1s");
  EXPECT_FALSE(s.dryRun);
  EXPECT_EQ(s.reclaimStep.str(), "1%");
  EXPECT_FALSE(s.allowLimit);
  EXPECT_EQ(s.maxActionsPerSecond, 10u);
  EXPECT_EQ(s.pressureTrigger.str(), "10%");
  EXPECT_EQ(s.insnBudget, 4096u);
}

TEST(Sema, SettingsLandInTheCheckedPolicy) {
  auto r = check(
      "set interval = 500ms\n"
      "set dry_run = true\n"
      "set reclaim_step = 64MiB\n"
      "set allow_limit = true\n"
      "set max_actions_per_second = 25\n"
      "set pressure_trigger = 15%\n"
      "set insn_budget = 8192\n"
      "when memcg.usage > 90% limit to 8GiB");
  ASSERT_TRUE(r->ok) << r->listing();
  const Settings& s = r->checked.settings;
  EXPECT_EQ(s.interval.type, Type::Duration);
  EXPECT_TRUE(s.interval.raw == 500'000'000);
  EXPECT_TRUE(s.dryRun);
  EXPECT_EQ(s.reclaimStep.type, Type::Bytes);
  EXPECT_EQ(s.reclaimStep.str(), "64MiB");
  EXPECT_TRUE(s.allowLimit);
  EXPECT_EQ(s.maxActionsPerSecond, 25u);
  EXPECT_EQ(s.pressureTrigger.str(), "15%");
  EXPECT_EQ(s.insnBudget, 8192u);
}

TEST(Sema, SettingsTakeLetConstants) {
  auto r = check("let step = 2%\nset reclaim_step = step\nset interval = 2 * 0 + 1s + 1s");
  EXPECT_EQ(r->codes(), std::vector<std::string>{"E0200"}) << r->listing();  // count * count + duration
  auto ok = check("let step = 2%\nset reclaim_step = step\nset interval = 1s + 1s");
  ASSERT_TRUE(ok->ok) << ok->listing();
  EXPECT_EQ(ok->checked.settings.reclaimStep.str(), "2%");
  EXPECT_EQ(ok->checked.settings.interval.str(), "2s");
}

TEST(Sema, RejectedSettingsKeepTheirDefaults) {
  auto r = check("set interval = 1ms\nset insn_budget = 10\nset pressure_trigger = 150%");
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->checked.settings.interval.str(), "1s");
  EXPECT_EQ(r->checked.settings.insnBudget, 4096u);
  EXPECT_EQ(r->checked.settings.pressureTrigger.str(), "10%");
}

// ---- rule order and scopes -------------------------------------------------------------------

TEST(Sema, RuleIdsAreInSourceOrderAcrossScopes) {
  auto r = check(
      "when memcg.pressure > 10% log \"a\"\n"
      "in \"/x/*\" {\n"
      "  when memcg.pressure > 20% log \"b\"\n"
      "  let mid = 1%\n"
      "  when memcg.pressure > 30% log \"c\"\n"
      "}\n"
      "on oom log \"d\"\n"
      "in \"/y\", \"/z/**\" {\n"
      "  when memcg.pressure > 40% log \"e\"\n"
      "}\n"
      "when memcg.pressure > 50% log \"f\"");
  ASSERT_TRUE(r->ok) << r->listing();
  const auto& rules = r->checked.rules;
  ASSERT_EQ(rules.size(), 6u);
  const char* expected[] = {"a", "b", "c", "d", "e", "f"};
  for (size_t i = 0; i < rules.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(rules[i].rule->id, i);
    EXPECT_EQ(rules[i].rule->actions.at(0).message.value, expected[i]);
  }
  EXPECT_EQ(rules[0].scope, nullptr);
  ASSERT_EQ(rules[0].patterns.size(), 1u);
  EXPECT_EQ(rules[0].patterns[0].text(), "/**");
  ASSERT_NE(rules[1].scope, nullptr);
  EXPECT_EQ(rules[1].scope, rules[2].scope);
  ASSERT_EQ(rules[1].patterns.size(), 1u);
  EXPECT_EQ(rules[1].patterns[0].text(), "/x/*");
  EXPECT_EQ(rules[3].scope, nullptr);
  ASSERT_EQ(rules[4].patterns.size(), 2u);
  EXPECT_EQ(rules[4].patterns[0].text(), "/y");
  EXPECT_EQ(rules[4].patterns[1].text(), "/z/**");
  EXPECT_EQ(rules[5].scope, nullptr);
  // Source order means increasing offsets.
  for (size_t i = 1; i < rules.size(); ++i) EXPECT_LT(rules[i - 1].rule->range.begin, rules[i].rule->range.begin);
}

class SemaImports : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("mmp_sema_imports_" + std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(dir_ / "std");
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / "std" / (name + ".mmp")) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(SemaImports, ImportedRulesComeFirst) {
  write("base", "policy base\nset interval = 2s\nwhen memcg.pressure > 90% log \"base\"\n");
  auto r = runFrontEnd("policy main\nimport \"std/base\"\nwhen memcg.pressure > 10% log \"main\"\n", dir_.string());
  ASSERT_TRUE(r->ok) << r->listing();
  ASSERT_EQ(r->checked.rules.size(), 2u);
  EXPECT_EQ(r->checked.rules[0].rule->actions.at(0).message.value, "base");
  EXPECT_EQ(r->checked.rules[1].rule->actions.at(0).message.value, "main");
  EXPECT_EQ(r->checked.rules[1].rule->id, 1u);
  EXPECT_EQ(r->checked.name, "main");
  EXPECT_EQ(r->checked.settings.interval.str(), "2s");
}

TEST_F(SemaImports, ImportCycleIsE0103) {
  write("a", "policy a\nimport \"std/b\"\n");
  write("b", "policy b\nimport \"std/a\"\n");
  auto r = runFrontEnd("policy main\nimport \"std/a\"\n", dir_.string());
  EXPECT_EQ(r->codes(), std::vector<std::string>{"E0103"}) << r->listing();
}

}  // namespace
}  // namespace mmp

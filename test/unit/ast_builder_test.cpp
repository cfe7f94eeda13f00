// The parsing stage: source text to the project's AST, compared through
// ast::dump, with source ranges and syntax-error recovery.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "ast/ast.h"
#include "diagnostics/diagnostics.h"
#include "parse/parse.h"
#include "source/source_manager.h"

namespace mmp {
namespace {

struct Parsed {
  SourceManager sm;
  Diagnostics diags;
  uint32_t file = 0;
  std::unique_ptr<ast::Policy> policy;

  const std::string& text() const { return sm.file(file).text(); }
  std::string dump() const { return policy ? ast::dump(*policy) : "<null>"; }
  std::vector<std::string> codes() const {
    std::vector<std::string> out;
    for (const auto& d : diags.all()) out.emplace_back(diagInfo(d.code).id);
    return out;
  }
  template <typename T>
  T& item(size_t i) const {
    EXPECT_LT(i, policy->items.size());
    return *llvm::cast<T>(policy->items.at(i).get());
  }
};

std::unique_ptr<Parsed> parse(const std::string& text) {
  auto p = std::make_unique<Parsed>();
  p->file = p->sm.add("test.mmp", text);
  p->policy = parsePolicy(p->sm, p->file, p->diags);
  return p;
}

// The dump of `let x = EXPR`'s value.
std::string exprDump(const std::string& expr) {
  auto p = parse("policy p\nlet x = " + expr + "\n");
  EXPECT_TRUE(p->diags.all().empty()) << expr;
  if (!p->policy || p->policy->items.size() != 1) return "<no let>";
  return ast::dump(*p->item<ast::LetDecl>(0).value);
}

uint32_t offsetOf(const std::string& text, const std::string& needle, size_t from = 0) {
  size_t at = text.find(needle, from);
  EXPECT_NE(at, std::string::npos) << needle;
  return static_cast<uint32_t>(at);
}

// ---- expressions: precedence and associativity ---------------------------------

TEST(AstBuilder, Atoms) {
  EXPECT_EQ(exprDump("2.5GiB"), "2.5GiB");
  EXPECT_EQ(exprDump("1_000"), "1_000");
  EXPECT_EQ(exprDump("60%"), "60%");
  EXPECT_EQ(exprDump("true"), "true");
  EXPECT_EQ(exprDump("false"), "false");
  EXPECT_EQ(exprDump("hot"), "hot");
  EXPECT_EQ(exprDump("memcg.pressure.full.avg60"), "memcg.pressure.full.avg60");
  EXPECT_EQ(exprDump("reclaim.order"), "reclaim.order");
  EXPECT_EQ(exprDump("x.anon.file.cgroup.process"), "x.anon.file.cgroup.process");
  EXPECT_EQ(exprDump("rate(memcg.usage)"), "(rate memcg.usage)");
  EXPECT_EQ(exprDump("f(a, b + c)"), "(f a (+ b c))");
}

TEST(AstBuilder, PrecedenceLowestFirst) {
  // or < and < not < comparison < + - < * / < of < unary -
  EXPECT_EQ(exprDump("a or b and c"), "(or a (and b c))");
  EXPECT_EQ(exprDump("a and b or c"), "(or (and a b) c)");
  EXPECT_EQ(exprDump("not a and b"), "(and (not a) b)");
  EXPECT_EQ(exprDump("not a or not b"), "(or (not a) (not b))");
  EXPECT_EQ(exprDump("not a < b"), "(not (< a b))");
  EXPECT_EQ(exprDump("a + b < c * d"), "(< (+ a b) (* c d))");
  EXPECT_EQ(exprDump("a < b + c"), "(< a (+ b c))");
  EXPECT_EQ(exprDump("a + b * c"), "(+ a (* b c))");
  EXPECT_EQ(exprDump("a * b + c"), "(+ (* a b) c)");
  EXPECT_EQ(exprDump("2 * 3 of x"), "(* 2 (of 3 x))");
  EXPECT_EQ(exprDump("a of b * c"), "(* (of a b) c)");
  EXPECT_EQ(exprDump("a of b / c"), "(/ (of a b) c)");
  EXPECT_EQ(exprDump("-4 of x"), "(of (- 4) x)");
  EXPECT_EQ(exprDump("5% of -x"), "(of 5% (- x))");
  EXPECT_EQ(exprDump("-a * b"), "(* (- a) b)");
  EXPECT_EQ(exprDump("x or y and not z < 1 + 2 * 3 of - 4 or w"),
            "(or (or x (and y (not (< z (+ 1 (* 2 (of 3 (- 4)))))))) w)");
}

TEST(AstBuilder, EveryComparisonOperator) {
  EXPECT_EQ(exprDump("a < b"), "(< a b)");
  EXPECT_EQ(exprDump("a <= b"), "(<= a b)");
  EXPECT_EQ(exprDump("a > b"), "(> a b)");
  EXPECT_EQ(exprDump("a >= b"), "(>= a b)");
  EXPECT_EQ(exprDump("a == b"), "(== a b)");
  EXPECT_EQ(exprDump("a != b"), "(!= a b)");
}

TEST(AstBuilder, Associativity) {
  EXPECT_EQ(exprDump("1 - 2 - 3"), "(- (- 1 2) 3)");
  EXPECT_EQ(exprDump("1 + 2 - 3"), "(- (+ 1 2) 3)");
  EXPECT_EQ(exprDump("8 / 4 / 2"), "(/ (/ 8 4) 2)");
  EXPECT_EQ(exprDump("8 / 4 * 2"), "(* (/ 8 4) 2)");
  EXPECT_EQ(exprDump("a or b or c"), "(or (or a b) c)");
  EXPECT_EQ(exprDump("a and b and c"), "(and (and a b) c)");
  EXPECT_EQ(exprDump("5% of 50% of memcg.max"), "(of 5% (of 50% memcg.max))");  // right-associative
  EXPECT_EQ(exprDump("1% of 2% of 3% of x"), "(of 1% (of 2% (of 3% x)))");
  EXPECT_EQ(exprDump("not not x"), "(not (not x))");
  EXPECT_EQ(exprDump("- - 3"), "(- (- 3))");
}

TEST(AstBuilder, ParenthesesOverridePrecedence) {
  EXPECT_EQ(exprDump("(1 + 2) * 3"), "(* (+ 1 2) 3)");
  EXPECT_EQ(exprDump("(a or b) and c"), "(and (or a b) c)");
  EXPECT_EQ(exprDump("(5% of 50%) of x"), "(of (of 5% 50%) x)");
  EXPECT_EQ(exprDump("not (a and b)"), "(not (and a b))");
  EXPECT_EQ(exprDump("((x))"), "x");
}

TEST(AstBuilder, ChainedComparisonIsASyntaxError) {
  auto p = parse("policy p\nwhen a < b < c reclaim\nwhen memcg.pressure > 1% reclaim\n");
  EXPECT_EQ(p->codes(), std::vector<std::string>{"E0001"});
  EXPECT_EQ(p->dump(), "(policy p\n (when (> memcg.pressure 1%) (reclaim)))\n");
}

// ---- items, actions and modifiers ------------------------------------------------

TEST(AstBuilder, TopLevelItems) {
  auto p = parse(
      "policy web\n"
      "import \"std/oomd\"\n"
      "set interval = 2s\n"
      "protect \"/system.slice/sshd.service\", \"/init.scope\"\n"
      "let hot = 60%\n"
      "when memcg.pressure > hot reclaim anon first\n"
      "on oom log \"oom\"\n");
  EXPECT_TRUE(p->diags.all().empty());
  EXPECT_EQ(p->dump(),
            "(policy web\n"
            " (import \"std/oomd\")\n"
            " (set interval 2s)\n"
            " (protect \"/system.slice/sshd.service\" \"/init.scope\")\n"
            " (let hot 60%)\n"
            " (when (> memcg.pressure hot) (reclaim anon first))\n"
            " (on oom (log \"oom\")))\n");
  EXPECT_EQ(p->policy->name, "web");
}

TEST(AstBuilder, EmptyPolicy) {
  auto p = parse("policy empty\n");
  EXPECT_TRUE(p->diags.all().empty());
  EXPECT_EQ(p->dump(), "(policy empty)\n");
}

TEST(AstBuilder, EveryReclaimForm) {
  auto p = parse(
      "policy p\n"
      "when a reclaim, reclaim 64MiB, reclaim anon, reclaim file, reclaim first, reclaim only,\n"
      "  reclaim 5% of memcg.usage file only, reclaim 1MiB anon first, reclaim file first\n");
  EXPECT_TRUE(p->diags.all().empty());
  EXPECT_EQ(p->dump(),
            "(policy p\n"
            " (when a (reclaim) (reclaim 64MiB) (reclaim anon) (reclaim file) (reclaim first) (reclaim only)"
            " (reclaim (of 5% memcg.usage) file only) (reclaim 1MiB anon first) (reclaim file first)))\n");
}

TEST(AstBuilder, ThrottleUnthrottleLimit) {
  auto p = parse("policy p\nwhen a throttle to 95% of memcg.max, unthrottle, limit to 2GiB + 1MiB\n");
  EXPECT_TRUE(p->diags.all().empty());
  EXPECT_EQ(p->dump(), "(policy p\n (when a (throttle (of 95% memcg.max)) (unthrottle) (limit (+ 2GiB 1MiB))))\n");
}

TEST(AstBuilder, EveryKillForm) {
  auto p = parse(
      "policy p\n"
      "when a kill, kill largest, kill oldest, kill youngest, kill growing, kill process, kill cgroup,\n"
      "  kill oldest cgroup, kill growing process\n");
  EXPECT_TRUE(p->diags.all().empty());
  EXPECT_EQ(p->dump(),
            "(policy p\n"
            " (when a (kill largest process) (kill largest process) (kill oldest process)"
            " (kill youngest process) (kill growing process) (kill largest process) (kill largest cgroup)"
            " (kill oldest cgroup) (kill growing process)))\n");
  const auto& actions = p->item<ast::Rule>(0).actions;
  ASSERT_EQ(actions.size(), 9u);
  EXPECT_FALSE(actions[0].pickWritten);
  EXPECT_FALSE(actions[0].targetWritten);
  EXPECT_TRUE(actions[1].pickWritten);
  EXPECT_FALSE(actions[1].targetWritten);
  EXPECT_FALSE(actions[5].pickWritten);
  EXPECT_TRUE(actions[5].targetWritten);
  EXPECT_EQ(actions[7].pick, ast::KillPick::Oldest);
  EXPECT_EQ(actions[7].target, ast::KillTarget::Cgroup);
}

TEST(AstBuilder, EveryModifier) {
  auto p = parse(
      "policy p\n"
      "when a for 30s kill cooldown 1min at most 3 per 1h unless b or c\n"
      "on oom kill cooldown 30s\n"
      "on pressure when memcg.pressure > 10% reclaim unless memcg.usage < 1GiB at most 1 per 10s\n");
  EXPECT_TRUE(p->diags.all().empty());
  EXPECT_EQ(p->dump(),
            "(policy p\n"
            " (when a (for 30s) (kill largest process) (cooldown 1min) (at-most 3 per 1h) (unless (or b c)))\n"
            " (on oom (kill largest process) (cooldown 30s))\n"
            " (on pressure when (> memcg.pressure 10%) (reclaim) (unless (< memcg.usage 1GiB))"
            " (at-most 1 per 10s)))\n");
  const auto& rule = p->item<ast::Rule>(0);
  ASSERT_EQ(rule.modifiers.size(), 3u);
  EXPECT_EQ(rule.modifiers[0].kind, ast::ModifierKind::Cooldown);
  EXPECT_EQ(rule.modifiers[1].kind, ast::ModifierKind::AtMost);
  EXPECT_EQ(rule.modifiers[2].kind, ast::ModifierKind::Unless);
  ASSERT_TRUE(rule.modifiers[1].times);
  EXPECT_EQ(ast::dump(*rule.modifiers[1].times), "3");
}

TEST(AstBuilder, OnRulesForEveryEvent) {
  auto p = parse(
      "policy p\n"
      "on oom when oom.victim.rss > 1GiB log \"big\"\n"
      "on reclaim when reclaim.order > 2 reclaim\n"
      "on pressure reclaim 1MiB\n"
      "on cgroup_created throttle to 1GiB\n");
  EXPECT_TRUE(p->diags.all().empty());
  EXPECT_EQ(p->dump(),
            "(policy p\n"
            " (on oom when (> oom.victim.rss 1GiB) (log \"big\"))\n"
            " (on reclaim when (> reclaim.order 2) (reclaim))\n"
            " (on pressure (reclaim 1MiB))\n"
            " (on cgroup_created (throttle 1GiB)))\n");
  EXPECT_EQ(p->item<ast::Rule>(0).ruleKind, ast::RuleKind::On);
  EXPECT_EQ(p->item<ast::Rule>(0).event, "oom");
  EXPECT_EQ(p->item<ast::Rule>(1).event, "reclaim");
}

TEST(AstBuilder, ScopesWithLets) {
  auto p = parse(
      "policy p\n"
      "let hot = 60%\n"
      "in \"/workload.slice/*\", \"/batch.slice\" {\n"
      "  let cold = 10%\n"
      "  when memcg.pressure > hot reclaim anon first\n"
      "  let warm = 30%\n"
      "  on oom log \"x\"\n"
      "}\n"
      "in \"/a\" {\n"
      "}\n");
  EXPECT_TRUE(p->diags.all().empty());
  EXPECT_EQ(p->dump(),
            "(policy p\n"
            " (let hot 60%)\n"
            " (in \"/workload.slice/*\" \"/batch.slice\"\n"
            "  (let cold 10%)\n"
            "  (when (> memcg.pressure hot) (reclaim anon first))\n"
            "  (let warm 30%)\n"
            "  (on oom (log \"x\")))\n"
            " (in \"/a\"))\n");
  const auto& scope = p->item<ast::Scope>(1);
  ASSERT_EQ(scope.patterns.size(), 2u);
  EXPECT_EQ(scope.patterns[0].value, "/workload.slice/*");
  ASSERT_EQ(scope.items.size(), 4u);
  EXPECT_TRUE(llvm::isa<ast::LetDecl>(scope.items[0].get()));
  EXPECT_TRUE(llvm::isa<ast::Rule>(scope.items[1].get()));
}

TEST(AstBuilder, StringEscapes) {
  auto p = parse("policy p\nprotect \"/a\\\\b\", \"/q\\\"x\"\n");
  EXPECT_TRUE(p->diags.all().empty());
  const auto& protect = p->item<ast::ProtectDecl>(0);
  ASSERT_EQ(protect.patterns.size(), 2u);
  EXPECT_EQ(protect.patterns[0].value, "/a\\b");
  EXPECT_EQ(protect.patterns[1].value, "/q\"x");
}

// ---- log messages --------------------------------------------------------------------

TEST(AstBuilder, LogInterpolationParts) {
  auto p = parse("policy p\non oom log \"oom in {memcg.path}: victim {oom.victim.pid}\"\n");
  EXPECT_TRUE(p->diags.all().empty());
  EXPECT_EQ(p->dump(), "(policy p\n (on oom (log \"oom in \" {memcg.path} \": victim \" {oom.victim.pid})))\n");
  const auto& action = p->item<ast::Rule>(0).actions.at(0);
  ASSERT_EQ(action.parts.size(), 4u);
  EXPECT_EQ(action.parts[0].text, "oom in ");
  EXPECT_FALSE(action.parts[0].expr);
  ASSERT_TRUE(action.parts[1].expr);
  EXPECT_EQ(ast::dump(*action.parts[1].expr), "memcg.path");
  EXPECT_EQ(action.parts[2].text, ": victim ");
  EXPECT_EQ(action.message.value, "oom in {memcg.path}: victim {oom.victim.pid}");
}

TEST(AstBuilder, LogInterpolationOfExpressionsAndBraces) {
  auto p = parse("policy p\non oom log \"{memcg.usage / 1MiB}MiB {{literal}} \\\"q\\\"\\n{memcg.path}\"\n");
  EXPECT_TRUE(p->diags.all().empty());
  // dump() writes strings with their escapes.
  EXPECT_EQ(p->dump(), "(policy p\n (on oom (log {(/ memcg.usage 1MiB)} \"MiB {literal} \\\"q\\\"\\n\" {memcg.path})))\n");
  const auto& parts = p->item<ast::Rule>(0).actions.at(0).parts;
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1].text, "MiB {literal} \"q\"\n");
}

TEST(AstBuilder, LogInterpolationRangesPointIntoTheFile) {
  std::string text = "policy p\non oom log \"é {memcg.usage + 1MiB} {oom.victim.pid}\"\n";
  auto p = parse(text);
  ASSERT_TRUE(p->diags.all().empty());
  const auto& parts = p->item<ast::Rule>(0).actions.at(0).parts;
  ASSERT_EQ(parts.size(), 4u);
  const auto* sum = llvm::dyn_cast<ast::BinaryExpr>(parts[1].expr.get());
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->range.begin, offsetOf(text, "memcg.usage"));
  EXPECT_EQ(sum->range.end, offsetOf(text, "1MiB") + 4);
  EXPECT_EQ(sum->opRange.begin, offsetOf(text, "+"));
  EXPECT_EQ(parts[3].expr->range.begin, offsetOf(text, "oom.victim.pid"));
  EXPECT_EQ(p->sm.file(p->file).slice(parts[3].expr->range), "oom.victim.pid");
}

TEST(AstBuilder, MalformedLogMessagesAreE0002) {
  for (const char* msg : {"\"a {memcg.path\"", "\"a } b\"", "\"a {} b\"", "\"a \\q b\""}) {
    SCOPED_TRACE(msg);
    auto p = parse(std::string("policy p\non oom log ") + msg + "\n");
    EXPECT_EQ(p->codes(), std::vector<std::string>{"E0002"});
  }
}

TEST(AstBuilder, SyntaxErrorInsideInterpolationIsReportedThere) {
  std::string text =
      "policy web\n"
      "when memcg.pressure > 60% log \"pressure {memcg.pressure >} here\"\n"
      "when memcg.pressure > 80% reclaim\n";
  auto p = parse(text);
  ASSERT_EQ(p->codes(), std::vector<std::string>{"E0001"});
  const Diagnostic& d = p->diags.all().front();
  uint32_t open = offsetOf(text, "{memcg"), close = offsetOf(text, "} here");
  EXPECT_GE(d.range.begin, open);
  EXPECT_LE(d.range.begin, close) << "reported at line " << p->sm.file(p->file).position(d.range.begin).line;
  // The message is about the interpolation, not the end of the file.
  EXPECT_EQ(d.message.find("end of the file"), std::string::npos) << d.message;
}

// ---- syntax errors ---------------------------------------------------------------------

TEST(AstBuilder, SyntaxErrorsLeaveBrokenItemsOutAndKeepTheGoodOnes) {
  auto p = parse(
      "policy p\n"
      "let a = 1\n"
      "when memcg.pressure > 60%\n"
      "let b = 2\n"
      "when memcg.pressure > reclaim\n"
      "set interval = 1s\n"
      "when memcg.pressure > 70% reclaim\n"
      "on oom kill cooldown 30s\n");
  EXPECT_EQ(p->codes(), (std::vector<std::string>{"E0001", "E0001"}));
  EXPECT_EQ(p->dump(),
            "(policy p\n"
            " (let a 1)\n"
            " (let b 2)\n"
            " (set interval 1s)\n"
            " (when (> memcg.pressure 70%) (reclaim))\n"
            " (on oom (kill largest process) (cooldown 30s)))\n");
}

TEST(AstBuilder, BrokenLetsAreRemembered) {
  auto p = parse("policy p\nlet bad = \nlet good = 1\nwhen memcg.pressure > 1% reclaim\n");
  EXPECT_FALSE(p->diags.all().empty());
  EXPECT_EQ(p->policy->brokenLets, std::vector<std::string>{"bad"});
  EXPECT_EQ(p->dump(), "(policy p\n (let good 1)\n (when (> memcg.pressure 1%) (reclaim)))\n");
}

TEST(AstBuilder, MissingPolicyHeader) {
  auto p = parse("when memcg.pressure > 1% reclaim\n");
  ASSERT_FALSE(p->diags.all().empty());
  EXPECT_EQ(p->codes().front(), "E0001");
  EXPECT_NE(p->diags.all().front().message.find("policy"), std::string::npos);
}

TEST(AstBuilder, InvalidUtf8IsRefused) {
  auto p = parse("policy p\n# \xff\xfe\nwhen memcg.pressure > 1% reclaim\n");
  EXPECT_EQ(p->policy, nullptr);
  EXPECT_EQ(p->codes(), std::vector<std::string>{"E0001"});
  EXPECT_EQ(p->diags.all().front().range.begin, 11u);
}

TEST(AstBuilder, NestingTooDeepIsRefused) {
  std::string deep(kMaxNesting + 1, '(');
  deep += "1" + std::string(kMaxNesting + 1, ')');
  auto p = parse("policy p\nlet x = " + deep + "\n");
  EXPECT_EQ(p->policy, nullptr);
  EXPECT_EQ(p->codes(), std::vector<std::string>{"E0001"});
  std::string ok(kMaxNesting, '(');
  ok += "1" + std::string(kMaxNesting, ')');
  auto q = parse("policy p\nlet x = " + ok + "\n");
  ASSERT_NE(q->policy, nullptr);
  EXPECT_TRUE(q->diags.all().empty());
}

// ---- source ranges ---------------------------------------------------------------------

TEST(AstBuilder, BinaryExprRangeAndOpRange) {
  std::string text = "policy p\nwhen memcg.usage + 1GiB > 2GiB reclaim\n";
  auto p = parse(text);
  ASSERT_TRUE(p->diags.all().empty());
  const auto& rule = p->item<ast::Rule>(0);
  const auto* cmp = llvm::dyn_cast<ast::BinaryExpr>(rule.condition.get());
  ASSERT_TRUE(cmp);
  EXPECT_EQ(cmp->range.file, p->file);
  EXPECT_EQ(cmp->range.begin, 14u);  // "memcg.usage"
  EXPECT_EQ(cmp->range.end, 39u);    // after "2GiB"
  EXPECT_EQ(cmp->opRange.begin, 33u);
  EXPECT_EQ(cmp->opRange.end, 34u);
  const auto* sum = llvm::dyn_cast<ast::BinaryExpr>(cmp->lhs.get());
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->range.begin, 14u);
  EXPECT_EQ(sum->range.end, 32u);
  EXPECT_EQ(sum->opRange.begin, 26u);
  EXPECT_EQ(sum->opRange.end, 27u);
  EXPECT_EQ(cmp->rhs->range.begin, 35u);
  EXPECT_EQ(cmp->rhs->range.end, 39u);
  EXPECT_EQ(rule.range.begin, 9u);
  EXPECT_EQ(rule.range.end, 47u);  // after "reclaim"
  ASSERT_EQ(rule.actions.size(), 1u);
  EXPECT_EQ(rule.actions[0].range.begin, 40u);
  EXPECT_EQ(rule.actions[0].range.end, 47u);
}

TEST(AstBuilder, MultiCharacterOperatorAndKeywordRanges) {
  std::string text = "policy p\nlet x = a >= b and 5% of c\n";
  auto p = parse(text);
  ASSERT_TRUE(p->diags.all().empty());
  const auto* conj = llvm::dyn_cast<ast::BinaryExpr>(p->item<ast::LetDecl>(0).value.get());
  ASSERT_TRUE(conj);
  EXPECT_EQ(conj->opRange.begin, offsetOf(text, "and"));
  EXPECT_EQ(conj->opRange.end, offsetOf(text, "and") + 3);
  const auto* ge = llvm::dyn_cast<ast::BinaryExpr>(conj->lhs.get());
  ASSERT_TRUE(ge);
  EXPECT_EQ(ge->opRange.begin, offsetOf(text, ">="));
  EXPECT_EQ(ge->opRange.end, offsetOf(text, ">=") + 2);
  const auto* of = llvm::dyn_cast<ast::BinaryExpr>(conj->rhs.get());
  ASSERT_TRUE(of);
  EXPECT_EQ(of->opRange.begin, offsetOf(text, "of"));
  EXPECT_EQ(of->range.begin, offsetOf(text, "5%"));
  EXPECT_EQ(of->range.end, static_cast<uint32_t>(text.size() - 1));
}

TEST(AstBuilder, ParenthesesAndUnaryRanges) {
  std::string text = "policy p\nlet x = (1 + 2) * 3\nlet y = not - a\n";
  auto p = parse(text);
  ASSERT_TRUE(p->diags.all().empty());
  const auto* mul = llvm::dyn_cast<ast::BinaryExpr>(p->item<ast::LetDecl>(0).value.get());
  ASSERT_TRUE(mul);
  EXPECT_EQ(mul->lhs->range.begin, offsetOf(text, "("));
  EXPECT_EQ(mul->lhs->range.end, offsetOf(text, ")") + 1);
  EXPECT_EQ(mul->range.begin, offsetOf(text, "("));
  EXPECT_EQ(mul->range.end, offsetOf(text, "3") + 1);
  const auto& y = p->item<ast::LetDecl>(1);
  EXPECT_EQ(y.range.begin, offsetOf(text, "let y"));
  EXPECT_EQ(y.nameRange.begin, offsetOf(text, "y ="));
  EXPECT_EQ(y.nameRange.end, offsetOf(text, "y =") + 1);
  const auto* notExpr = llvm::dyn_cast<ast::UnaryExpr>(y.value.get());
  ASSERT_TRUE(notExpr);
  EXPECT_EQ(notExpr->range.begin, offsetOf(text, "not"));
  EXPECT_EQ(notExpr->range.end, static_cast<uint32_t>(text.size() - 1));
  EXPECT_EQ(notExpr->operand->range.begin, offsetOf(text, "- a"));
}

TEST(AstBuilder, NonAsciiCommentKeepsByteOffsets) {
  std::string text =
      "policy p\n"
      "# Grüße — «mémoire» 内存 🙂\n"
      "when memcg.usage > 90% reclaim\n";
  auto p = parse(text);
  ASSERT_TRUE(p->diags.all().empty());
  const auto& rule = p->item<ast::Rule>(0);
  EXPECT_EQ(rule.range.begin, offsetOf(text, "when"));
  EXPECT_EQ(rule.range.end, offsetOf(text, "reclaim") + 7);
  const auto* cmp = llvm::dyn_cast<ast::BinaryExpr>(rule.condition.get());
  ASSERT_TRUE(cmp);
  EXPECT_EQ(cmp->range.begin, offsetOf(text, "memcg.usage"));
  EXPECT_EQ(cmp->range.end, offsetOf(text, "90%") + 3);
  EXPECT_EQ(cmp->opRange.begin, offsetOf(text, ">"));
  EXPECT_EQ(p->sm.file(p->file).slice(cmp->range), "memcg.usage > 90%");
  EXPECT_EQ(p->sm.file(p->file).slice(rule.actions.at(0).range), "reclaim");
}

TEST(AstBuilder, NonAsciiStringsKeepByteOffsets) {
  std::string text = "policy p\nprotect \"/ünï\", \"/b\"\nwhen memcg.usage > 1GiB log \"é\"\n";
  auto p = parse(text);
  ASSERT_TRUE(p->diags.all().empty());
  const auto& protect = p->item<ast::ProtectDecl>(0);
  EXPECT_EQ(protect.patterns[0].value, "/ünï");
  EXPECT_EQ(protect.patterns[1].range.begin, offsetOf(text, "\"/b\""));
  EXPECT_EQ(protect.patterns[1].range.end, offsetOf(text, "\"/b\"") + 4);
  const auto& rule = p->item<ast::Rule>(1);
  EXPECT_EQ(rule.condition->range.begin, offsetOf(text, "memcg.usage"));
  EXPECT_EQ(p->sm.file(p->file).slice(rule.actions.at(0).range), "log \"é\"");
}

TEST(AstBuilder, SyntaxErrorAfterNonAsciiTextPointsAtTheRightByte) {
  std::string text = "policy p\n# ünïcödé\nwhen memcg.pressure > 60% reclaim $\n";
  auto p = parse(text);
  ASSERT_EQ(p->codes(), std::vector<std::string>{"E0001"});
  EXPECT_EQ(p->diags.all().front().range.begin, offsetOf(text, "$"));
}

}  // namespace
}  // namespace mmp

// The long forms of the diagnostics: every code is explained, and every
// Wrong example gives its code while the Right one is clean.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "diagnostics/explain.h"
#include "sema_test.h"

namespace mmp {
namespace {

using testing::runFrontEnd;

std::string idOf(DiagCode code) { return std::string(diagInfo(code).id); }

TEST(Explain, EveryDiagnosticHasAnExplanation) {
  for (const auto& d : allDiagnostics()) {
    SCOPED_TRACE(std::string(d.id));
    const Explanation* e = explanation(d.code);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->code, d.code);
    EXPECT_FALSE(e->text.empty());
    // A Right example only makes sense next to a Wrong one.
    if (e->wrong.empty()) EXPECT_TRUE(e->right.empty());
    else EXPECT_FALSE(e->right.empty());
  }
}

TEST(Explain, ExplanationsAreUniqueAndKnown) {
  std::set<std::string> seen;
  for (const auto& e : allExplanations()) {
    std::string id = idOf(e.code);
    EXPECT_TRUE(seen.insert(id).second) << id << " is explained twice";
    EXPECT_EQ(parseDiagCode(id), e.code);
  }
  EXPECT_EQ(seen.size(), allDiagnostics().size());
}

TEST(Explain, DiagnosticTable) {
  EXPECT_EQ(parseDiagCode("E0200"), DiagCode::E0200);
  EXPECT_EQ(parseDiagCode("e0200"), DiagCode::E0200);
  EXPECT_EQ(parseDiagCode("E9999"), std::nullopt);
  EXPECT_EQ(parseDiagCode(""), std::nullopt);
  EXPECT_EQ(diagInfo(DiagCode::E0302).severity, Severity::Warning);
  EXPECT_EQ(diagInfo(DiagCode::E0303).severity, Severity::Warning);
  EXPECT_EQ(diagInfo(DiagCode::E0001).severity, Severity::Error);
  for (const auto& d : allDiagnostics()) {
    EXPECT_EQ(d.id.size(), 5u);
    EXPECT_EQ(d.id[0], 'E');
    EXPECT_FALSE(d.title.empty());
    EXPECT_EQ(&diagInfo(d.code), &d);
  }
}

class ExplainExamples : public ::testing::TestWithParam<Explanation> {};

TEST_P(ExplainExamples, WrongGivesTheCode) {
  const Explanation& e = GetParam();
  auto r = runFrontEnd(std::string(e.wrong), testing::stdlibDir(), "wrong.mmp");
  bool found = false;
  std::string codes;
  for (const auto& d : r->diags.all()) {
    found |= d.code == e.code;
    codes += idOf(d.code) + " ";
  }
  EXPECT_TRUE(found) << "Wrong example of " << idOf(e.code) << " gave: " << (codes.empty() ? "nothing" : codes)
                     << "\n" << e.wrong;
}

TEST_P(ExplainExamples, RightIsClean) {
  const Explanation& e = GetParam();
  auto r = runFrontEnd(std::string(e.right), testing::stdlibDir(), "right.mmp");
  ASSERT_TRUE(r->loaded) << r->listing();
  EXPECT_TRUE(r->diags.all().empty()) << "Right example of " << idOf(e.code) << ":\n"
                                      << e.right << r->listing();
  EXPECT_TRUE(r->ok);
}

std::vector<Explanation> withExamples() {
  std::vector<Explanation> out;
  for (const auto& e : allExplanations())
    if (!e.wrong.empty()) out.push_back(e);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Explain, ExplainExamples, ::testing::ValuesIn(withExamples()),
                         [](const ::testing::TestParamInfo<Explanation>& info) { return idOf(info.param.code); });

}  // namespace
}  // namespace mmp

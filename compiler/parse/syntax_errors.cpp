#include "parse/syntax_errors.h"

#include <fmt/format.h>

#include "MmpParser.h"

namespace mmp {
namespace {

using antlr4::misc::IntervalSet;

// Token types looked up by their literal spelling, so no generated
// T__N number is written here.
size_t tokenType(const antlr4::dfa::Vocabulary& v, const std::string& literal) {
  for (size_t t = 0; t <= v.getMaxTokenType(); ++t)
    if (v.getLiteralName(t) == "'" + literal + "'") return t;
  return 0;
}

struct Phrase {
  std::vector<std::string> words;  // the tokens that make the category
  bool needsAll;                   // every token (else any) must be expected
  std::string text;
};

bool expects(const IntervalSet& set, const antlr4::dfa::Vocabulary& v, const Phrase& p) {
  size_t seen = 0;
  for (const auto& w : p.words) {
    size_t t = tokenType(v, w);
    if (w == "IDENT") t = mmpgen::MmpParser::IDENT;
    if (w == "NUMBER") t = mmpgen::MmpParser::QUANTITY;
    if (w == "STRING") t = mmpgen::MmpParser::STRING;
    if (t && set.contains(t)) ++seen;
  }
  return p.needsAll ? seen == p.words.size() : seen > 0;
}

std::string joinAlternatives(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += i + 1 == parts.size() ? " or " : ", ";
    out += parts[i];
  }
  return out;
}

// What the parser wanted, in the language's words.
std::string describeExpected(const IntervalSet& set, const antlr4::dfa::Vocabulary& v,
                             size_t ruleIndex) {
  static const std::vector<Phrase> phrases = {
      {{"reclaim", "kill", "throttle"}, true, "an action such as `reclaim`, `throttle`, `kill` or `log`"},
      {{"cooldown", "unless", "at"}, true, "a modifier (`cooldown`, `unless`, `at most`)"},
      {{"protect", "import", "when"}, true, "a statement such as `when`, `on`, `in`, `let`, `set`, `protect` or `import`"},
      {{"}", "when"}, true, "a rule (`when` or `on`), a `let`, or `}` to close the scope"},
      {{"NUMBER", "IDENT"}, true, "an expression such as `memcg.pressure` or `60%`"},
  };
  std::vector<std::string> parts;
  for (const auto& p : phrases)
    if (expects(set, v, p)) parts.push_back(p.text);
  if (ruleIndex == mmpgen::MmpParser::RuleEvent)
    return "an event: `oom`, `reclaim`, `pressure` or `cgroup_created`";
  if (!parts.empty()) {
    if (set.contains(tokenType(v, ","))) parts.push_back("`,` and another action");
    return joinAlternatives(parts);
  }
  for (ssize_t t : set.toList()) {
    if (t == mmpgen::MmpParser::STRING) parts.push_back("a string in double quotes");
    else if (t == mmpgen::MmpParser::IDENT) parts.push_back("a name");
    else if (t == mmpgen::MmpParser::QUANTITY) parts.push_back("a number");
    else if (t == static_cast<ssize_t>(antlr4::Token::EOF)) parts.push_back("the end of the file");
    else if (!v.getLiteralName(t).empty()) {
      std::string lit = v.getLiteralName(t);
      parts.push_back("`" + lit.substr(1, lit.size() - 2) + "`");
    }
    if (parts.size() > 6) break;
  }
  return parts.empty() ? "something else" : joinAlternatives(parts);
}

std::string describeFound(antlr4::Token* t) {
  if (t->getType() == antlr4::Token::EOF) return "the end of the file";
  if (t->getType() == mmpgen::MmpParser::STRING) return "a string";
  std::string text = t->getText();
  if (text.size() > 40) text = text.substr(0, 40) + "…";
  return "`" + text + "`";
}

bool isComparisonToken(antlr4::Token* t) {
  std::string s = t->getText();
  return s == "<" || s == "<=" || s == ">" || s == ">=" || s == "==" || s == "!=";
}

}  // namespace

SourceRange SyntaxErrorListener::rangeOf(antlr4::Token* t) const {
  if (t->getType() == antlr4::Token::EOF || t->getStartIndex() == INVALID_INDEX) {
    uint32_t at = fileSize_ ? fileSize_ - 1 : 0;
    return {file_, at, at + 1};
  }
  uint32_t b = map_.byteOffset(t->getStartIndex());
  uint32_t e = map_.byteOffset(t->getStopIndex() + 1);
  return {file_, b, std::max(e, b + 1)};
}

void SyntaxErrorListener::syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending,
                                      size_t, size_t, const std::string&, std::exception_ptr ep) {
  auto* parser = dynamic_cast<mmpgen::MmpParser*>(recognizer);
  if (!parser || !offending) return;
  SourceRange at = rangeOf(offending);
  // Something missing at the end of a line is shown there, not at the
  // start of the next statement.
  antlr4::Token* before = parser->getTokenStream()->LT(-1);
  if (before && before != offending && before->getLine() < offending->getLine() &&
      offending->getType() != mmpgen::MmpParser::STRAY && offending->getType() != mmpgen::MmpParser::UNTERMINATED) {
    uint32_t end = rangeOf(before).end;
    at = {file_, end, end + 1};
  }
  for (uint32_t o : offsets_)
    if (o == at.begin) return;  // one error per place: recovery can report twice
  offsets_.push_back(at.begin);

  int type = static_cast<int>(offending->getType());
  if (type == mmpgen::MmpParser::STRAY) {
    diags_.report(DiagCode::E0001, at, fmt::format("unexpected character `{}`", offending->getText()))
        .help("mmp policies use letters, digits, `_`, `.`, `%`, quotes, operators, `(`, `)`, `{`, `}` and `,`");
    return;
  }
  if (type == mmpgen::MmpParser::UNTERMINATED) {
    diags_.report(DiagCode::E0001, at, "unterminated string").help("add the closing `\"` on the same line");
    return;
  }

  IntervalSet expected;
  size_t ruleIndex = parser->getContext() ? parser->getContext()->getRuleIndex() : 0;
  try {
    if (ep) std::rethrow_exception(ep);
    expected = parser->getExpectedTokens();
  } catch (const antlr4::RecognitionException& re) {
    expected = re.getExpectedTokens();
    if (re.getCtx()) ruleIndex = re.getCtx()->getRuleIndex();
  } catch (...) {
  }

  const auto& vocab = parser->getVocabulary();
  if (ruleIndex == mmpgen::MmpParser::RulePolicyHeader || ruleIndex == mmpgen::MmpParser::RuleFile) {
    if (expected.contains(tokenType(vocab, "policy"))) {
      diags_.report(DiagCode::E0001, at, fmt::format("a policy file starts with `policy NAME`, found {}",
                                                     describeFound(offending)))
          .help("add a first line such as `policy web`");
      return;
    }
  }
  if (isComparisonToken(offending) && ruleIndex == mmpgen::MmpParser::RuleComparison) {
    diags_.report(DiagCode::E0001, at, "comparisons cannot be chained")
        .help("join two comparisons with `and`: `a < b and b < c`");
    return;
  }

  std::string what = describeExpected(expected, vocab, ruleIndex);
  if (ruleIndex == mmpgen::MmpParser::RuleWhenRule && what.rfind("an action", 0) == 0)
    what = "an action such as `reclaim`, `throttle`, `kill` or `log` after the condition";
  auto& d = diags_.report(DiagCode::E0001, at, fmt::format("expected {}, found {}", what, describeFound(offending)));

  // A keyword where a name was wanted: `let limit = 80%`.
  std::string literal = vocab.getLiteralName(offending->getType());
  if (expected.contains(static_cast<size_t>(mmpgen::MmpParser::IDENT)) && literal.size() > 2 && std::isalpha(static_cast<unsigned char>(literal[1])))
    d.help(fmt::format("`{}` is a reserved keyword and cannot be used as a name; choose another", offending->getText()));

  // A unit written apart from its number: `10 MiB`.
  antlr4::Token* previous = parser->getTokenStream()->LT(-1);
  if (previous && previous->getType() == mmpgen::MmpParser::QUANTITY &&
      offending->getType() == mmpgen::MmpParser::IDENT)
    d.help(fmt::format("write a unit right after its number, with no space: `{}{}`", previous->getText(),
                       offending->getText()));
}

}  // namespace mmp

#include "parse/syntax_errors.h"

#include <fmt/format.h>

#include <set>

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
  // Inside a scope the top-level statements parse too (to be refused by
  // name later); only the scope's own items are worth suggesting there.
  bool inScope = expects(set, v, phrases[3]);
  for (size_t i = 0; i < phrases.size(); ++i)
    if (!(inScope && i == 2) && expects(set, v, phrases[i])) parts.push_back(phrases[i].text);
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

bool startsStatement(antlr4::Token* t) {
  static const std::set<std::string> starts = {"when", "on", "in", "let", "set", "protect", "prefer", "avoid", "import", "}"};
  return t && starts.count(t->getText()) && t->getType() != mmpgen::MmpParser::STRING;
}

std::string describeFound(antlr4::Token* t, const std::string& endName) {
  if (t->getType() == antlr4::Token::EOF) return endName;
  if (t->getType() == mmpgen::MmpParser::STRING) return "a string";
  std::string text = t->getText();
  if (text.size() > 40) text = text.substr(0, 40) + "…";
  return "`" + text + "`";
}

bool isComparisonToken(antlr4::Token* t) {
  std::string s = t->getText();
  return s == "<" || s == "<=" || s == ">" || s == ">=" || s == "==" || s == "!=";
}

// Whether the comparison operator `t` follows another comparison of the
// same operand chain (`a < b < c`), looking back to the nearest token that
// starts an operand chain.
bool chainsComparison(antlr4::Parser* parser) {
  static const std::set<std::string> stops = {"(", "and", "or", "not", ",", "when", "unless", "for", "cooldown",
                                              "per", "to", "reclaim", "=", "{"};
  antlr4::TokenStream* ts = parser->getTokenStream();
  for (int k = -1; k >= -64; --k) {
    antlr4::Token* t = ts->LT(k);
    if (!t) return false;
    if (isComparisonToken(t)) return true;
    if (stops.count(t->getText())) return false;
  }
  return false;
}

}  // namespace

antlr4::Token* StatementErrorStrategy::singleTokenDeletion(antlr4::Parser* recognizer) {
  if (startsStatement(recognizer->getCurrentToken())) return nullptr;
  return antlr4::DefaultErrorStrategy::singleTokenDeletion(recognizer);
}

SourceRange SyntaxErrorListener::rangeOf(antlr4::Token* t) const {
  if (t->getType() == antlr4::Token::EOF || t->getStartIndex() == INVALID_INDEX)
    return {file_, eofOffset_, eofOffset_ + 1};
  uint32_t b = map_.byteOffset(t->getStartIndex());
  uint32_t e = map_.byteOffset(t->getStopIndex() + 1);
  return {file_, b, std::max(e, b + 1)};
}

void SyntaxErrorListener::syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending,
                                      size_t, size_t, const std::string&, std::exception_ptr ep) {
  auto* parser = dynamic_cast<mmpgen::MmpParser*>(recognizer);
  if (!parser || !offending) return;
  SourceRange at = rangeOf(offending);
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
  // A statement left unfinished at the end of a line is shown there, not
  // at the start of the next line: unless the parser stood between two
  // statements, the next line's token is not the mistake.
  antlr4::Token* before = parser->getTokenStream()->LT(-1);
  bool atEnd = offending->getType() == antlr4::Token::EOF;
  if (before && before != offending && before->getType() != antlr4::Token::EOF &&
      before->getLine() < offending->getLine() && (atEnd || !expected.contains(tokenType(vocab, "when")))) {
    uint32_t end = rangeOf(before).end;
    at = {file_, end, end + 1};
    offsets_.back() = end;
  }
  if (ruleIndex == mmpgen::MmpParser::RulePolicyHeader || ruleIndex == mmpgen::MmpParser::RuleFile) {
    if (expected.contains(tokenType(vocab, "policy"))) {
      diags_.report(DiagCode::E0001, at, fmt::format("a policy file starts with `policy NAME`, found {}",
                                                     describeFound(offending, endName_)))
          .help("add a first line such as `policy web`");
      return;
    }
  }
  if (isComparisonToken(offending) && chainsComparison(parser)) {
    diags_.report(DiagCode::E0001, at, "comparisons cannot be chained")
        .help("join two comparisons with `and`: `a < b and b < c`");
    return;
  }

  std::string what = describeExpected(expected, vocab, ruleIndex);
  if (ruleIndex == mmpgen::MmpParser::RuleWhenRule && what.rfind("an action", 0) == 0)
    what = "an action such as `reclaim`, `throttle`, `kill` or `log` after the condition";
  auto& d = diags_.report(DiagCode::E0001, at, fmt::format("expected {}, found {}", what, describeFound(offending, endName_)));

  // A keyword where a name is being defined: `let limit = 80%`.
  std::string literal = vocab.getLiteralName(offending->getType());
  bool defining = ruleIndex == mmpgen::MmpParser::RuleLetDecl || ruleIndex == mmpgen::MmpParser::RuleSetDecl ||
                  ruleIndex == mmpgen::MmpParser::RulePolicyHeader;
  bool sameLine = before && before->getLine() == offending->getLine();
  if (defining && sameLine && literal.size() > 2 && std::isalpha(static_cast<unsigned char>(literal[1])))
    d.help(fmt::format("`{}` is a reserved keyword and cannot be used as a name; choose another", offending->getText()));

  // A unit written apart from its number: `10 MiB`.
  antlr4::Token* previous = parser->getTokenStream()->LT(-1);
  if (previous && previous->getType() == mmpgen::MmpParser::QUANTITY &&
      offending->getType() == mmpgen::MmpParser::IDENT)
    d.help(fmt::format("write a unit right after its number, with no space: `{}{}`", previous->getText(),
                       offending->getText()));
}

}  // namespace mmp

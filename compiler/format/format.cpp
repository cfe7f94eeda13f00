#include "format/format.h"

#include <algorithm>

namespace mmp {

namespace {

using layout::Statement;
using layout::Token;

bool spaceBetween(const Token& a, const Token& b) {
  if (b.text == ")" || b.text == "," || b.text == "." || a.text == "(" || a.text == ".") return false;
  if (b.text == "(" && a.operand) return false;  // a call: rate(...)
  if (a.unaryMinus) return false;
  return true;
}

// Tokens [from, to) on one line.
std::string join(const std::vector<Token>& tokens, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to; ++i) {
    if (i > from && spaceBetween(tokens[i - 1], tokens[i])) out += ' ';
    out += tokens[i].text;
  }
  return out;
}

void emitStatement(const Statement& s, std::string& out) {
  std::string indent(2 * s.depth, ' ');
  // Comments before the closing `}` sit inside the block.
  std::string commentIndent = s.kind == Statement::Kind::CloseScope ? indent + "  " : indent;
  for (const auto& c : s.leading) out += c.empty() ? "\n" : commentIndent + c + "\n";

  // Line ends: after each inner comment, and before each clause when the
  // rule does not fit on one line.
  std::vector<size_t> cuts;  // a line ends before token i
  for (const auto& [after, text] : s.inner) cuts.push_back(after + 1);
  if (indent.size() + join(s.tokens, 0, s.tokens.size()).size() > kFormatWidth)
    cuts.insert(cuts.end(), s.breaks.begin(), s.breaks.end());
  cuts.push_back(s.tokens.size());
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

  size_t from = 0;
  for (size_t cut : cuts) {
    if (cut <= from) continue;
    out += (from == 0 ? indent : indent + "    ") + join(s.tokens, from, cut);
    for (const auto& [after, text] : s.inner)
      if (after + 1 == cut) out += "  " + text;
    if (cut == s.tokens.size() && !s.trailing.empty()) out += "  " + s.trailing;
    out += "\n";
    from = cut;
  }
}

}  // namespace

std::string formatLayout(const layout::Layout& l) {
  std::string out;
  for (size_t i = 0; i < l.statements.size(); ++i) {
    const Statement& s = l.statements[i];
    if (s.blankBefore && i > 0) out += "\n";
    emitStatement(s, out);
  }
  if (l.blankBeforeEnd && !l.endComments.empty()) out += "\n";
  for (const auto& c : l.endComments) out += c.empty() ? "\n" : c + "\n";
  return out;
}

}  // namespace mmp

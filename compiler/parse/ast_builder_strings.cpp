// String literals: escapes, and `{expr}` interpolation in log messages.
#include <fmt/format.h>

#include "parse/ast_builder.h"

namespace mmp {

using namespace ast;

namespace {

// Decodes one escape at raw[i] == '\\'; returns the character or 0 if unknown.
char decodeEscape(char c) {
  switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case 'n': return '\n';
    case 't': return '\t';
    default: return 0;
  }
}

}  // namespace

// Decodes escapes; the braces of a log message are kept for buildLogMessage.
StringLit AstBuilder::buildString(antlr4::tree::TerminalNode* node) {
  StringLit s;
  s.range = range(node);
  std::string raw = node->getText();
  uint32_t base = s.range.begin;
  for (size_t i = 1; i + 1 < raw.size(); ++i) {
    if (raw[i] != '\\') {
      s.value += raw[i];
      continue;
    }
    char c = decodeEscape(raw[i + 1]);
    // The escaped character, whole even when it takes several UTF-8 bytes.
    size_t len = 1;
    while (i + 1 + len < raw.size() && (static_cast<unsigned char>(raw[i + 1 + len]) & 0xC0) == 0x80) ++len;
    std::string escaped = raw.substr(i + 1, len);
    if (!c) {
      SourceRange at{file_, base + static_cast<uint32_t>(i), base + static_cast<uint32_t>(i + 1 + len)};
      diags_.report(DiagCode::E0002, at, fmt::format("unknown escape `\\{}` in a string", escaped))
          .help("the escapes are `\\\"`, `\\\\`, `\\n` and `\\t`");
    }
    s.value += c ? std::string(1, c) : escaped;
    i += len;
  }
  return s;
}

// Splits a log string into text and `{expr}` parts, working on the raw
// token text (quotes included) so every interpolation keeps its exact
// source position. `{{` and `}}` are literal braces.
void AstBuilder::buildLogMessage(Action& action, const std::string& text) {
  const uint32_t base = action.message.range.begin;
  auto at = [&](size_t i, size_t n) {
    return SourceRange{file_, base + static_cast<uint32_t>(i), base + static_cast<uint32_t>(i + n)};
  };
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) action.parts.push_back({std::move(literal), nullptr});
    literal.clear();
  };
  const size_t last = text.size() - 1;  // the closing quote
  for (size_t i = 1; i < last; ++i) {
    char c = text[i];
    if (c == '\\') {
      char d = decodeEscape(text[i + 1]);
      literal += d ? d : text[i + 1];
      ++i;
    } else if ((c == '{' || c == '}') && i + 1 < last && text[i + 1] == c) {
      literal += c;
      ++i;
    } else if (c == '}') {
      diags_.report(DiagCode::E0002, at(i, 1), "unmatched `}` in a log message")
          .help("write `}}` for a literal brace");
    } else if (c == '{') {
      size_t close = text.find('}', i + 1);
      if (close == std::string::npos || close >= last) {
        diags_.report(DiagCode::E0002, at(i, 1), "unclosed `{` in a log message")
            .help("close the interpolation with `}`, or write `{{` for a literal brace");
        break;
      }
      std::string_view inner(text.data() + i + 1, close - i - 1);
      if (inner.find_first_not_of(" \t") == std::string_view::npos) {
        diags_.report(DiagCode::E0002, at(i, close - i + 1), "empty `{}` in a log message")
            .help("put a field inside, such as `{memcg.path}`, or write `{{}}` for literal braces");
      } else {
        flush();
        ExprPtr e = interp_(inner, base + static_cast<uint32_t>(i + 1));
        action.parts.push_back({"", e ? std::move(e) : std::make_unique<InvalidExpr>(at(i, close - i + 1))});
      }
      i = close;
    } else {
      literal += c;
    }
  }
  flush();
}

}  // namespace mmp

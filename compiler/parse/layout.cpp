#include "parse/layout.h"

#include <antlr4-runtime.h>

#include <map>

#include "MmpLexer.h"
#include "MmpParser.h"
#include "parse/parse.h"

namespace mmp::layout {

namespace {

using mmpgen::MmpLexer;
using mmpgen::MmpParser;

// The terminal child of `ctx` spelled `text`.
antlr4::Token* terminal(antlr4::ParserRuleContext* ctx, const std::string& text) {
  for (auto* child : ctx->children)
    if (auto* t = dynamic_cast<antlr4::tree::TerminalNode*>(child); t && t->getText() == text) return t->getSymbol();
  return nullptr;
}

class Builder {
public:
  explicit Builder(antlr4::CommonTokenStream& tokens) : tokens_(tokens) {}

  Layout run(MmpParser::FileContext* tree) {
    add(tree->policyHeader(), Statement::Kind::Plain, 0);
    for (auto* item : tree->item()) {
      if (auto* scope = item->scopeBlock()) {
        add(scope, Statement::Kind::OpenScope, 0, terminal(scope, "{"));
        for (auto* inner : scope->scopeItem()) add(inner, Statement::Kind::Plain, 1);
        add(scope, Statement::Kind::CloseScope, 0);
      } else {
        add(item, Statement::Kind::Plain, 0);
      }
    }
    attachComments();
    return std::move(out_);
  }

private:
  // One statement: the significant tokens of `ctx` (an `in` block's head
  // up to `{`, or just its `}`).
  void add(antlr4::ParserRuleContext* ctx, Statement::Kind kind, int depth, antlr4::Token* until = nullptr) {
    Statement s;
    s.kind = kind;
    s.depth = depth;
    size_t from = ctx->getStart()->getTokenIndex(), to = ctx->getStop()->getTokenIndex();
    if (kind == Statement::Kind::OpenScope) to = until->getTokenIndex();
    if (kind == Statement::Kind::CloseScope) from = to;
    size_t index = out_.statements.size();
    for (size_t i = from; i <= to; ++i) {
      antlr4::Token* t = tokens_.get(i);
      if (t->getChannel() != antlr4::Token::DEFAULT_CHANNEL || t->getType() == antlr4::Token::EOF) continue;
      Token tok{t->getText(), false, false};
      size_t type = t->getType();
      bool afterDot = !s.tokens.empty() && s.tokens.back().text == ".";
      tok.operand = type == MmpLexer::QUANTITY || type == MmpLexer::IDENT || type == MmpLexer::STRING ||
                    tok.text == ")" || tok.text == "true" || tok.text == "false" || afterDot;
      tok.unaryMinus = type == MmpLexer::MINUS && (s.tokens.empty() || !s.tokens.back().operand);
      position_[i] = {index, s.tokens.size()};
      s.tokens.push_back(tok);
    }
    if (auto* item = dynamic_cast<MmpParser::ItemContext*>(ctx)) markBreaks(item->ruleDecl(), s);
    if (auto* item = dynamic_cast<MmpParser::ScopeItemContext*>(ctx)) markBreaks(item->ruleDecl(), s);
    out_.statements.push_back(std::move(s));
  }

  void markBreaks(MmpParser::RuleDeclContext* rule, Statement& s) {
    if (!rule) return;
    auto at = [&](antlr4::Token* t) {
      auto it = position_.find(t->getTokenIndex());
      if (it != position_.end() && it->second.second > 0) s.breaks.push_back(it->second.second);
    };
    MmpParser::ActionListContext* actions = nullptr;
    std::vector<MmpParser::ModifierContext*> modifiers;
    if (auto* w = rule->whenRule()) {
      actions = w->actionList();
      modifiers = w->modifier();
    } else if (auto* o = rule->onRule()) {
      actions = o->actionList();
      modifiers = o->modifier();
    }
    if (actions) {
      at(actions->getStart());
      // A kill's candidate list and key are long: they start lines too.
      for (auto* a : actions->action())
        if (auto* kill = dynamic_cast<MmpParser::KillActionContext*>(a))
          for (auto* child : kill->children)
            if (auto* word = dynamic_cast<antlr4::tree::TerminalNode*>(child);
                word && (word->getText() == "among" || word->getText() == "by"))
              at(word->getSymbol());
    }
    for (auto* m : modifiers) at(m->getStart());
  }

  // Comments and blank lines, in the order of the token stream: a comment
  // on the line of a statement's token belongs to that token; one on a
  // line of its own, to the statement after it.
  void attachComments() {
    int newlines = 0;
    std::optional<std::pair<size_t, size_t>> prev;  // statement, token of the last significant token
    size_t prevLine = 0;
    std::map<size_t, bool> started;  // statement -> something of it placed
    auto blankIn = [&](std::vector<std::string>& comments, bool first, bool& blankFlag) {
      if (newlines >= 2) {
        if (first) blankFlag = true;
        else comments.push_back("");
      }
    };
    for (size_t i = 0; i < tokens_.size(); ++i) {
      antlr4::Token* t = tokens_.get(i);
      if (t->getType() == MmpLexer::WS) {
        for (char c : t->getText()) newlines += c == '\n';
        continue;
      }
      if (t->getType() == MmpLexer::COMMENT) {
        std::string text = t->getText();
        while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.pop_back();
        if (prev && prevLine == t->getLine()) {
          Statement& s = out_.statements[prev->first];
          if (prev->second + 1 == s.tokens.size()) s.trailing = text;
          else s.inner.emplace_back(prev->second, text);
        } else if (auto next = nextStatement(i)) {
          Statement& s = out_.statements[next->first];
          if (next->second == 0) {
            blankIn(s.leading, !started[next->first], s.blankBefore);
            started[next->first] = true;
            s.leading.push_back(text);
          } else {
            s.inner.emplace_back(next->second - 1, text);
          }
        } else {
          blankIn(out_.endComments, out_.endComments.empty(), out_.blankBeforeEnd);
          out_.endComments.push_back(text);
        }
        newlines = 0;
        continue;
      }
      auto it = position_.find(i);
      if (it == position_.end()) continue;  // EOF
      if (it->second.second == 0) {
        Statement& s = out_.statements[it->second.first];
        if (!started[it->second.first]) s.blankBefore = newlines >= 2;
        else if (newlines >= 2 && !s.leading.empty()) s.leading.push_back("");
        started[it->second.first] = true;
      }
      prev = it->second;
      prevLine = t->getLine();
      newlines = 0;
    }
  }

  std::optional<std::pair<size_t, size_t>> nextStatement(size_t from) {
    for (size_t i = from + 1; i < tokens_.size(); ++i)
      if (auto it = position_.find(i); it != position_.end()) return it->second;
    return std::nullopt;
  }

  antlr4::CommonTokenStream& tokens_;
  Layout out_;
  std::map<size_t, std::pair<size_t, size_t>> position_;  // token index -> (statement, token)
};

}  // namespace

std::optional<Layout> parseLayout(const SourceManager& sm, uint32_t file, Diagnostics& diags) {
  // The front end's own parse first: its diagnostics, its limits.
  Diagnostics parsed;
  parsePolicy(sm, file, parsed);
  for (const auto& d : parsed.all()) diags.add(d);
  if (parsed.hasErrors()) return std::nullopt;

  antlr4::ANTLRInputStream input(sm.file(file).text());
  MmpLexer lexer(&input);
  antlr4::CommonTokenStream tokens(&lexer);
  MmpParser parser(&tokens);
  lexer.removeErrorListeners();
  parser.removeErrorListeners();
  tokens.fill();
  return Builder(tokens).run(parser.file());
}

}  // namespace mmp::layout

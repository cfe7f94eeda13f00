// The semantic checker's shared state. Internal to check/; each family of
// nodes has its handlers in a file of its own (check_expr.cpp, ...).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "check/check.h"

namespace mmp {

// Where an expression stands decides which fields it may read.
enum class Site {
  Condition,  // `when` / `unless` of a rule
  Amount,     // an action's amount
  LogArg,     // `{...}` in a log message: memcg.path too
  Constant,   // let, set, for, cooldown, at most: no fields at all
};

struct ExprContext {
  Site site = Site::Constant;
  const ast::Rule* rule = nullptr;  // null for let and set
  const char* constantOf = "";      // what needs the constant: "`for`"
  bool* readsMemcg = nullptr;       // set when a memcg.* field is read
};

// A scope, protect or prefer pattern; E0003 when malformed (check_scope.cpp).
std::optional<ScopePattern> parsePattern(const ast::StringLit& s, Diagnostics& diags);

class Checker {
public:
  Checker(const Bindings& bindings, Diagnostics& diags) : bindings_(bindings), diags_(diags) {}

  bool run(LoadedPolicy& loaded, CheckedPolicy& out);

  // check_expr.cpp
  Type checkExpr(ast::Expr& e, const ExprContext& ctx);

private:
  Type checkQuantity(ast::QuantityExpr& e);
  Type checkPath(ast::PathExpr& e, const ExprContext& ctx);
  Type checkField(ast::PathExpr& e, const Binding& b, const ExprContext& ctx);
  Type checkUnary(ast::UnaryExpr& e, const ExprContext& ctx);
  Type checkBinary(ast::BinaryExpr& e, const ExprContext& ctx);
  Type checkLogical(ast::BinaryExpr& e);
  Type checkComparison(ast::BinaryExpr& e);
  Type checkArithmetic(ast::BinaryExpr& e);
  Type checkCall(ast::CallExpr& e, const ExprContext& ctx);
  Type checkMinMax(ast::CallExpr& e, const ExprContext& ctx);
  void foldBinary(ast::BinaryExpr& e);
  void checkShareRange(const ast::Expr& share, const char* where);
  void reportUnknownName(const ast::PathExpr& e);

  // check_rule.cpp
  void checkRule(ast::Rule& r);
  void checkCondition(ast::Expr& e, const ExprContext& ctx, const char* what);
  void checkAction(ast::Action& a, ast::Rule& r);
  void checkModifiers(ast::Rule& r);
  void checkKillGuard(const ast::Rule& r);
  // check_kill.cpp
  void checkKill(ast::Action& a, ast::Rule& r);
  void checkKillAmong(ast::Action& a);
  void checkKillKey(ast::Action& a, ast::Rule& r);
  void checkKillSignal(ast::Action& a);
  void checkKillWhere(ast::Action& a);
  void checkKernelKills(const CheckedPolicy& out);
  std::optional<Value> constantOf(ast::Expr& e, Type want, const char* what, const char* example);

  // check_scope.cpp
  void checkProtects(const ast::Policy& p, CheckedPolicy& out);
  // check_prefer.cpp
  void checkPreferences(const ast::Policy& p, CheckedPolicy& out);
  std::optional<ast::PreferWhat> preferWhat(PreferMode mode, const std::string& word, SourceRange range);
  void addPreferences(PreferMode mode, const std::string& word, SourceRange wordRange,
                      const std::vector<ast::StringLit>& patterns, CheckedPolicy& out);
  void checkPreferenceConflicts(const CheckedPolicy& out);
  void reportProtected(const PreferEntry& e, SourceRange protectedAt);
  std::vector<ScopePattern> checkScopePatterns(const ast::Scope& s);
  std::vector<ScopePattern> checkPatterns(const std::vector<ast::StringLit>& lits, bool among);
  void checkReach(const std::vector<CheckedRule>& rules, const std::vector<ProtectEntry>& protects);
  void checkContradictions(const std::vector<CheckedRule>& rules);
  bool checkScopeCount(const std::vector<CheckedRule>& rules);

  // check_settings.cpp
  void checkSetting(ast::SetDecl& s, Settings& settings);

  // check.cpp
  void checkLet(ast::LetDecl& let);
  void checkGiven(ast::LetDecl& param);
  void checkItems(std::vector<ast::ItemPtr>& items, const ast::Scope* scope,
                  std::vector<ScopePattern> patterns, CheckedPolicy& out);
  const ast::LetDecl* findLet(const std::string& name) const;

  const Bindings& bindings_;
  Diagnostics& diags_;
  // `let` names visible here: the file's, then the scope's.
  std::vector<std::map<std::string, const ast::LetDecl*>> lets_;
  std::set<std::string> brokenLets_;
  std::map<std::string, const ast::LetDecl*> laterLets_;  // for "defined later" hints
  const Settings* settings_ = nullptr;
  std::vector<std::pair<const ast::Action*, SourceRange>> limitActions_;
  std::map<std::string, const ast::SetDecl*> settingsSeen_;  // in the current file
  // An import's `in`: the one scope of every rule of the current file.
  const ast::Scope* rescope_ = nullptr;
  std::string policyName_;  // of the current file
  std::vector<ScopePattern> rescopePatterns_;
};

}  // namespace mmp

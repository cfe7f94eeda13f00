// The project's own AST. Built from the parse tree at once (parse/), then
// annotated by sema (check/) with types, constants and resolved bindings.
#pragma once

#include <llvm/Support/Casting.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "source/source_manager.h"
#include "units/quantity.h"

namespace mmp {
struct Binding;
}

namespace mmp::ast {

struct LetDecl;

// ---- expressions ----------------------------------------------------------

enum class ExprKind { Quantity, Bool, Path, Unary, Binary, Call, Invalid };
enum class UnaryOp { Not, Neg };
enum class BinaryOp { Or, And, Lt, Le, Gt, Ge, Eq, Ne, Add, Sub, Mul, Div, Of };

const char* spelling(BinaryOp op);
const char* spelling(UnaryOp op);
bool isComparison(BinaryOp op);

struct Expr {
  ExprKind kind;
  SourceRange range;
  int depth = 1;  // height of the tree below, bounded by the parser
  // Set by sema.
  Type type = Type::Error;
  std::optional<Value> constant;

  explicit Expr(ExprKind k, SourceRange r) : kind(k), range(r) {}
  virtual ~Expr() = default;
};
using ExprPtr = std::unique_ptr<Expr>;

struct QuantityExpr : Expr {
  std::string text;  // as written: "2.5GiB"
  QuantityExpr(SourceRange r, std::string t) : Expr(ExprKind::Quantity, r), text(std::move(t)) {}
  static bool classof(const Expr* e) { return e->kind == ExprKind::Quantity; }
};

struct BoolExpr : Expr {
  bool value;
  BoolExpr(SourceRange r, bool v) : Expr(ExprKind::Bool, r), value(v) {}
  static bool classof(const Expr* e) { return e->kind == ExprKind::Bool; }
};

// A field (`memcg.pressure.full`) or a `let` name (`hot`).
struct PathExpr : Expr {
  std::string name;  // dotted
  // Set by sema: exactly one of them.
  const Binding* binding = nullptr;
  const LetDecl* let = nullptr;
  PathExpr(SourceRange r, std::string n) : Expr(ExprKind::Path, r), name(std::move(n)) {}
  static bool classof(const Expr* e) { return e->kind == ExprKind::Path; }
};

struct UnaryExpr : Expr {
  UnaryOp op;
  ExprPtr operand;
  UnaryExpr(SourceRange r, UnaryOp o, ExprPtr e) : Expr(ExprKind::Unary, r), op(o), operand(std::move(e)) {}
  static bool classof(const Expr* e) { return e->kind == ExprKind::Unary; }
};

struct BinaryExpr : Expr {
  BinaryOp op;
  SourceRange opRange;
  ExprPtr lhs, rhs;
  // Set by sema: `memcg.usage > 90%` compares with 90% of this whole.
  const Binding* impliedWhole = nullptr;
  bool wholeOnLeft = false;  // the percent is on the left: `90% < memcg.usage`
  BinaryExpr(SourceRange r, BinaryOp o, SourceRange opr, ExprPtr l, ExprPtr rr)
      : Expr(ExprKind::Binary, r), op(o), opRange(opr), lhs(std::move(l)), rhs(std::move(rr)) {}
  static bool classof(const Expr* e) { return e->kind == ExprKind::Binary; }
};

struct CallExpr : Expr {
  std::string callee;
  SourceRange calleeRange;
  std::vector<ExprPtr> args;
  CallExpr(SourceRange r, std::string c, SourceRange cr)
      : Expr(ExprKind::Call, r), callee(std::move(c)), calleeRange(cr) {}
  static bool classof(const Expr* e) { return e->kind == ExprKind::Call; }
};

// Stands where the parser could not build an expression; sema skips it.
struct InvalidExpr : Expr {
  explicit InvalidExpr(SourceRange r) : Expr(ExprKind::Invalid, r) {}
  static bool classof(const Expr* e) { return e->kind == ExprKind::Invalid; }
};

// ---- statements -------------------------------------------------------------

struct StringLit {
  SourceRange range;
  std::string value;  // escapes decoded
};

// A piece of a `log` message: literal text, or an `{expr}` interpolation.
struct LogPart {
  std::string text;
  ExprPtr expr;
};

enum class ActionKind {
#define MMP_ACTION_ROW(kind, code, spelling, cooldown, v2file) kind,
#include "abi/mmp_actions.def"
#undef MMP_ACTION_ROW
};
enum class ReclaimWhich { Any, Anon, File };
enum class ReclaimOrder { None, First, Only };
enum class KillPick { Largest, Oldest, Youngest, Growing };
enum class KillTarget { Process, Cgroup };
// `kill ... by KEY`: what the victim is chosen by (docs/language.md §7).
enum class KillKey { Default, Rss, Usage, OomScore, Swap, Reclaim, Pressure, SizeOrGrowth, OverRequest };

const char* spelling(ActionKind k);

struct Action {
  ActionKind kind;
  SourceRange range;
  ExprPtr amount;  // reclaim (optional), throttle, limit; kill: `by KEY > amount`
  ReclaimWhich which = ReclaimWhich::Any;
  ReclaimOrder order = ReclaimOrder::None;
  KillPick pick = KillPick::Largest;
  KillTarget target = KillTarget::Process;
  bool pickWritten = false, targetWritten = false;
  std::vector<StringLit> among;  // kill cgroup among PATTERNS: the candidates
  std::vector<std::string> amongPatterns;  // set by the checker: the patterns, normalised
  std::string key, signal;     // kill: `by KEY`, `with SIGNAL` as written ("" when not)
  SourceRange keyRange, signalRange;
  KillKey killKey = KillKey::Default;  // set by the checker from `key`
  int signalNumber = 0;                // set by the checker; 0: SIGKILL
  // kill ... `in kernel`: signalled from the hook itself where the kernel
  // allows it (docs/language.md §7); `where` as written.
  std::string where;
  SourceRange whereRange;
  bool inKernel = false;  // set by the checker from `where`
  StringLit message;            // log: the raw string
  std::vector<LogPart> parts;   // log: decoded message
};

enum class ModifierKind { Cooldown, AtMost, Unless };

struct Modifier {
  ModifierKind kind;
  SourceRange range;
  ExprPtr value;  // cooldown: duration; at most: the period; unless: condition
  ExprPtr times;  // at most: N
};

enum class ItemKind { Import, Let, Set, Protect, Prefer, Scope, Rule };

struct Item {
  ItemKind kind;
  SourceRange range;
  Item(ItemKind k, SourceRange r) : kind(k), range(r) {}
  virtual ~Item() = default;
};
using ItemPtr = std::unique_ptr<Item>;

struct Scope;

// `with NAME = VALUE` of an import: a value for one of the imported
// policy's parameters.
struct ImportArg {
  std::string name;
  SourceRange nameRange;
  ExprPtr value;
};

struct ImportDecl : Item {
  StringLit path;
  std::vector<StringLit> scopes;  // `in "..."`: the imported rules' scopes instead of their own
  std::vector<ImportArg> args;
  // Set by the loader when `scopes` is given: the one scope every rule of
  // the imported file then belongs to.
  std::unique_ptr<Scope> rescope;
  explicit ImportDecl(SourceRange r) : Item(ItemKind::Import, r) {}
  static bool classof(const Item* i) { return i->kind == ItemKind::Import; }
};

// `let NAME = VALUE`, or `param NAME = DEFAULT "doc"`: a parameter is a
// constant its importer may set (`given`, bound by the loader).
struct LetDecl : Item {
  std::string name;
  SourceRange nameRange;
  ExprPtr value;
  bool param = false;
  StringLit doc;                 // parameters only
  Expr* given = nullptr;         // the importer's value, owned by its ImportArg
  // The value the policy uses: the importer's, else the declared one.
  const Expr& used() const { return given ? *given : *value; }
  explicit LetDecl(SourceRange r) : Item(ItemKind::Let, r) {}
  static bool classof(const Item* i) { return i->kind == ItemKind::Let; }
};

struct SetDecl : Item {
  std::string name;
  SourceRange nameRange;
  ExprPtr value;
  explicit SetDecl(SourceRange r) : Item(ItemKind::Set, r) {}
  static bool classof(const Item* i) { return i->kind == ItemKind::Set; }
};

// `protect`: cgroup patterns (never acted on), or with `whatWord` regular
// expressions over a process (never killed; earlyoom's --ignore).
struct ProtectDecl : Item {
  std::string whatWord;  // "" (cgroup patterns), `process`, `cmdline`, ...
  SourceRange whatRange;
  std::vector<StringLit> patterns;
  explicit ProtectDecl(SourceRange r) : Item(ItemKind::Protect, r) {}
  static bool classof(const Item* i) { return i->kind == ItemKind::Protect; }
};

// `prefer`/`avoid` (docs/language.md §7): which kill candidates go first,
// and which only when no other is left. A cgroup pattern, or a regular
// expression (POSIX extended, as earlyoom's --prefer/--avoid) over one of
// a process's texts: its name, command line, executable (the realpath of
// /proc/PID/exe), working directory, effective UID, or environment.
enum class PreferWhat { Cgroup, Process, Cmdline, Exe, Cwd, Uid, Environ };

struct PreferDecl : Item {
  bool avoid = false;
  PreferWhat what = PreferWhat::Cgroup;  // set by the checker from `whatWord`
  std::string whatWord;                  // `process`, `cmdline`, ..., or "" (cgroup patterns)
  SourceRange whatRange;
  std::vector<StringLit> patterns;
  explicit PreferDecl(SourceRange r) : Item(ItemKind::Prefer, r) {}
  static bool classof(const Item* i) { return i->kind == ItemKind::Prefer; }
};

enum class RuleKind { When, On };

struct Rule : Item {
  RuleKind ruleKind = RuleKind::When;
  std::string event;  // on rules
  SourceRange eventRange;
  ExprPtr condition;  // optional for on rules
  ExprPtr hold;       // `for D`
  std::vector<Action> actions;
  std::vector<Modifier> modifiers;
  // Set by sema.
  uint32_t id = 0;
  bool memcgSubject = false;  // reads memcg.* in its condition, or an on rule with a memcg
  explicit Rule(SourceRange r) : Item(ItemKind::Rule, r) {}
  static bool classof(const Item* i) { return i->kind == ItemKind::Rule; }
};

struct Scope : Item {
  std::vector<StringLit> patterns;
  std::vector<ItemPtr> items;  // LetDecl and Rule
  explicit Scope(SourceRange r) : Item(ItemKind::Scope, r) {}
  static bool classof(const Item* i) { return i->kind == ItemKind::Scope; }
};

struct Policy {
  uint32_t file = 0;
  std::string name;
  SourceRange nameRange;
  std::vector<ItemPtr> items;
  const ImportDecl* importedBy = nullptr;  // the import that brought it in (its first), if any
  // Names of `let`s whose declaration did not parse: uses stay quiet.
  std::vector<std::string> brokenLets;
};

// A compact, stable text form of the tree, for tests and `--emit=ast`.
std::string dump(const Policy& p);
std::string dump(const Expr& e);

}  // namespace mmp::ast

// Random valid policies: a typed expression generator over the fields of
// stdlib/bindings/kernel.json (read once, at the first policy), and
// statements around it. Every choice comes from one std::mt19937_64, so a
// seed reproduces its policy exactly.
//
// The generator tracks, for each expression, its type, whether it folds to
// a constant (and the constant's value, in the language's units), and
// whether it reads a memcg field, and it keeps to these rules so that the
// checker has nothing to report:
//   - arithmetic only on the type pairs of docs/language.md section 4;
//   - every percent constant lies in 0..100 (so any share is valid), but a
//     ratio may be compared with more than 100%;
//   - no constant division by zero, no constant over 2^60 or so;
//   - a condition (`when`, `on ... when`, `unless`) never folds to a
//     constant: every comparison has a non-constant side, `not` only negates
//     non-constant conditions, and a constant joins a condition only where
//     it cannot absorb it (`and true`, `or false`);
//   - a `when` rule is a memcg rule (its condition reads a memcg field) or
//     a system rule that reads system fields only, everywhere in the rule;
//   - event fields only in their own `on` rule, `memcg.path` only in a log
//     message of a rule that has a memcg;
//   - a rule with `kill` has a `for` or a `cooldown` of at least 1s (an `on`
//     rule, a cooldown);
//   - one reclaim kind (anon or file) and one of throttle/unthrottle per
//     policy, so that no two rules contradict each other (E0302);
//   - protected patterns start with a literal component that no scope
//     pattern starts with (scopes start with a wildcard or with another
//     slice), so no scope is wholly protected (E0300);
//   - `let` names are unique (scope lets of closed sibling scopes may be
//     reused, which is not a redefinition), and each is defined before use;
//   - `set allow_limit = true` whenever a `limit to` is generated.
#include "policy_generator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <random>

#include "bindings/bindings.h"

namespace mmp::test {
namespace {

enum class Ty { Bytes, Percent, Duration, Count, Rate, CountRate, Bool };

// Precedence levels, lowest first (docs/language.md section 3).
enum Level : int { kOr = 1, kAnd, kNot, kCmp, kAdd, kMul, kOf, kNeg, kAtom };

constexpr long double kKiB = 1024.0L;
constexpr long double kMiB = kKiB * 1024;
constexpr long double kGiB = kMiB * 1024;
constexpr long double kTiB = kGiB * 1024;
constexpr long double kMaxConstant = 1e17L;  // far below 2^64: no constant overflows

struct Ex {
  std::string text;
  int level = kAtom;
  Ty type = Ty::Count;
  bool constant = false;
  long double value = 0;  // when constant: bytes, %, seconds, count, bytes or counts per second, 0/1
  bool memcg = false;     // reads a memcg.* field
};

enum class Where { Memcg, System, Oom, Reclaim };

struct Field {
  std::string name;
  Ty type;
  Where where;
  bool whole;  // declares a whole (memcg.usage > 90%)
};

// The fields of the shipped bindings, so that a field added there is
// generated (and must be covered) without a change here. Strings are left
// out: memcg.path only appears in log messages, which write it themselves.
const std::vector<Field>& allFields() {
  static const std::vector<Field> fields = [] {
    auto bindings = loadBindings(std::string(MMP_SOURCE_STDLIB) + "/bindings/kernel.json");
    if (!bindings) {
      std::fprintf(stderr, "policy generator: %s\n", llvm::toString(bindings.takeError()).c_str());
      std::abort();
    }
    std::vector<Field> v;
    for (const Binding& b : bindings->fields) {
      if (b.type == Type::String) continue;
      Ty type = b.type == Type::Bytes ? Ty::Bytes : b.type == Type::Percent ? Ty::Percent
                : b.type == Type::Duration ? Ty::Duration : Ty::Count;
      Where where = b.context == FieldContext::Memcg ? Where::Memcg : Where::System;
      if (b.context == FieldContext::Event) {
        // The events whose `on` rules the generator writes.
        if (b.event != "oom" && b.event != "reclaim") {
          std::fprintf(stderr, "policy generator: no `on %s` rules for the field %s\n", b.event.c_str(),
                       b.name.c_str());
          std::abort();
        }
        where = b.event == "oom" ? Where::Oom : Where::Reclaim;
      }
      // A field with a whole compares with a share of it (memcg.usage > 90%).
      v.push_back({b.name, type, where, !b.whole.empty()});
    }
    return v;
  }();
  return fields;
}

const std::vector<std::string>& featureList() {
  static const std::vector<std::string> list = [] {
    std::vector<std::string> v = {
        "comment", "let.top", "let.scope", "let.sibling_name", "let.used", "let.bool", "let.rate",
        "let.duration", "let.count", "let.bytes", "let.percent",
        "set.interval", "set.dry_run", "set.reclaim_step", "set.reclaim_step.bytes", "set.reclaim_step.percent", "set.allow_limit",
        "set.max_actions_per_second", "set.pressure_trigger", "set.insn_budget", "set.uses_let",
        "protect", "protect.several", "scope", "scope.several_patterns", "scope.let_only", "pattern.star",
        "pattern.glob", "pattern.doublestar", "pattern.doublestar_inside", "pattern.no_leading_slash",
        "pattern.trailing_slash",
        "rule.top_level", "rule.in_scope", "rule.when.memcg", "rule.when.system", "rule.on.oom",
        "rule.on.oom.when", "rule.on.reclaim", "rule.on.reclaim.when", "rule.on.pressure", "rule.on.pressure.when",
        "rule.on.cgroup_created", "rule.on.cgroup_created.when", "rule.multiline",
        "op.and", "op.or", "op.not", "op.paren", "op.bool_literal", "op.bool_eq", "op.bool_let",
        "cmp.<", "cmp.<=", "cmp.>", "cmp.>=", "cmp.==", "cmp.!=", "cmp.bytes", "cmp.percent", "cmp.count",
        "cmp.rate", "cmp.ratio_over_100", "whole.implied", "whole.implied_left", "whole.share_not_constant",
        "arith.bytes+bytes", "arith.bytes-bytes", "arith.bytes*count", "arith.count*bytes", "arith.bytes/count",
        "arith.bytes/bytes", "arith.percent_of_bytes", "arith.of_chain", "arith.field_of_bytes",
        "arith.percent+percent", "arith.percent-percent", "arith.duration+duration", "arith.duration-duration",
        "arith.count+count", "arith.count-count", "arith.count*count", "arith.rate()", "arith.bytes/duration",
        "arith.rate+rate", "arith.rate-rate", "arith.negate_rate", "arith.negate_zero",
        "arith.rate(count)", "arith.count/duration", "arith.count_rate+count_rate", "arith.count_rate-count_rate",
        "arith.negate_count_rate", "cmp.count_rate", "let.count_rate",
        "arith.rate(duration)", "arith.min", "arith.max", "arith.percent/percent", "arith.percent_of_percent",
        "arith.percent*count", "arith.count*percent", "arith.percent/count",
        "literal.decimal", "literal.separator", "unit.B", "unit.KiB", "unit.MiB", "unit.GiB", "unit.TiB",
        "unit.%", "unit.ms", "unit.s", "unit.min", "unit.h",
        "for", "action.several", "reclaim", "reclaim.amount.bytes", "reclaim.amount.percent", "reclaim.anon",
        "reclaim.file", "reclaim.first", "reclaim.only", "throttle", "unthrottle", "limit", "kill",
        "kill.largest", "kill.oldest", "kill.youngest", "kill.growing", "kill.process", "kill.cgroup",
        "kill.among", "kill.by.rss", "kill.by.oom_score", "kill.by.swap", "kill.by.usage", "kill.by.reclaim",
        "kill.by.size_or_growth", "kill.above", "kill.with",
        "log", "log.memcg.path", "log.event_field", "log.escape", "log.braces", "log.expression", "log.utf8",
        "mod.cooldown", "mod.at_most", "mod.unless", "mod.several",
    };
    for (const auto& f : allFields()) v.push_back("field." + f.name);
    v.push_back("field.memcg.path");
    return v;
  }();
  return list;
}

struct Ctx {
  bool constant = false;  // constants only: let, set, for, cooldown, per
  bool memcg = false;     // memcg.* fields may be read
  std::string event;      // the event of an `on` rule
};

struct Let {
  std::string name;
  Ty type;
  long double value;
  bool used = false;
};

class Gen {
public:
  Gen(uint64_t seed, const GeneratorOptions& o) : rng_(seed), opts_(o) { out_.seed = seed; }

  GeneratedPolicy run();

private:
  // --- randomness ---------------------------------------------------------
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(uniform(0, static_cast<int>(v.size()) - 1))];
  }
  // An index drawn by the weights.
  size_t weighted(std::initializer_list<double> w) {
    std::discrete_distribution<size_t> d(w);
    return d(rng_);
  }
  // Features are logged as they are generated and rolled back with an
  // attempt that is thrown away, so that they name what the text has.
  void feat(const std::string& f) { featureLog_.push_back(f); }
  size_t mark() const { return featureLog_.size(); }
  void rollback(size_t m) { featureLog_.resize(m); }

  // --- expressions --------------------------------------------------------
  static std::string at(const Ex& e, int min) { return e.level < min ? "(" + e.text + ")" : e.text; }
  Ex maybeParen(Ex e) {
    if (e.level < kAtom && chance(0.04)) {
      feat("op.paren");
      e.text = "(" + e.text + ")";
      e.level = kAtom;
    } else if (e.level == kAtom && chance(0.01)) {
      feat("op.paren");
      e.text = "(" + e.text + ")";
    }
    return e;
  }
  Ex literal(Ty t);
  Ex fieldLeaf(const Field& f);
  std::vector<const Field*> fieldsOf(const Ctx& c, Ty t, bool wholeOnly = false) const;
  std::optional<Ex> letLeaf(Ty t, const std::function<bool(const Let&)>& ok = nullptr);
  Ex leaf(Ty t, const Ctx& c);
  std::optional<Ex> attempt(Ty t, const Ctx& c, int d);
  Ex gen(Ty t, const Ctx& c, int d);
  std::optional<Ex> nonConstant(Ty t, const Ctx& c, int d);
  // A constant of type t whose value `ok` accepts.
  Ex constantWhere(Ty t, int d, const std::function<bool(long double)>& ok, const char* fallback,
                   long double fallbackValue);
  Ex binary(const Ex& l, const std::string& op, const Ex& r, int level, Ty t, bool rightAssoc = false);
  std::optional<Ex> comparison(const Ctx& c, int d);
  Ex condition(const Ctx& c, int d);
  std::optional<Ex> boolExpr(const Ctx& c, int d);
  Ex memcgComparison(const Ctx& c);
  const char* cmpOp(bool equality);

  // --- statements ---------------------------------------------------------
  std::string pattern(bool protect);
  std::string patternList(bool protect);
  std::string letDecl(bool inScope);
  std::string settingDecl(const std::string& name);
  std::string logMessage(const Ctx& c);
  std::string action(const std::string& kind, const Ctx& c);
  std::string rule(bool inScope);
  std::string scopeBlock(int rules);
  void maybeComment(std::string& text, const char* indent);

  std::mt19937_64 rng_;
  GeneratorOptions opts_;
  GeneratedPolicy out_;
  std::vector<std::vector<Let>> lets_{1};   // visible lets: top level, then the open scope
  std::set<std::string> closedScopeLets_;   // names of lets of closed scopes: free to reuse in a scope
  int letCounter_ = 0;
  bool allowLimit_ = false;
  std::string reclaimKind_;                 // "anon" or "file"
  bool throttles_ = true;                   // throttle (true) or unthrottle (false) in this policy
  int rulesTotal_ = 0;
  std::vector<std::string> featureLog_;
};

// --- literals ---------------------------------------------------------------

Ex Gen::literal(Ty t) {
  Ex e;
  e.type = t;
  e.constant = true;
  auto unit = [&](const std::string& u) { feat("unit." + u); };
  switch (t) {
    case Ty::Bytes: {
      static const std::vector<std::pair<std::string, long double>> units = {
          {"B", 1}, {"KiB", kKiB}, {"MiB", kMiB}, {"GiB", kGiB}, {"TiB", kTiB}};
      size_t u = weighted({1, 2, 4, 3, 0.5});
      long double n = u == 4 ? uniform(1, 4) : u == 0 ? uniform(1, 100'000) : uniform(1, 4096);
      std::string text = std::to_string(static_cast<long long>(n));
      if (u >= 2 && u <= 3 && chance(0.15)) {
        text += ".5";  // exact: half a MiB or GiB is whole bytes
        n += 0.5L;
        feat("literal.decimal");
      } else if (n >= 1000 && chance(0.3)) {
        text.insert(text.size() - 3, "_");
        feat("literal.separator");
      }
      e.text = text + units[u].first;
      e.value = n * units[u].second;
      unit(units[u].first);
      break;
    }
    case Ty::Percent: {
      int n = uniform(0, 100);
      e.value = n;
      e.text = std::to_string(n);
      if (n < 100 && chance(0.2)) {
        static const std::vector<std::pair<std::string, long double>> fracs = {
            {".5", 0.5L}, {".25", 0.25L}, {".001", 0.001L}, {".75", 0.75L}, {".125", 0.125L}};
        const auto& f = pick(fracs);
        e.text += f.first;
        e.value += f.second;
        feat("literal.decimal");
      }
      e.text += "%";
      unit("%");
      break;
    }
    case Ty::Duration: {
      size_t u = weighted({2, 5, 2, 0.5});
      static const char* names[] = {"ms", "s", "min", "h"};
      static const long double secs[] = {0.001L, 1, 60, 3600};
      long double n = u == 0 ? uniform(1, 2000) : u == 1 ? uniform(1, 300) : u == 2 ? uniform(1, 30) : uniform(1, 2);
      std::string text = std::to_string(static_cast<long long>(n));
      if (u == 1 && chance(0.15)) {
        text += ".5";
        n += 0.5L;
        feat("literal.decimal");
      } else if (n >= 1000 && chance(0.5)) {
        text.insert(text.size() - 3, "_");
        feat("literal.separator");
      }
      e.text = text + names[u];
      e.value = n * secs[u];
      unit(names[u]);
      break;
    }
    case Ty::Count: {
      int n = chance(0.7) ? uniform(0, 20) : uniform(0, 5000);
      e.value = n;
      e.text = std::to_string(n);
      if (n >= 1000 && chance(0.4)) {
        e.text.insert(e.text.size() - 3, "_");
        feat("literal.separator");
      }
      break;
    }
    case Ty::Bool: {
      bool b = chance(0.5);
      e.value = b;
      e.text = b ? "true" : "false";
      break;
    }
    case Ty::Rate:
    case Ty::CountRate: {
      // No rate literal: bytes (a count) / duration, a constant; a count
      // rate is exact to the thousandth.
      bool bytes = t == Ty::Rate;
      long double scale = bytes ? 1 : 1000;
      Ex n = literal(bytes ? Ty::Bytes : Ty::Count);
      Ex d = literal(Ty::Duration);
      feat(bytes ? "arith.bytes/duration" : "arith.count/duration");
      e.text = n.text + " / " + d.text;
      e.level = kMul;
      e.value = std::floor(n.value * scale / d.value) / scale;
      break;
    }
  }
  return e;
}

std::vector<const Field*> Gen::fieldsOf(const Ctx& c, Ty t, bool wholeOnly) const {
  std::vector<const Field*> out;
  if (c.constant) return out;
  for (const auto& f : allFields()) {
    if (f.type != t || (wholeOnly && !f.whole) || excluded(opts_, f.name)) continue;
    bool ok = (f.where == Where::Memcg && c.memcg) || f.where == Where::System ||
              (f.where == Where::Oom && c.event == "oom") || (f.where == Where::Reclaim && c.event == "reclaim");
    if (ok) out.push_back(&f);
  }
  return out;
}

Ex Gen::fieldLeaf(const Field& f) {
  feat("field." + f.name);
  Ex e;
  e.text = f.name;
  e.type = f.type;
  e.memcg = f.where == Where::Memcg;
  return e;
}

std::optional<Ex> Gen::letLeaf(Ty t, const std::function<bool(const Let&)>& ok) {
  std::vector<Let*> candidates, unused;
  for (auto& frame : lets_)
    for (auto& l : frame)
      if (l.type == t && (!ok || ok(l))) {
        candidates.push_back(&l);
        if (!l.used) unused.push_back(&l);
      }
  if (candidates.empty()) return std::nullopt;
  Let* l = !unused.empty() && chance(0.7) ? pick(unused) : pick(candidates);
  l->used = true;
  feat("let.used");
  Ex e;
  e.text = l->name;
  e.type = t;
  e.constant = true;
  e.value = l->value;
  return e;
}

Ex Gen::leaf(Ty t, const Ctx& c) {
  // rate(F): of a bytes field (a rate), or of a duration field, a PSI
  // total (the share of time it grew by: a percent); per-memcg or system.
  auto rateOf = [&](Ty field, Ty result, const char* feature) -> std::optional<Ex> {
    std::vector<const Field*> fs;
    for (const Field* f : fieldsOf(c, field))
      if (f->where == Where::Memcg || f->where == Where::System) fs.push_back(f);
    if (fs.empty()) return std::nullopt;
    Ex f = fieldLeaf(*pick(fs));
    feat(feature);
    Ex e;
    e.text = "rate(" + f.text + ")";
    e.type = result;
    e.memcg = f.memcg;
    return e;
  };
  if (t == Ty::Rate && !c.constant && !excluded(opts_, "rate()") && chance(0.6))
    if (auto e = rateOf(Ty::Bytes, Ty::Rate, "arith.rate()")) return *e;
  if (t == Ty::Percent && !c.constant && !excluded(opts_, "rate()") && chance(0.15))
    if (auto e = rateOf(Ty::Duration, Ty::Percent, "arith.rate(duration)")) return *e;
  if (t == Ty::CountRate && !c.constant && !excluded(opts_, "rate()") && chance(0.6))
    if (auto e = rateOf(Ty::Count, Ty::CountRate, "arith.rate(count)")) return *e;
  if (t != Ty::Rate && t != Ty::CountRate && t != Ty::Duration && t != Ty::Bool) {
    auto fs = fieldsOf(c, t);
    if (!fs.empty() && chance(c.memcg || !c.event.empty() ? 0.6 : 0.5)) return fieldLeaf(*pick(fs));
  }
  if (chance(0.35))
    if (auto l = letLeaf(t)) return *l;
  if (t != Ty::Bool && t != Ty::Rate && t != Ty::CountRate && chance(0.02)) {
    // `-` applies to a literal 0 of any quantity.
    feat("arith.negate_zero");
    static const std::map<Ty, const char*> zeros = {
        {Ty::Bytes, "-0B"}, {Ty::Percent, "-0%"}, {Ty::Duration, "-0s"}, {Ty::Count, "-0"}};
    Ex e;
    e.text = zeros.at(t);
    e.type = t;
    e.constant = true;
    e.level = kNeg;
    return e;
  }
  return literal(t);
}

Ex Gen::binary(const Ex& l, const std::string& op, const Ex& r, int level, Ty t, bool rightAssoc) {
  Ex e;
  e.text = at(l, rightAssoc ? level + 1 : level) + " " + op + " " + at(r, rightAssoc ? level : level + 1);
  e.level = level;
  e.type = t;
  e.constant = l.constant && r.constant;
  e.memcg = l.memcg || r.memcg;
  return e;
}

std::optional<Ex> Gen::attempt(Ty t, const Ctx& c, int d) {
  if (d <= 0) return leaf(t, c);
  auto sub = [&](Ty u) { return gen(u, c, d - 1); };
  if (t != Ty::Bool && chance(0.08)) {
    // min(a, b) / max(a, b): two operands of the type, the value of one.
    Ex a = sub(t);
    Ex b = sub(t);
    bool isMin = chance(0.5);
    feat(isMin ? "arith.min" : "arith.max");
    Ex e;
    e.text = std::string(isMin ? "min(" : "max(") + a.text + ", " + b.text + ")";
    e.type = t;
    e.constant = a.constant && b.constant;
    e.memcg = a.memcg || b.memcg;
    e.value = isMin ? std::min(a.value, b.value) : std::max(a.value, b.value);
    return e;
  }
  switch (t) {
    case Ty::Bytes: {
      size_t k = weighted({3, 1, 1, 0.6, 0.4, 0.6, 1.2});
      if (k == 0) return leaf(t, c);
      Ex l = sub(Ty::Bytes);
      if (k == 1 || k == 2) {
        Ex r = sub(Ty::Bytes);
        Ex e = binary(l, k == 1 ? "+" : "-", r, kAdd, t);
        feat(k == 1 ? "arith.bytes+bytes" : "arith.bytes-bytes");
        e.value = k == 1 ? l.value + r.value : std::max<long double>(0, l.value - r.value);
        if (e.constant && e.value > kMaxConstant) return std::nullopt;
        return e;
      }
      if (k == 3 || k == 4 || k == 5) {
        Ex n = sub(Ty::Count);
        if (k == 5 && n.constant && n.value == 0) return std::nullopt;  // division by zero
        if (k != 5 && !l.constant && !n.constant && excluded(opts_, "field*field")) return std::nullopt;
        Ex e = k == 3 ? binary(l, "*", n, kMul, t) : k == 4 ? binary(n, "*", l, kMul, t) : binary(l, "/", n, kMul, t);
        feat(k == 3 ? "arith.bytes*count" : k == 4 ? "arith.count*bytes" : "arith.bytes/count");
        e.value = k == 5 ? std::floor(l.value / (n.value == 0 ? 1 : n.value)) : l.value * n.value;
        if (e.constant && e.value > kMaxConstant) return std::nullopt;
        return e;
      }
      // PERCENT of BYTES: a share on the left (a constant is in 0..100).
      Ex p = !c.constant && chance(0.12) ? gen(Ty::Percent, c, 0) : leaf(Ty::Percent, Ctx{true, false, ""});
      if (!p.constant) feat("arith.field_of_bytes");
      if (l.level == kOf) feat("arith.of_chain");
      Ex e = binary(p, "of", l, kOf, t, /*rightAssoc=*/true);
      feat("arith.percent_of_bytes");
      e.value = std::floor(p.value / 100 * l.value);
      return e;
    }
    case Ty::Percent: {
      size_t k = weighted({3, 1, 1, 1.5, 0.4, 0.4, 0.3, 0.3, 0.3});
      if (k == 0) return leaf(t, c);
      if (k == 4 || k == 5) {
        // percent / percent (a ratio) and percent of percent.
        Ex a = k == 5 && !c.constant && chance(0.5) ? leaf(Ty::Percent, Ctx{true, false, ""}) : sub(Ty::Percent);
        Ex b = sub(Ty::Percent);
        if (k == 4 && b.constant && b.value == 0) return std::nullopt;  // division by zero
        Ex e = k == 4 ? binary(a, "/", b, kMul, t) : binary(a, "of", b, kOf, t, /*rightAssoc=*/true);
        feat(k == 4 ? "arith.percent/percent" : "arith.percent_of_percent");
        e.value = k == 4 ? (b.value == 0 ? 0 : std::floor(a.value * 100000 / b.value) / 1000)
                         : std::floor(a.value * b.value * 10) / 1000;
        if (e.constant && e.value > 100) return std::nullopt;
        return e;
      }
      if (k >= 6) {
        // percent * count, count * percent, percent / count.
        Ex p = sub(Ty::Percent);
        Ex n = sub(Ty::Count);
        if (k == 8 && n.constant && n.value == 0) return std::nullopt;
        Ex e = k == 6 ? binary(p, "*", n, kMul, t) : k == 7 ? binary(n, "*", p, kMul, t) : binary(p, "/", n, kMul, t);
        feat(k == 6 ? "arith.percent*count" : k == 7 ? "arith.count*percent" : "arith.percent/count");
        e.value = k == 8 ? std::floor(p.value * 1000 / (n.value == 0 ? 1 : n.value)) / 1000 : p.value * n.value;
        if (e.constant && e.value > 100) return std::nullopt;
        return e;
      }
      if (k == 3) {
        Ex a = sub(Ty::Bytes);
        Ex b = sub(Ty::Bytes);
        if (b.constant && b.value == 0) return std::nullopt;
        Ex e = binary(a, "/", b, kMul, t);
        feat("arith.bytes/bytes");
        e.value = b.value == 0 ? 0 : std::floor(a.value * 100000 / b.value) / 1000;
        if (e.constant && e.value > 100) return std::nullopt;  // keep every percent constant a share
        return e;
      }
      Ex a = sub(Ty::Percent);
      Ex b = sub(Ty::Percent);
      Ex e = binary(a, k == 1 ? "+" : "-", b, kAdd, t);
      feat(k == 1 ? "arith.percent+percent" : "arith.percent-percent");
      e.value = k == 1 ? a.value + b.value : std::max<long double>(0, a.value - b.value);
      if (e.constant && e.value > 100) return std::nullopt;
      return e;
    }
    case Ty::Duration: {
      size_t k = weighted({4, 1, 0.5});
      if (k == 0) return leaf(t, c);
      Ex a = sub(Ty::Duration);
      Ex b = sub(Ty::Duration);
      Ex e = binary(a, k == 1 ? "+" : "-", b, kAdd, t);
      feat(k == 1 ? "arith.duration+duration" : "arith.duration-duration");
      e.value = k == 1 ? a.value + b.value : std::max<long double>(0, a.value - b.value);
      return e;
    }
    case Ty::Count: {
      size_t k = weighted({4, 1, 0.5, 0.7});
      if (k == 0) return leaf(t, c);
      Ex a = sub(Ty::Count);
      Ex b = sub(Ty::Count);
      if (k == 3 && !a.constant && !b.constant && excluded(opts_, "field*field")) return std::nullopt;
      const char* op = k == 1 ? "+" : k == 2 ? "-" : "*";
      Ex e = binary(a, op, b, k == 3 ? kMul : kAdd, t);
      feat(k == 1 ? "arith.count+count" : k == 2 ? "arith.count-count" : "arith.count*count");
      e.value = k == 1 ? a.value + b.value : k == 2 ? std::max<long double>(0, a.value - b.value) : a.value * b.value;
      if (e.constant && e.value > kMaxConstant) return std::nullopt;
      return e;
    }
    case Ty::Rate:
    case Ty::CountRate: {
      // Bytes or a count per second: a quotient by a duration, a negation,
      // a sum or a difference (the rates alone have a sign).
      bool bytes = t == Ty::Rate;
      const std::string name = bytes ? "rate" : "count_rate";
      long double scale = bytes ? 1 : 1000;  // a count rate is exact to the thousandth
      size_t k = weighted({3, 2, 1, 0.6, 0.6});
      if (k == 0) return leaf(t, c);
      if (k == 1) {
        Ex n = sub(bytes ? Ty::Bytes : Ty::Count);
        Ex dur = gen(Ty::Duration, Ctx{true, false, ""}, d - 1);
        if (dur.value < 0.001L) return std::nullopt;  // division by zero (or below 1 ms)
        Ex e = binary(n, "/", dur, kMul, t);
        feat(bytes ? "arith.bytes/duration" : "arith.count/duration");
        e.value = std::floor(n.value * scale / dur.value) / scale;
        if (e.constant && e.value * scale > kMaxConstant) return std::nullopt;
        return e;
      }
      if (k == 2) {
        Ex a = sub(t);
        feat("arith.negate_" + name);
        Ex e;
        e.text = "-" + at(a, kNeg);
        e.level = kNeg;
        e.type = t;
        e.constant = a.constant;
        e.value = -a.value;
        e.memcg = a.memcg;
        return e;
      }
      Ex a = sub(t);
      Ex b = sub(t);
      Ex e = binary(a, k == 3 ? "+" : "-", b, kAdd, t);
      feat("arith." + name + (k == 3 ? "+" : "-") + name);
      e.value = k == 3 ? a.value + b.value : a.value - b.value;
      if (e.constant && std::fabs(e.value) * scale > kMaxConstant) return std::nullopt;
      return e;
    }
    case Ty::Bool: {
      if (c.constant) {
        if (auto l = letLeaf(Ty::Bool); l && chance(0.3)) return *l;
        Ex e = literal(Ty::Bool);
        if (chance(0.2)) {
          feat("op.not");
          e.text = "not " + e.text;
          e.level = kNot;
          e.value = !static_cast<bool>(e.value);
        }
        return e;
      }
      return boolExpr(c, d);
    }
  }
  return std::nullopt;
}

Ex Gen::gen(Ty t, const Ctx& c, int d) {
  for (int tries = 0; tries < 40; ++tries) {
    size_t m = mark();
    if (auto e = attempt(t, c, d)) return maybeParen(*e);
    rollback(m);
  }
  // Give up on depth: a leaf always fits (a percent literal is a share; a
  // zero where it cannot be is caught by the caller's own retry).
  return leaf(t, c);
}

std::optional<Ex> Gen::nonConstant(Ty t, const Ctx& c, int d) {
  for (int tries = 0; tries < 30; ++tries) {
    size_t m = mark();
    Ex e = gen(t, c, d);
    if (!e.constant) return e;
    rollback(m);
  }
  if (t == Ty::Rate || t == Ty::CountRate) {
    Ctx withField = c;
    Ex e = leaf(t, withField);
    if (!e.constant) return e;
  }
  auto fs = fieldsOf(c, t);
  if (fs.empty()) return std::nullopt;
  return fieldLeaf(*pick(fs));
}

Ex Gen::constantWhere(Ty t, int d, const std::function<bool(long double)>& ok, const char* fallback,
                      long double fallbackValue) {
  Ctx k{true, false, ""};
  for (int tries = 0; tries < 60; ++tries) {
    size_t m = mark();
    Ex e = gen(t, k, d);
    if (ok(e.value)) return e;
    rollback(m);
  }
  Ex e;
  e.text = fallback;
  e.type = t;
  e.constant = true;
  e.value = fallbackValue;
  return e;
}

const char* Gen::cmpOp(bool equality) {
  static const char* order[] = {"<", "<=", ">", ">="};
  static const char* all[] = {"<", "<=", ">", ">=", "==", "!="};
  const char* op = equality ? all[uniform(0, 5)] : order[uniform(0, 3)];
  feat(std::string("cmp.") + op);
  return op;
}

// One comparison with a non-constant side.
std::optional<Ex> Gen::comparison(const Ctx& c, int d) {
  size_t k = weighted({3, 2, 3, 0.8, 2, 1.5, 1});
  auto cmp = [&](const Ex& a, const Ex& b, bool equality) {
    Ex e;
    bool swap = chance(0.5);
    const Ex& l = swap ? b : a;
    const Ex& r = swap ? a : b;
    e.text = at(l, kAdd) + " " + cmpOp(equality) + " " + at(r, kAdd);
    e.level = kCmp;
    e.type = Ty::Bool;
    e.memcg = a.memcg || b.memcg;
    return e;
  };
  switch (k) {
    case 0: {  // bytes
      auto a = nonConstant(Ty::Bytes, c, d);
      if (!a) return std::nullopt;
      feat("cmp.bytes");
      return cmp(*a, gen(Ty::Bytes, c, d), false);
    }
    case 1: {  // a field with a whole against a share of it
      auto fs = fieldsOf(c, Ty::Bytes, /*wholeOnly=*/true);
      if (fs.empty()) return std::nullopt;
      Ex f = fieldLeaf(*pick(fs));
      Ex share = chance(0.9) ? gen(Ty::Percent, Ctx{true, false, ""}, uniform(0, 1)) : gen(Ty::Percent, c, 1);
      if (!share.constant) feat("whole.share_not_constant");
      Ex e;
      bool left = chance(0.3);
      e.text = left ? at(share, kAdd) + " " + cmpOp(false) + " " + f.text
                    : f.text + " " + cmpOp(false) + " " + at(share, kAdd);
      feat(left ? "whole.implied_left" : "whole.implied");
      e.level = kCmp;
      e.type = Ty::Bool;
      e.memcg = f.memcg || share.memcg;
      return e;
    }
    case 2: {  // percent
      auto a = nonConstant(Ty::Percent, c, d);
      if (!a) return std::nullopt;
      feat("cmp.percent");
      return cmp(*a, gen(Ty::Percent, c, d), false);
    }
    case 3: {  // a ratio may pass 100%
      auto a = nonConstant(Ty::Bytes, c, std::max(0, d - 1));
      if (!a) return std::nullopt;
      Ex b = gen(Ty::Bytes, c, std::max(0, d - 1));
      if (b.constant && b.value == 0) return std::nullopt;
      Ex ratio = binary(*a, "/", b, kMul, Ty::Percent);
      feat("arith.bytes/bytes");
      feat("cmp.ratio_over_100");
      Ex limit;
      limit.text = std::to_string(uniform(101, 400)) + "%";
      limit.type = Ty::Percent;
      limit.constant = true;
      return cmp(ratio, limit, false);
    }
    case 4: {  // count
      auto a = nonConstant(Ty::Count, c, d);
      if (!a) return std::nullopt;
      feat("cmp.count");
      return cmp(*a, gen(Ty::Count, c, d), true);
    }
    case 5: {  // rate
      auto a = nonConstant(Ty::Rate, c, d);
      if (!a) return std::nullopt;
      feat("cmp.rate");
      return cmp(*a, gen(Ty::Rate, c, d), false);
    }
    default: {  // count rate
      auto a = nonConstant(Ty::CountRate, c, d);
      if (!a) return std::nullopt;
      feat("cmp.count_rate");
      return cmp(*a, gen(Ty::CountRate, c, d), false);
    }
  }
}

// A non-constant condition.
std::optional<Ex> Gen::boolExpr(const Ctx& c, int d) {
  size_t k = d <= 0 ? 0 : weighted({5, 1.5, 1.2, 0.7, 0.4, 0.4});
  switch (k) {
    case 0: return comparison(c, d);
    case 1:
    case 2: {
      auto a = boolExpr(c, d - 1);
      auto b = boolExpr(c, d - 1);
      if (!a || !b) return std::nullopt;
      feat(k == 1 ? "op.and" : "op.or");
      return binary(*a, k == 1 ? "and" : "or", *b, k == 1 ? kAnd : kOr, Ty::Bool);
    }
    case 3: {
      auto a = boolExpr(c, d - 1);
      if (!a) return std::nullopt;
      feat("op.not");
      Ex e = *a;
      e.text = "not " + at(*a, kNot);
      e.level = kNot;
      return e;
    }
    case 4: {  // bool == bool, bool != bool
      auto a = boolExpr(c, d - 1);
      if (!a) return std::nullopt;
      Ex b;
      if (chance(0.5)) {
        auto other = boolExpr(c, d - 1);
        if (!other) return std::nullopt;
        b = *other;
      } else if (auto l = letLeaf(Ty::Bool); l && chance(0.8)) {
        feat("op.bool_let");
        b = *l;
      } else {
        feat("op.bool_literal");
        b = literal(Ty::Bool);
      }
      feat("op.bool_eq");
      bool swap = chance(0.3);
      const Ex& l = swap ? b : *a;
      const Ex& r = swap ? *a : b;
      Ex e;
      std::string op = chance(0.5) ? "==" : "!=";  // bools compare for equality only
      feat("cmp." + op);
      e.text = at(l, kAdd) + " " + op + " " + at(r, kAdd);
      e.level = kCmp;
      e.type = Ty::Bool;
      e.memcg = a->memcg || b.memcg;
      return e;
    }
    default: {  // a constant that cannot absorb the condition: `and true`, `or false`
      auto a = boolExpr(c, d - 1);
      if (!a) return std::nullopt;
      bool isAnd = chance(0.5);
      Ex k2;
      auto l = letLeaf(Ty::Bool, [&](const Let& x) { return static_cast<bool>(x.value) == isAnd; });
      if (l && chance(0.8)) {
        feat("op.bool_let");
        k2 = *l;
      } else {
        feat("op.bool_literal");
        k2.text = isAnd ? "true" : "false";
        k2.type = Ty::Bool;
        k2.constant = true;
      }
      feat(isAnd ? "op.and" : "op.or");
      return chance(0.5) ? binary(*a, isAnd ? "and" : "or", k2, isAnd ? kAnd : kOr, Ty::Bool)
                         : binary(k2, isAnd ? "and" : "or", *a, isAnd ? kAnd : kOr, Ty::Bool);
    }
  }
}

Ex Gen::memcgComparison(const Ctx& c) {
  Ctx m = c;
  m.memcg = true;
  std::vector<const Field*> fs;
  for (const auto& f : allFields())
    if (f.where == Where::Memcg && !excluded(opts_, f.name)) fs.push_back(&f);
  Ex f = fieldLeaf(*pick(fs));
  Ex other = f.type == Ty::Bytes && chance(0.5) ? gen(Ty::Bytes, m, 1) : leaf(f.type, Ctx{true, false, ""});
  Ex e;
  e.text = f.text + " " + cmpOp(f.type == Ty::Count) + " " + at(other, kAdd);
  e.level = kCmp;
  e.type = Ty::Bool;
  e.memcg = true;
  return e;
}

// A rule's condition: never constant; in a memcg `when` rule it reads a
// memcg field (ctx.memcg without an event), in a system rule none.
Ex Gen::condition(const Ctx& c, int d) {
  bool needMemcg = c.memcg && c.event.empty();
  for (int tries = 0; tries < 30; ++tries) {
    size_t m = mark();
    auto e = boolExpr(c, d);
    if (e && (!needMemcg || e->memcg)) return maybeParen(*e);
    rollback(m);
  }
  Ex e = memcgComparison(c);
  return e;
}

// --- statements ------------------------------------------------------------

std::string Gen::pattern(bool protect) {
  std::vector<std::string> parts;
  if (protect) {
    static const std::vector<std::string> protects = {
        "system.slice/sshd.service", "init.scope", "system.slice/systemd-*.service", "machine.slice/**",
        "system.slice/dbus.service", "user.slice/user-0.slice/session-*.scope", "system.slice/**"};
    parts = {pick(protects)};
  } else {
    // Scopes start with a component no protect pattern starts with.
    static const std::vector<std::string> first = {"workload.slice", "batch.slice", "user.slice", "web-*", "*",
                                                   "**", "app-*.slice", "kubepods.slice"};
    static const std::vector<std::string> rest = {"*", "**", "web-*", "job-*", "api.service", "cache",
                                                  "worker-*-pool", "db.scope"};
    parts.push_back(pick(first));
    int more = static_cast<int>(weighted({3, 3, 1}));
    for (int i = 0; i < more; ++i) {
      std::string p = pick(rest);
      if (p == "**" && parts.back() == "**") p = "*";
      parts.push_back(p);
    }
  }
  std::string s;
  for (const auto& p : parts) {
    if (!s.empty()) s += "/";
    s += p;
    if (p == "*") feat("pattern.star");
    else if (p == "**") feat("pattern.doublestar");
    else if (p.find('*') != std::string::npos) feat("pattern.glob");
  }
  if (!protect)
    for (size_t i = 0; i + 1 < parts.size(); ++i)
      if (parts[i] == "**") feat("pattern.doublestar_inside");
  if (chance(0.85)) s = "/" + s;
  else feat("pattern.no_leading_slash");
  if (chance(0.1)) {
    s += "/";
    feat("pattern.trailing_slash");
  }
  return "\"" + s + "\"";
}

std::string Gen::patternList(bool protect) {
  int n = chance(0.4) ? uniform(2, 4) : 1;
  if (n > 1) feat(protect ? "protect.several" : "scope.several_patterns");
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? ", " : "") + pattern(protect);
  return s;
}

std::string Gen::letDecl(bool inScope) {
  static const std::vector<std::string> stems = {"hot", "warm", "step", "leak", "grace", "burst", "floor",
                                                 "cap", "headroom", "slack", "limit_", "quiet", "flag", "n"};
  static const std::vector<Ty> types = {Ty::Bytes, Ty::Percent, Ty::Duration, Ty::Count,
                                        Ty::Rate,  Ty::CountRate, Ty::Bool};
  Ty t = types[weighted({3, 3, 2, 1.5, 1, 0.7, 1.5})];
  std::string name;
  bool reused = false;
  if (inScope && !closedScopeLets_.empty() && chance(0.25)) {
    // A name a closed sibling scope defined: not visible here, so not a redefinition.
    std::vector<std::string> names(closedScopeLets_.begin(), closedScopeLets_.end());
    name = pick(names);
    bool visible = false;
    for (const auto& frame : lets_)
      for (const auto& l : frame) visible |= l.name == name;
    reused = !visible;
  }
  if (!reused) name = (inScope ? "s_" : "") + pick(stems) + std::to_string(++letCounter_);
  else feat("let.sibling_name");
  Ex v = gen(t, Ctx{true, false, ""}, static_cast<int>(weighted({2, 2, 1})));
  lets_.back().push_back({name, t, v.value});
  feat(inScope ? "let.scope" : "let.top");
  static const std::map<Ty, std::string> typeFeature = {{Ty::Bytes, "let.bytes"}, {Ty::Percent, "let.percent"},
                                                         {Ty::Duration, "let.duration"}, {Ty::Count, "let.count"},
                                                         {Ty::Rate, "let.rate"}, {Ty::CountRate, "let.count_rate"},
                                                         {Ty::Bool, "let.bool"}};
  feat(typeFeature.at(t));
  return "let " + name + " = " + v.text;
}

std::string Gen::settingDecl(const std::string& name) {
  feat("set." + name);
  Ctx k{true, false, ""};
  auto usesLet = [&](const Ex& e) {
    for (const auto& l : lets_.front())
      if (e.text.find(l.name) != std::string::npos) feat("set.uses_let");
  };
  Ex v;
  if (name == "interval") {
    v = constantWhere(Ty::Duration, 1, [](long double s) { return s >= 0.01L && s <= 3600; }, "1s", 1);
  } else if (name == "dry_run") {
    v = gen(Ty::Bool, k, 0);
  } else if (name == "reclaim_step") {
    if (chance(0.5)) {
      feat("set.reclaim_step.bytes");
      v = constantWhere(Ty::Bytes, 1, [](long double b) { return b > 0; }, "64MiB", kMiB * 64);
    } else {
      feat("set.reclaim_step.percent");
      v = constantWhere(Ty::Percent, 1, [](long double p) { return p > 0 && p <= 100; }, "1%", 1);
    }
  } else if (name == "allow_limit") {
    if (allowLimit_) {
      auto l = letLeaf(Ty::Bool, [](const Let& x) { return static_cast<bool>(x.value); });
      v.text = l && chance(0.3) ? l->text : "true";
    } else {
      v.text = "false";
    }
  } else if (name == "max_actions_per_second") {
    v = constantWhere(Ty::Count, 1, [](long double n) { return n >= 1 && n <= 1e6; }, "10", 10);
  } else if (name == "pressure_trigger") {
    v = constantWhere(Ty::Percent, 1, [](long double p) { return p > 0 && p <= 100; }, "10%", 10);
  } else if (name == "insn_budget") {
    // The budget bounds each program's instruction count (E0400): a policy
    // of many rules needs a large one, so only small policies get a small one.
    static const std::vector<std::string> large = {"1000000", "1_000_000", "500_000 * 2", "999_999 + 1"};
    static const std::vector<std::string> medium = {"100000", "250_000", "65536", "1000000"};
    v.text = rulesTotal_ <= 5 ? pick(medium) : pick(large);
  }
  usesLet(v);
  return "set " + name + " = " + v.text;
}

std::string Gen::logMessage(const Ctx& c) {
  static const std::vector<std::string> words = {"pressure", "in", "cgroup", "is", "high:", "usage", "=", "#3",
                                                 "victim", "order", "ok", "(", ")", "reclaiming", "50%"};
  std::string s = "\"";
  int pieces = uniform(1, 6);
  int interpolations = 0;
  for (int i = 0; i < pieces; ++i) {
    if (i) s += " ";
    size_t k = weighted({3, 4, 0.4, 0.4, 0.2});
    if (k == 0) {
      s += pick(words);
    } else if (k == 1 && interpolations < 6) {
      ++interpolations;
      std::string inner;
      std::vector<const Field*> eventFields;
      for (const auto& f : allFields())
        if (((f.where == Where::Oom && c.event == "oom") || (f.where == Where::Reclaim && c.event == "reclaim")) &&
            !excluded(opts_, f.name))
          eventFields.push_back(&f);
      size_t what = weighted({c.memcg ? 2.0 : 0.0, eventFields.empty() ? 0.0 : 2.0, 3});
      if (what == 0) {
        feat("field.memcg.path");
        feat("log.memcg.path");
        inner = "memcg.path";
      } else if (what == 1) {
        feat("log.event_field");
        inner = fieldLeaf(*pick(eventFields)).text;
      } else {
        feat("log.expression");
        static const std::vector<Ty> types = {Ty::Bytes, Ty::Percent, Ty::Count,   Ty::Rate,
                                              Ty::Bool,  Ty::Duration, Ty::CountRate};
        Ty t = types[weighted({3, 3, 1, 1, 1, 0.5, 0.5})];
        if (t == Ty::Count && fieldsOf(c, Ty::Count).empty()) t = Ty::Bytes;
        inner = gen(t, t == Ty::Duration ? Ctx{true, false, ""} : c, uniform(0, 2)).text;
      }
      s += chance(0.15) ? "{ " + inner + " }" : "{" + inner + "}";
    } else if (k == 2) {
      static const std::vector<std::string> escapes = {"\\\"", "\\\\", "\\n", "\\t"};
      feat("log.escape");
      s += pick(escapes);
    } else if (k == 3) {
      feat("log.braces");
      s += chance(0.5) ? "{{literal}}" : "}} {{";
    } else {
      feat("log.utf8");
      s += chance(0.5) ? "→" : "café";
    }
  }
  return s + "\"";
}

std::string Gen::action(const std::string& kind, const Ctx& c) {
  if (kind == "reclaim") {
    feat("reclaim");
    std::string s = "reclaim";
    if (chance(0.6)) {
      if (chance(0.6)) {
        feat("reclaim.amount.bytes");
        s += " " + at(gen(Ty::Bytes, c, uniform(0, 2)), kAdd);
      } else {
        feat("reclaim.amount.percent");
        s += " " + at(gen(Ty::Percent, c, uniform(0, 1)), kAdd);
      }
    }
    if (chance(0.5)) {
      feat("reclaim." + reclaimKind_);
      s += " " + reclaimKind_;
    }
    size_t order = weighted({1, 1, 1});
    if (order == 1) {
      feat("reclaim.first");
      s += " first";
    } else if (order == 2) {
      feat("reclaim.only");
      s += " only";
    }
    return s;
  }
  if (kind == "throttle") {
    if (!throttles_) {
      feat("unthrottle");
      return "unthrottle";
    }
    feat("throttle");
    return "throttle to " + at(gen(Ty::Bytes, c, uniform(0, 2)), kAdd);
  }
  if (kind == "limit") {
    feat("limit");
    return "limit to " + at(gen(Ty::Bytes, c, uniform(0, 2)), kAdd);
  }
  if (kind == "kill") {
    feat("kill");
    static const std::vector<std::string> picks = {"", "largest", "oldest", "youngest", "growing"};
    static const std::vector<std::string> targets = {"", "process", "cgroup"};
    std::string s = "kill";
    const std::string& p = pick(picks);
    const std::string& t = targets[weighted({1, 1, 1.5})];  // a cgroup's kill has four keys to cover
    if (!p.empty()) {
      feat("kill." + p);
      s += " " + p;
    }
    if (!t.empty()) {
      feat("kill." + t);
      s += " " + t;
    }
    bool cgroup = t == "cgroup";
    if (cgroup && chance(0.2)) {
      feat("kill.among");
      static const std::vector<std::string> among = {"\"/batch.slice/*\"", "\"/user.slice/**\", \"/system.slice/*\""};
      s += " among " + pick(among);
    }
    // A key instead of a pick (or with `largest`), of this kind of victim.
    if ((p.empty() || p == "largest") && chance(cgroup ? 0.9 : 0.5)) {
      static const std::vector<std::string> processKeys = {"rss", "oom_score", "swap"};
      static const std::vector<std::string> cgroupKeys = {"usage", "swap", "reclaim", "size_or_growth"};
      const std::string& key = pick(cgroup ? cgroupKeys : processKeys);
      feat("kill.by." + key);
      s += " by " + key;
      if (key != "reclaim" && key != "size_or_growth" && chance(0.4)) {
        feat("kill.above");
        s += " > " + at(gen(key == "oom_score" ? Ty::Count : Ty::Bytes, c, uniform(0, 1)), kAdd);
      }
    }
    if (!cgroup && chance(0.2)) {
      static const std::vector<std::string> signals = {"SIGTERM", "SIGINT", "SIGKILL", "TERM"};
      feat("kill.with");
      s += " with " + pick(signals);
    }
    return s;
  }
  feat("log");
  return "log " + logMessage(c);
}

void Gen::maybeComment(std::string& text, const char* indent) {
  static const std::vector<std::string> comments = {"# tuned for the web tier", "# see runbook §4",
                                                    "# keep in sync with oomd", "#", "# TODO: revisit"};
  if (chance(0.08)) {
    feat("comment");
    text += indent + pick(comments) + "\n";
  }
}

std::string Gen::rule(bool inScope) {
  ++out_.rules;
  feat(inScope ? "rule.in_scope" : "rule.top_level");
  Ctx c;
  std::string head;
  bool isWhen = true;
  size_t kind = weighted({45, 15, 40});
  if (kind == 0 || kind == 1) {
    c.memcg = kind == 0;
  } else {
    static const std::vector<std::string> events = {"oom", "reclaim", "pressure", "cgroup_created"};
    isWhen = false;
    c.memcg = true;
    c.event = pick(events);
  }
  // Actions first: a kill decides the guard.
  int nActions = static_cast<int>(weighted({6, 3, 1})) + 1;
  if (nActions > 1) feat("action.several");
  std::vector<std::string> kinds;
  bool kill = false;
  for (int i = 0; i < nActions; ++i) {
    size_t k = weighted({3, 1.5, allowLimit_ ? 1.0 : 0.0, 1.2, 3});
    static const char* names[] = {"reclaim", "throttle", "limit", "kill", "log"};
    kinds.push_back(names[k]);
    kill |= k == 3;
  }
  // The kill guard: `for` or `cooldown` of at least 1s (`on` rules: cooldown).
  bool guardByFor = kill && isWhen && chance(0.5);
  bool guardByCooldown = kill && (!guardByFor || chance(0.3));
  Ctx constant{true, false, ""};
  auto atLeastOneSecond = [&] {
    return constantWhere(Ty::Duration, uniform(0, 1), [](long double s) { return s >= 1 && s <= 86400; }, "30s", 30).text;
  };
  auto anyDuration = [&] {
    return constantWhere(Ty::Duration, uniform(0, 1), [](long double s) { return s <= 86400; }, "10s", 10).text;
  };

  std::string s;
  std::string sep = chance(0.15) ? "\n    " : " ";
  if (sep != " ") feat("rule.multiline");
  if (isWhen) {
    feat(c.memcg ? "rule.when.memcg" : "rule.when.system");
    Ex cond = condition(c, uniform(0, 3));
    s = "when " + cond.text;
    if (guardByFor || (!guardByFor && chance(0.3))) {
      feat("for");
      s += sep + "for " + (guardByFor ? atLeastOneSecond() : anyDuration());
    }
  } else {
    feat("rule.on." + c.event);
    s = "on " + c.event;
    if (chance(0.5)) {
      feat("rule.on." + c.event + ".when");
      s += " when " + condition(c, uniform(0, 2)).text;
    }
  }
  for (int i = 0; i < nActions; ++i) s += (i ? ", " : sep) + action(kinds[static_cast<size_t>(i)], c);
  std::vector<std::string> mods;
  if (guardByCooldown || chance(0.3)) mods.push_back("cooldown " + (guardByCooldown ? atLeastOneSecond() : anyDuration()));
  if (chance(0.2)) {
    std::string per =
        constantWhere(Ty::Duration, uniform(0, 1), [](long double s) { return s > 0 && s <= 86400; }, "1min", 60).text;
    int n = uniform(1, 100);
    mods.push_back("at most " + std::to_string(n) + " per " + per);
    feat("mod.at_most");
  }
  if (chance(0.2)) {
    mods.push_back("unless " + condition(Ctx{false, c.memcg, c.event}, uniform(0, 2)).text);
    // An `unless` of a system rule stays on system fields: condition()
    // asks for a memcg field only where the rule itself reads one.
    feat("mod.unless");
  }
  for (const auto& m : mods)
    if (m.rfind("cooldown", 0) == 0) feat("mod.cooldown");
  if (mods.size() > 1) feat("mod.several");
  std::shuffle(mods.begin(), mods.end(), rng_);
  for (const auto& m : mods) s += sep + m;
  return s;
}

std::string Gen::scopeBlock(int rules) {
  feat("scope");
  std::string s = "in " + patternList(false) + " {\n";
  lets_.emplace_back();
  if (rules == 0) feat("scope.let_only");
  int lets = rules == 0 ? uniform(1, 2) : static_cast<int>(weighted({5, 3, 1}));
  // Most lets come first, so that the rules can use them; the others mix in.
  std::vector<int> order;  // 0: let, 1: rule
  int early = 0;
  for (int i = 0; i < lets; ++i) early += chance(0.7);
  for (int i = early; i < lets; ++i) order.push_back(0);
  for (int i = 0; i < rules; ++i) order.push_back(1);
  std::shuffle(order.begin(), order.end(), rng_);
  order.insert(order.begin(), static_cast<size_t>(early), 0);
  for (int item : order) {
    maybeComment(s, "  ");
    s += "  " + (item == 0 ? letDecl(true) : rule(true)) + "\n";
  }
  for (const auto& l : lets_.back()) closedScopeLets_.insert(l.name);
  lets_.pop_back();
  return s + "}";
}

GeneratedPolicy Gen::run() {
  int total = uniform(opts_.minRules, opts_.maxRules);
  rulesTotal_ = total;
  allowLimit_ = chance(0.6);
  reclaimKind_ = chance(0.5) ? "anon" : "file";
  throttles_ = chance(0.6);

  // Settings: a random subset, set at random points among the top-level items.
  std::vector<std::string> pending;
  for (const char* name : {"interval", "dry_run", "reclaim_step", "max_actions_per_second", "pressure_trigger"})
    if (chance(0.45)) pending.push_back(name);
  if (allowLimit_ || chance(0.2)) pending.push_back("allow_limit");
  if (total > 5 || chance(0.5)) pending.push_back("insn_budget");
  std::shuffle(pending.begin(), pending.end(), rng_);

  std::string text = "policy prop_" + std::to_string(out_.seed % 1'000'000) + "\n";
  maybeComment(text, "");
  int left = total;
  while (left > 0 || !pending.empty()) {
    if (!pending.empty() && (left == 0 || chance(0.12))) {
      text += settingDecl(pending.back()) + "\n";
      pending.pop_back();
      continue;
    }
    maybeComment(text, "");
    size_t k = weighted({45, 30, 10, 4, 1});
    if (k == 0) {
      text += rule(false) + "\n";
      --left;
    } else if (k == 1) {
      int n = std::min(left, static_cast<int>(weighted({4, 3, 2, 1, 1, 1, 0.5, 0.5})) + 1);
      text += scopeBlock(n) + "\n";
      left -= n;
    } else if (k == 2) {
      text += letDecl(false) + "\n";
    } else if (k == 3) {
      feat("protect");
      text += "protect " + patternList(true) + "\n";
    } else {
      text += scopeBlock(0) + "\n";
    }
  }
  out_.text = text;
  out_.features.insert(featureLog_.begin(), featureLog_.end());
  return out_;
}

}  // namespace

bool excluded(const GeneratorOptions& options, const std::string& name) {
  for (const auto& x : options.exclude) {
    if (!x.empty() && x.back() == '*' ? name.rfind(x.substr(0, x.size() - 1), 0) == 0 : name == x) return true;
  }
  return false;
}

GeneratedPolicy generatePolicy(uint64_t seed, const GeneratorOptions& options) {
  return Gen(seed, options).run();
}

const std::vector<std::string>& generatorFeatures() { return featureList(); }

}  // namespace mmp::test

// Expressions on 64-bit integers, with the semantics of units/quantity.cpp:
// quantities saturate at 0 and at unlimited (all ones), unlimited is
// +infinity in comparisons, rates are signed. No loop, no helper call.
#include <numeric>

#include "abi/mmp_abi.h"
#include <llvm/IR/IntrinsicsBPF.h>

#include "codegen/emitter.h"

namespace mmp::codegen {

using namespace ast;

llvm::Value* Emitter::constant(const Value& v) {
  if (v.type == Type::Bool) return ir_.getInt1(v.isTrue());
  if (v.unlimited) return ir_.getInt64(MMP_UNLIMITED);
  return ir_.getInt64(static_cast<uint64_t>(static_cast<int64_t>(v.raw)));
}

llvm::Value* Emitter::field(const Binding& b, EvalContext& ctx) {
  uint32_t i = plan_.snapshotIndex(&b);
  llvm::Value* at = ir_.CreateInBoundsGEP(ir_.getInt8Ty(), ctx.snapshot, ir_.getInt64(24 + 8 * i));
  return ir_.CreateAlignedLoad(ir_.getInt64Ty(), at, llvm::Align(8));
}

llvm::Value* Emitter::expr(const Expr& e, EvalContext& ctx, const plan::Rule& rule) {
  if (auto it = ctx.memo.find(&e); it != ctx.memo.end()) return it->second;
  if (e.constant) return constant(*e.constant);
  llvm::Value* v = nullptr;
  switch (e.kind) {
    case ExprKind::Path: {
      auto& p = llvm::cast<PathExpr>(e);
      v = p.binding ? field(*p.binding, ctx) : expr(p.let->used(), ctx, rule);
      break;
    }
    case ExprKind::Unary: {
      auto& u = llvm::cast<UnaryExpr>(e);
      llvm::Value* x = expr(*u.operand, ctx, rule);
      v = u.op == UnaryOp::Not ? ir_.CreateNot(x) : ir_.CreateNeg(x);
      break;
    }
    case ExprKind::Binary: v = binary(llvm::cast<BinaryExpr>(e), ctx, rule); break;
    case ExprKind::Call: {
      auto& c = llvm::cast<CallExpr>(e);
      v = c.callee == "rate" ? rate(c, ctx, rule) : minMax(c, ctx, rule);
      break;
    }
    case ExprKind::Quantity:
    case ExprKind::Bool:
    case ExprKind::Invalid: v = ir_.getInt64(0); break;  // folded by sema
  }
  ctx.memo[&e] = v;
  return v;
}

llvm::Value* Emitter::compare(const BinaryExpr& e, llvm::Value* l, llvm::Value* r) {
  // Unlimited is all ones: unsigned order already puts it above every value.
  bool sign = isSigned(e.lhs->type);
  switch (e.op) {
    case BinaryOp::Lt: return sign ? ir_.CreateICmpSLT(l, r) : ir_.CreateICmpULT(l, r);
    case BinaryOp::Le: return sign ? ir_.CreateICmpSLE(l, r) : ir_.CreateICmpULE(l, r);
    case BinaryOp::Gt: return sign ? ir_.CreateICmpSGT(l, r) : ir_.CreateICmpUGT(l, r);
    case BinaryOp::Ge: return sign ? ir_.CreateICmpSGE(l, r) : ir_.CreateICmpUGE(l, r);
    case BinaryOp::Eq: return ir_.CreateICmpEQ(l, r);
    default: return ir_.CreateICmpNE(l, r);
  }
}

// share (thousandths of a percent) of whole, exact without 128-bit
// arithmetic: (w / D) * s + (w % D) * s / D, reduced by gcd when s is known.
llvm::Value* Emitter::percentOf(llvm::Value* share, llvm::Value* whole, const Expr* shareExpr) {
  uint64_t num = 0, den = kPercentWhole;
  llvm::Value* s = share;
  if (shareExpr && shareExpr->constant) {
    num = static_cast<uint64_t>(shareExpr->constant->raw);
    uint64_t g = std::gcd(num, den);
    if (g) {
      num /= g;
      den /= g;
    }
    s = ir_.getInt64(num);
  }
  llvm::Value* d = ir_.getInt64(den);
  llvm::Value* hi = ir_.CreateMul(ir_.CreateUDiv(whole, d), s);
  llvm::Value* lo = ir_.CreateUDiv(ir_.CreateMul(ir_.CreateURem(whole, d), s), d);
  llvm::Value* v = den == 1 ? ir_.CreateMul(whole, s) : ir_.CreateAdd(hi, lo);
  llvm::Value* unlimited = ir_.getInt64(MMP_UNLIMITED);
  // A share computed at run time may be unlimited itself (a ratio's
  // division by zero): unlimited, as X% of unlimited is.
  if (!(shareExpr && shareExpr->constant)) v = ir_.CreateSelect(ir_.CreateICmpEQ(share, unlimited), unlimited, v);
  return ir_.CreateSelect(ir_.CreateICmpEQ(whole, unlimited), whole, v);
}

// a / b as thousandths of a percent; b == 0 or a unlimited give unlimited,
// b unlimited gives 0.
llvm::Value* Emitter::ratio(llvm::Value* a, llvm::Value* b) {
  llvm::Value* unlimited = ir_.getInt64(MMP_UNLIMITED);
  llvm::Value* zero = ir_.CreateICmpEQ(b, ir_.getInt64(0));
  llvm::Value* safe = ir_.CreateSelect(zero, ir_.getInt64(1), b);
  // a/b = q + r/b: q whole parts, and r/b in thousandths of a percent,
  // exact while b < 2^47 (r * 100000 fits in 64 bits), to within one
  // step beyond (where b/100000 stands in for b).
  llvm::Value* q = ir_.CreateUDiv(a, safe);
  llvm::Value* r = ir_.CreateURem(a, safe);
  llvm::Value* small = ir_.CreateICmpULT(safe, ir_.getInt64(1ULL << 47));
  llvm::Value* exact = ir_.CreateUDiv(ir_.CreateMul(r, ir_.getInt64(kPercentWhole)), safe);
  llvm::Value* approx = ir_.CreateUDiv(r, ir_.CreateUDiv(safe, ir_.getInt64(kPercentWhole)));
  approx = ir_.CreateSelect(ir_.CreateICmpUGT(approx, ir_.getInt64(kPercentWhole - 1)), ir_.getInt64(kPercentWhole - 1), approx);
  llvm::Value* frac = ir_.CreateSelect(small, exact, approx);
  // Saturate the whole part: q * 100000 overflows past 2^64 / 100000.
  llvm::Value* over = ir_.CreateICmpUGT(q, ir_.getInt64(UINT64_MAX / kPercentWhole - 1));
  llvm::Value* v = ir_.CreateSelect(over, unlimited, ir_.CreateAdd(ir_.CreateMul(q, ir_.getInt64(kPercentWhole)), frac));
  v = ir_.CreateSelect(zero, unlimited, v);
  v = ir_.CreateSelect(ir_.CreateICmpEQ(b, unlimited), ir_.getInt64(0), v);
  return ir_.CreateSelect(ir_.CreateICmpEQ(a, unlimited), unlimited, v);
}

llvm::Value* Emitter::binary(const BinaryExpr& e, EvalContext& ctx, const plan::Rule& rule) {
  llvm::Value* l = expr(*e.lhs, ctx, rule);
  llvm::Value* r = expr(*e.rhs, ctx, rule);
  llvm::Value* unlimited = ir_.getInt64(MMP_UNLIMITED);
  bool rate = isSigned(e.type);
  switch (e.op) {
    case BinaryOp::And: return ir_.CreateAnd(l, r);
    case BinaryOp::Or: return ir_.CreateOr(l, r);
    case BinaryOp::Lt:
    case BinaryOp::Le:
    case BinaryOp::Gt:
    case BinaryOp::Ge:
    case BinaryOp::Eq:
    case BinaryOp::Ne:
      if (e.impliedWhole) {
        // `memcg.usage > 90%`: compare with that share of the field's whole.
        Value wholeRef;
        const Binding* whole = e.impliedWhole;
        llvm::Value* w = field(*whole, ctx);
        if (e.wholeOnLeft) l = percentOf(l, w, e.lhs.get());
        else r = percentOf(r, w, e.rhs.get());
      }
      return compare(e, l, r);
    case BinaryOp::Add: {
      if (rate) return ir_.CreateAdd(l, r);
      llvm::Value* sum = ir_.CreateAdd(l, r);
      return ir_.CreateSelect(ir_.CreateICmpULT(sum, l), unlimited, sum);  // saturate at unlimited
    }
    case BinaryOp::Sub: {
      if (rate) return ir_.CreateSub(l, r);
      llvm::Value* diff = ir_.CreateSelect(ir_.CreateICmpUGT(r, l), ir_.getInt64(0), ir_.CreateSub(l, r));
      return ir_.CreateSelect(ir_.CreateICmpEQ(l, unlimited), unlimited, diff);
    }
    case BinaryOp::Mul: {
      // Saturating: a * b overflows exactly when b != 0 and a > MAX / b.
      llvm::Value* safeR = ir_.CreateSelect(ir_.CreateICmpEQ(r, ir_.getInt64(0)), ir_.getInt64(1), r);
      // Hidden from InstCombine, which would turn the idiom into
      // umul.with.overflow: a 128-bit libcall that BPF cannot make.
      llvm::Function* pass = llvm::Intrinsic::getDeclaration(&m_, llvm::Intrinsic::bpf_passthrough,
                                                             {ir_.getInt64Ty(), ir_.getInt64Ty()});
      llvm::Value* bound = ir_.CreateCall(pass, {ir_.getInt32(mod_.passthroughSeq++), ir_.CreateUDiv(unlimited, safeR)});
      llvm::Value* over = ir_.CreateICmpUGT(l, bound);
      return ir_.CreateSelect(over, unlimited, ir_.CreateMul(l, r));
    }
    case BinaryOp::Div: {
      // bytes / bytes, percent / percent, duration / duration: a ratio, in
      // thousandths of a percent.
      if (e.lhs->type == e.rhs->type &&
          (e.lhs->type == Type::Bytes || e.lhs->type == Type::Percent || e.lhs->type == Type::Duration))
        return ratio(l, r);
      llvm::Value* zero = ir_.CreateICmpEQ(r, ir_.getInt64(0));
      llvm::Value* safeR = ir_.CreateSelect(zero, ir_.getInt64(1), r);
      if (e.rhs->type == Type::Duration) {
        // bytes / ns → bytes per second, count / ns → thousandths per
        // second, via milliseconds to stay in range.
        llvm::Value* ms = ir_.CreateUDiv(safeR, ir_.getInt64(1'000'000));
        llvm::Value* safeMs = ir_.CreateSelect(ir_.CreateICmpEQ(ms, ir_.getInt64(0)), ir_.getInt64(1), ms);
        uint64_t perMs = e.type == Type::CountRate ? 1000 * kCountRateScale : 1000;
        llvm::Value* v = ir_.CreateUDiv(ir_.CreateMul(l, ir_.getInt64(perMs)), safeMs);
        return ir_.CreateSelect(zero, ir_.getInt64(INT64_MAX), v);
      }
      llvm::Value* v = ir_.CreateUDiv(l, safeR);
      return ir_.CreateSelect(ir_.CreateOr(zero, ir_.CreateICmpEQ(l, unlimited)), unlimited, v);
    }
    case BinaryOp::Of: return percentOf(l, r, e.lhs.get());
  }
  return l;
}

// min(a, b), max(a, b): unsigned order for quantities, where unlimited (all
// ones) is the largest value, so min(x, unlimited) = x; signed for rates.
llvm::Value* Emitter::minMax(const CallExpr& call, EvalContext& ctx, const plan::Rule& rule) {
  llvm::Value* a = expr(*call.args[0], ctx, rule);
  llvm::Value* b = expr(*call.args[1], ctx, rule);
  bool sign = isSigned(call.type);
  llvm::Value* takeA = call.callee == "min" ? (sign ? ir_.CreateICmpSLE(a, b) : ir_.CreateICmpULE(a, b))
                                            : (sign ? ir_.CreateICmpSGE(a, b) : ir_.CreateICmpUGE(a, b));
  return ir_.CreateSelect(takeA, a, b);
}

// A condition as control flow: `and`, `or` and `not` short-circuit, so no
// boolean stays live across the rest of the rule, where the verifier would
// walk every combination of them. Values computed on one arm are
// forgotten after it: they do not dominate the other.
void Emitter::branchOn(const Expr& e, EvalContext& ctx, const plan::Rule& rule, llvm::BasicBlock* t,
                       llvm::BasicBlock* f) {
  if (!e.constant) {
    if (auto* b = llvm::dyn_cast<BinaryExpr>(&e); b && (b->op == BinaryOp::And || b->op == BinaryOp::Or)) {
      bool isAnd = b->op == BinaryOp::And;
      llvm::BasicBlock* mid = bpf_.block(isAnd ? "and" : "or");
      branchOn(*b->lhs, ctx, rule, isAnd ? mid : t, isAnd ? f : mid);
      ir_.SetInsertPoint(mid);
      auto memo = ctx.memo;
      auto rates = ctx.rates;
      branchOn(*b->rhs, ctx, rule, t, f);
      ctx.memo = std::move(memo);
      ctx.rates = std::move(rates);
      return;
    }
    if (auto* u = llvm::dyn_cast<UnaryExpr>(&e); u && u->op == UnaryOp::Not) {
      branchOn(*u->operand, ctx, rule, f, t);
      return;
    }
  }
  ir_.CreateCondBr(expr(e, ctx, rule), t, f);
}

// rate(F)'s arithmetic, as one static BPF subprogram per kind:
// mmp_rate(word, cur, now) for bytes (signed bytes per second),
// mmp_rate_count(word, cur, now) for a count (signed thousandths per
// second) and mmp_rate_share(word, cur, now) for a duration (a share of
// time), where
// word[0..1] are the rule's sample of F and its time in the cgroup's state
// row. Inline, each rate()'s branches (first sample, too short an
// interval, a shrinking field) multiplied the verifier's paths by the next
// one's: a rule of five rate()s verified 580 K instructions, of seven over
// its 1 M limit (property seed 5226). A subprogram's paths join at its
// return.
llvm::Function* Emitter::rateFunction(Type result) {
  bool share = result == Type::Percent;
  llvm::Function*& f = share ? mod_.rateShare : result == Type::CountRate ? mod_.rateCount : mod_.rateBytes;
  if (f) return f;
  llvm::IRBuilderBase::InsertPointGuard guard(ir_);
  auto* i64 = ir_.getInt64Ty();
  const char* name = share ? "mmp_rate_share" : result == Type::CountRate ? "mmp_rate_count" : "mmp_rate";
  f = sharedFunction(name, i64, {bpf_.ptrTy(), i64, i64});
  llvm::Value* samplePtr = f->getArg(0);
  llvm::Value* cur = f->getArg(1);
  llvm::Value* now = f->getArg(2);
  llvm::Value* timePtr = ir_.CreateInBoundsGEP(ir_.getInt8Ty(), samplePtr, ir_.getInt64(8));
  llvm::Value* prev = ir_.CreateAlignedLoad(i64, samplePtr, llvm::Align(8));
  llvm::Value* prevTime = ir_.CreateAlignedLoad(i64, timePtr, llvm::Align(8));
  llvm::Value* dt = ir_.CreateSub(now, prevTime);
  llvm::Value* dtMs = ir_.CreateUDiv(dt, ir_.getInt64(1'000'000));
  // No earlier sample, or one less than 1 ms old: no rate yet (0), keep it.
  llvm::Value* valid = ir_.CreateAnd(ir_.CreateICmpNE(prevTime, ir_.getInt64(0)),
                                     ir_.CreateICmpNE(dtMs, ir_.getInt64(0)));
  llvm::Value* safeMs = ir_.CreateSelect(valid, dtMs, ir_.getInt64(1));
  llvm::Value* shrinking = ir_.CreateICmpULT(cur, prev);
  llvm::Value* growth;
  if (share) {
    // A duration field (a PSI total): the share of the time since the last
    // sample that it grew by, delta / dt in thousandths of a percent. Totals
    // only grow: a smaller one (a counter that restarted) gives 0%. The
    // growth is capped at 2^46 ns (19 hours), so that delta * 100000 fits
    // 64 bits: a stall share of one interval never comes near it.
    llvm::Value* grown = ir_.CreateSelect(shrinking, ir_.getInt64(0), ir_.CreateSub(cur, prev));
    grown = ir_.CreateBinaryIntrinsic(llvm::Intrinsic::umin, grown, ir_.getInt64(1ULL << 46));
    llvm::Value* safeDt = ir_.CreateSelect(valid, dt, ir_.getInt64(1));
    growth = ir_.CreateUDiv(ir_.CreateMul(grown, ir_.getInt64(kPercentWhole)), safeDt);
  } else {
    // BPF (cpu v3) divides unsigned only: divide the magnitude, restore the
    // sign. A count's is in thousandths per second: its change is capped at
    // 2^43, so that change * 10^6 fits 64 bits (no kernel counter moves
    // that much between two evaluations).
    llvm::Value* magnitude = ir_.CreateSelect(shrinking, ir_.CreateSub(prev, cur), ir_.CreateSub(cur, prev));
    uint64_t perMs = 1000;
    if (result == Type::CountRate) {
      magnitude = ir_.CreateBinaryIntrinsic(llvm::Intrinsic::umin, magnitude, ir_.getInt64(1ULL << 43));
      perMs *= kCountRateScale;
    }
    llvm::Value* perSecond = ir_.CreateUDiv(ir_.CreateMul(magnitude, ir_.getInt64(perMs)), safeMs);
    growth = ir_.CreateSelect(shrinking, ir_.CreateNeg(perSecond), perSecond);
  }
  llvm::Value* v = ir_.CreateSelect(valid, growth, ir_.getInt64(0));
  llvm::Value* take = ir_.CreateOr(ir_.CreateICmpEQ(prevTime, ir_.getInt64(0)), valid);
  ir_.CreateAlignedStore(ir_.CreateSelect(take, cur, prev), samplePtr, llvm::Align(8));
  ir_.CreateAlignedStore(ir_.CreateSelect(take, now, prevTime), timePtr, llvm::Align(8));
  ir_.CreateRet(v);
  return f;
}

// rate(field): growth per second since the last evaluation of this rule
// for this cgroup, its sample kept in the rule's words of the state row; of
// a duration field, the share of that time it grew by (a percent).
llvm::Value* Emitter::rate(const CallExpr& call, EvalContext& ctx, const plan::Rule& rule) {
  uint32_t slot = rule.rateSlot(call);
  // One sample per evaluation and field: a second `rate(F)` in the rule
  // (say in its log message) sees the same value.
  if (auto it = ctx.rates.find(slot); it != ctx.rates.end()) return it->second;
  llvm::Value* cur = expr(*call.args[0], ctx, rule);
  llvm::BasicBlock* noState = bpf_.block("rate_nostate");
  llvm::Value* row = stateRow(ctx, noState);
  llvm::Value* v = ir_.CreateCall(rateFunction(call.type),
                                  {stateWord(row, rule.rateWord(call)), cur, ctx.now});
  llvm::BasicBlock* have = ir_.GetInsertBlock();
  llvm::BasicBlock* join = bpf_.block("rate_done");
  ir_.CreateBr(join);
  ir_.SetInsertPoint(noState);
  ir_.CreateBr(join);
  ir_.SetInsertPoint(join);
  auto* phi = ir_.CreatePHI(ir_.getInt64Ty(), 2);
  phi->addIncoming(v, have);
  phi->addIncoming(ir_.getInt64(0), noState);
  ctx.rates[slot] = phi;
  return phi;
}

}  // namespace mmp::codegen

//===- LowerElementwise.cpp - qf elementwise ops to linalg.generic --------===//
//
// Every elementwise qf op becomes one parallel linalg.generic whose body is
// the scalar function below; broadcasting lives in the indexing maps.
// linalg-fuse-elementwise-ops later merges chains of them into one loop nest.
//
//===----------------------------------------------------------------------===//
#include "LinalgBuilders.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"

#include <cmath>

using namespace mlir;

namespace qf::lowering {
namespace {

bool isFloat(Value v) { return isa<FloatType>(v.getType()); }

Value cst(OpBuilder &b, Location loc, Value like, double v) {
  return scalarConst(b, loc, like.getType(), v);
}

Value sigmoidS(OpBuilder &b, Location loc, Value x) {
  Value one = cst(b, loc, x, 1.0);
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e));
}

Value clampS(OpBuilder &b, Location loc, Value x, double lo, double hi) {
  Value l = cst(b, loc, x, lo), h = cst(b, loc, x, hi);
  return arith::MinimumFOp::create(b, loc, arith::MaximumFOp::create(b, loc, x, l),
                                   h);
}

// ---- scalar bodies, one per op --------------------------------------------

#define UNARY_F(OP, EXPR)                                                      \
  Value body(OP, OpBuilder &b, Location loc, ValueRange a) {                   \
    Value x = a[0];                                                            \
    (void)x;                                                                   \
    return EXPR;                                                               \
  }

UNARY_F(SqrtOp, math::SqrtOp::create(b, loc, x))
UNARY_F(ExpOp, math::ExpOp::create(b, loc, x))
UNARY_F(LogOp, math::LogOp::create(b, loc, x))
UNARY_F(ErfOp, math::ErfOp::create(b, loc, x))
UNARY_F(TanhOp, math::TanhOp::create(b, loc, x))
UNARY_F(SigmoidOp, sigmoidS(b, loc, x))
UNARY_F(FloorOp, math::FloorOp::create(b, loc, x))
UNARY_F(CeilOp, math::CeilOp::create(b, loc, x))
UNARY_F(RoundOp, math::RoundEvenOp::create(b, loc, x))
UNARY_F(SinOp, math::SinOp::create(b, loc, x))
UNARY_F(CosOp, math::CosOp::create(b, loc, x))
UNARY_F(ReciprocalOp, arith::DivFOp::create(b, loc, cst(b, loc, x, 1.0), x))
UNARY_F(SoftplusOp,
        math::LogOp::create(b, loc,
                            arith::AddFOp::create(b, loc, cst(b, loc, x, 1.0),
                                                  math::ExpOp::create(b, loc, x))))
UNARY_F(HardSwishOp,
        arith::MulFOp::create(
            b, loc, x,
            clampS(b, loc,
                   arith::AddFOp::create(
                       b, loc, arith::MulFOp::create(b, loc, x, cst(b, loc, x, 1.0 / 6)),
                       cst(b, loc, x, 0.5)),
                   0.0, 1.0)))
UNARY_F(NotOp, arith::XOrIOp::create(b, loc, x, cst(b, loc, x, 1)))
#undef UNARY_F

Value body(NegOp, OpBuilder &b, Location loc, ValueRange a) {
  if (isFloat(a[0]))
    return arith::NegFOp::create(b, loc, a[0]);
  return arith::SubIOp::create(b, loc, cst(b, loc, a[0], 0), a[0]);
}

Value body(AbsOp, OpBuilder &b, Location loc, ValueRange a) {
  if (isFloat(a[0]))
    return math::AbsFOp::create(b, loc, a[0]);
  return math::AbsIOp::create(b, loc, a[0]);
}

Value body(ReluOp, OpBuilder &b, Location loc, ValueRange a) {
  Value zero = cst(b, loc, a[0], 0);
  if (isFloat(a[0]))
    return arith::MaximumFOp::create(b, loc, a[0], zero);
  return arith::MaxSIOp::create(b, loc, a[0], zero);
}

Value body(SignOp, OpBuilder &b, Location loc, ValueRange a) {
  Value x = a[0], zero = cst(b, loc, x, 0), one = cst(b, loc, x, 1),
        minus = cst(b, loc, x, -1);
  Value gt, lt;
  if (isFloat(x)) {
    gt = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, zero);
    lt = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x, zero);
  } else {
    gt = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, x, zero);
    lt = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, zero);
  }
  return arith::SelectOp::create(
      b, loc, gt, one, arith::SelectOp::create(b, loc, lt, minus, zero));
}

Value body(GeluOp op, OpBuilder &b, Location loc, ValueRange a) {
  Value x = a[0], half = cst(b, loc, x, 0.5), one = cst(b, loc, x, 1.0);
  Value inner;
  if (op.getApproximate() == "tanh") {
    Value x3 = arith::MulFOp::create(b, loc, x, arith::MulFOp::create(b, loc, x, x));
    Value poly = arith::AddFOp::create(
        b, loc, x, arith::MulFOp::create(b, loc, cst(b, loc, x, 0.044715), x3));
    inner = math::TanhOp::create(
        b, loc,
        arith::MulFOp::create(b, loc, cst(b, loc, x, std::sqrt(2.0 / M_PI)), poly));
  } else {
    inner = math::ErfOp::create(
        b, loc, arith::MulFOp::create(b, loc, x, cst(b, loc, x, M_SQRT1_2)));
  }
  return arith::MulFOp::create(
      b, loc, arith::MulFOp::create(b, loc, half, x),
      arith::AddFOp::create(b, loc, one, inner));
}

Value negSide(OpBuilder &b, Location loc, Value x, Value ifNeg) {
  Value isNeg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x,
                                      cst(b, loc, x, 0.0));
  return arith::SelectOp::create(b, loc, isNeg, ifNeg, x);
}

Value body(LeakyReluOp op, OpBuilder &b, Location loc, ValueRange a) {
  Value x = a[0];
  return negSide(b, loc, x,
                 arith::MulFOp::create(b, loc, x,
                                       cst(b, loc, x, op.getAlpha().convertToDouble())));
}

Value eluNeg(OpBuilder &b, Location loc, Value x, double alpha) {
  Value em1 = arith::SubFOp::create(b, loc, math::ExpOp::create(b, loc, x),
                                    cst(b, loc, x, 1.0));
  return arith::MulFOp::create(b, loc, cst(b, loc, x, alpha), em1);
}

Value body(EluOp op, OpBuilder &b, Location loc, ValueRange a) {
  return negSide(b, loc, a[0],
                 eluNeg(b, loc, a[0], op.getAlpha().convertToDouble()));
}

Value body(SeluOp op, OpBuilder &b, Location loc, ValueRange a) {
  Value e = negSide(b, loc, a[0],
                    eluNeg(b, loc, a[0], op.getAlpha().convertToDouble()));
  return arith::MulFOp::create(b, loc,
                               cst(b, loc, a[0], op.getBeta().convertToDouble()), e);
}

Value body(HardSigmoidOp op, OpBuilder &b, Location loc, ValueRange a) {
  Value x = a[0];
  Value lin = arith::AddFOp::create(
      b, loc,
      arith::MulFOp::create(b, loc, x, cst(b, loc, x, op.getAlpha().convertToDouble())),
      cst(b, loc, x, op.getBeta().convertToDouble()));
  return clampS(b, loc, lin, 0.0, 1.0);
}

Value body(CastOp op, OpBuilder &b, Location loc, ValueRange a) {
  Value x = a[0];
  Type src = x.getType();
  Type dst = cast<RankedTensorType>(op.getType()).getElementType();
  bool srcUnsigned = op.getSrcUnsigned() || src.isInteger(1);
  if (src == dst)
    return x;
  if (dst.isInteger(1)) {
    if (isFloat(x))
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, x,
                                   cst(b, loc, x, 0.0));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x,
                                 cst(b, loc, x, 0));
  }
  if (auto df = dyn_cast<FloatType>(dst)) {
    if (auto sf = dyn_cast<FloatType>(src))
      return sf.getWidth() < df.getWidth()
                 ? (Value)arith::ExtFOp::create(b, loc, dst, x)
                 : (Value)arith::TruncFOp::create(b, loc, dst, x);
    if (srcUnsigned)
      return arith::UIToFPOp::create(b, loc, dst, x);
    return arith::SIToFPOp::create(b, loc, dst, x);
  }
  if (isFloat(x)) {
    if (op.getDstUnsigned())
      return arith::FPToUIOp::create(b, loc, dst, x);
    return arith::FPToSIOp::create(b, loc, dst, x);
  }
  unsigned sw = src.getIntOrFloatBitWidth(), dw = dst.getIntOrFloatBitWidth();
  if (dw < sw)
    return arith::TruncIOp::create(b, loc, dst, x);
  if (srcUnsigned)
    return arith::ExtUIOp::create(b, loc, dst, x);
  return arith::ExtSIOp::create(b, loc, dst, x);
}

// ---- binary ----------------------------------------------------------------

template <typename FOp, typename SOp, typename UOp>
Value pick(OpBuilder &b, Location loc, ValueRange a, bool isUnsigned) {
  if (isFloat(a[0]))
    return FOp::create(b, loc, a[0], a[1]);
  if (isUnsigned)
    return UOp::create(b, loc, a[0], a[1]);
  return SOp::create(b, loc, a[0], a[1]);
}

Value body(AddOp op, OpBuilder &b, Location loc, ValueRange a) {
  return pick<arith::AddFOp, arith::AddIOp, arith::AddIOp>(b, loc, a, false);
}
Value body(SubOp op, OpBuilder &b, Location loc, ValueRange a) {
  return pick<arith::SubFOp, arith::SubIOp, arith::SubIOp>(b, loc, a, false);
}
Value body(MulOp op, OpBuilder &b, Location loc, ValueRange a) {
  return pick<arith::MulFOp, arith::MulIOp, arith::MulIOp>(b, loc, a, false);
}
Value body(DivOp op, OpBuilder &b, Location loc, ValueRange a) {
  return pick<arith::DivFOp, arith::DivSIOp, arith::DivUIOp>(b, loc, a,
                                                             op.getIsUnsigned());
}
Value body(MaxOp op, OpBuilder &b, Location loc, ValueRange a) {
  return pick<arith::MaximumFOp, arith::MaxSIOp, arith::MaxUIOp>(
      b, loc, a, op.getIsUnsigned());
}
Value body(MinOp op, OpBuilder &b, Location loc, ValueRange a) {
  return pick<arith::MinimumFOp, arith::MinSIOp, arith::MinUIOp>(
      b, loc, a, op.getIsUnsigned());
}
Value body(AndOp, OpBuilder &b, Location loc, ValueRange a) {
  return arith::AndIOp::create(b, loc, a[0], a[1]);
}
Value body(OrOp, OpBuilder &b, Location loc, ValueRange a) {
  return arith::OrIOp::create(b, loc, a[0], a[1]);
}
Value body(XorOp, OpBuilder &b, Location loc, ValueRange a) {
  return arith::XOrIOp::create(b, loc, a[0], a[1]);
}

Value body(PowOp op, OpBuilder &b, Location loc, ValueRange a) {
  if (isFloat(a[0]))
    return math::PowFOp::create(b, loc, a[0], a[1]);
  return math::IPowIOp::create(b, loc, a[0], a[1]);
}

Value body(ModOp op, OpBuilder &b, Location loc, ValueRange a) {
  if (isFloat(a[0])) {
    Value r = arith::RemFOp::create(b, loc, a[0], a[1]);
    if (op.getFmod())
      return r;
    // Python-style: a non-zero remainder takes the divisor's sign.
    Value zero = cst(b, loc, r, 0);
    Value rNeg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, r, zero);
    Value dNeg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, a[1], zero);
    Value nz = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ONE, r, zero);
    Value fix = arith::AndIOp::create(b, loc, nz,
                                      arith::XOrIOp::create(b, loc, rNeg, dNeg));
    return arith::SelectOp::create(b, loc, fix,
                                   arith::AddFOp::create(b, loc, r, a[1]), r);
  }
  if (op.getIsUnsigned())
    return arith::RemUIOp::create(b, loc, a[0], a[1]);
  Value r = arith::RemSIOp::create(b, loc, a[0], a[1]);
  if (op.getFmod())
    return r;
  // Python-style: a non-zero remainder takes the divisor's sign.
  Value zero = cst(b, loc, r, 0);
  Value rNeg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, r, zero);
  Value dNeg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, a[1], zero);
  Value nz = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, r, zero);
  Value fix = arith::AndIOp::create(
      b, loc, nz, arith::XOrIOp::create(b, loc, rNeg, dNeg));
  return arith::SelectOp::create(b, loc, fix,
                                 arith::AddIOp::create(b, loc, r, a[1]), r);
}

Value compare(OpBuilder &b, Location loc, ValueRange a, arith::CmpFPredicate f,
              arith::CmpIPredicate s, arith::CmpIPredicate u, bool isUnsigned) {
  if (isFloat(a[0]))
    return arith::CmpFOp::create(b, loc, f, a[0], a[1]);
  return arith::CmpIOp::create(b, loc, isUnsigned ? u : s, a[0], a[1]);
}

#define CMP(OP, F, S, U)                                                       \
  Value body(OP op, OpBuilder &b, Location loc, ValueRange a) {                \
    return compare(b, loc, a, arith::CmpFPredicate::F,                         \
                   arith::CmpIPredicate::S, arith::CmpIPredicate::U,           \
                   op.getIsUnsigned());                                        \
  }
CMP(EqualOp, OEQ, eq, eq)
CMP(LessOp, OLT, slt, ult)
CMP(LessEqualOp, OLE, sle, ule)
CMP(GreaterOp, OGT, sgt, ugt)
CMP(GreaterEqualOp, OGE, sge, uge)
#undef CMP

Value body(WhereOp, OpBuilder &b, Location loc, ValueRange a) {
  return arith::SelectOp::create(b, loc, a[0], a[1], a[2]);
}

/// One pattern for every elementwise op: operands in, `body` per element.
template <typename OpTy>
struct ElementwiseLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rw) const override {
    auto outType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!outType || !outType.hasStaticShape())
      return rw.notifyMatchFailure(op, "needs a static result shape");
    Value r = elementwise(rw, op.getLoc(), outType, op->getOperands(),
                          [&](OpBuilder &b, Location loc, ValueRange args) {
                            return body(op, b, loc, args);
                          });
    rw.replaceOp(op, r);
    return success();
  }
};

} // namespace

void populateElementwiseLowering(RewritePatternSet &patterns) {
  patterns.add<
      ElementwiseLowering<NegOp>, ElementwiseLowering<AbsOp>,
      ElementwiseLowering<SqrtOp>, ElementwiseLowering<ExpOp>,
      ElementwiseLowering<LogOp>, ElementwiseLowering<ErfOp>,
      ElementwiseLowering<TanhOp>, ElementwiseLowering<SigmoidOp>,
      ElementwiseLowering<ReluOp>, ElementwiseLowering<HardSwishOp>,
      ElementwiseLowering<FloorOp>, ElementwiseLowering<CeilOp>,
      ElementwiseLowering<RoundOp>, ElementwiseLowering<ReciprocalOp>,
      ElementwiseLowering<SinOp>, ElementwiseLowering<CosOp>,
      ElementwiseLowering<SignOp>, ElementwiseLowering<SoftplusOp>,
      ElementwiseLowering<NotOp>, ElementwiseLowering<GeluOp>,
      ElementwiseLowering<LeakyReluOp>, ElementwiseLowering<EluOp>,
      ElementwiseLowering<SeluOp>, ElementwiseLowering<HardSigmoidOp>,
      ElementwiseLowering<CastOp>, ElementwiseLowering<AddOp>,
      ElementwiseLowering<SubOp>, ElementwiseLowering<MulOp>,
      ElementwiseLowering<DivOp>, ElementwiseLowering<PowOp>,
      ElementwiseLowering<MaxOp>, ElementwiseLowering<MinOp>,
      ElementwiseLowering<ModOp>, ElementwiseLowering<AndOp>,
      ElementwiseLowering<OrOp>, ElementwiseLowering<XorOp>,
      ElementwiseLowering<EqualOp>, ElementwiseLowering<LessOp>,
      ElementwiseLowering<LessEqualOp>, ElementwiseLowering<GreaterOp>,
      ElementwiseLowering<GreaterEqualOp>, ElementwiseLowering<WhereOp>>(
      patterns.getContext());
}

} // namespace qf::lowering

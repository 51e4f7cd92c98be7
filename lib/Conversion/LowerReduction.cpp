//===- LowerReduction.cpp - reductions, softmax and layer norm ------------===//
#include "LinalgBuilders.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"

using namespace mlir;

namespace qf::lowering {
namespace {

using utils::IteratorType;

struct ReduceLowering : OpRewritePattern<ReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReduceOp op, PatternRewriter &rw) const override {
    auto inT = cast<RankedTensorType>(op.getInput().getType());
    auto outT = cast<RankedTensorType>(op.getType());
    if (!inT.hasStaticShape())
      return rw.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    Type elt = inT.getElementType();
    StringRef kind = op.getKind();
    SmallVector<bool> reduced(inT.getRank(), false);
    int64_t count = 1;
    for (int64_t a : op.getAxes()) {
      reduced[a] = true;
      count *= inT.getDimSize(a);
    }
    Value init;
    std::function<Value(OpBuilder &, Location, Value, Value)> combine;
    if (kind == "sum" || kind == "mean") {
      init = scalarConst(rw, loc, elt, 0);
      combine = addS;
    } else if (kind == "prod") {
      init = scalarConst(rw, loc, elt, 1);
      combine = mulS;
    } else if (kind == "max") {
      init = lowestValue(rw, loc, elt);
      combine = maxS;
    } else {
      init = highestValue(rw, loc, elt);
      combine = minS;
    }
    Value r = reduceKeepDims(rw, loc, op.getInput(), reduced, init, combine);
    if (kind == "mean") {
      Value n = scalarConst(rw, loc, elt, (double)count);
      r = elementwise(rw, loc, cast<RankedTensorType>(r.getType()), ValueRange{r},
                      [&](OpBuilder &b, Location l, ValueRange a) {
                        return divS(b, l, a[0], n);
                      });
    }
    rw.replaceOp(op, reshapeTo(rw, loc, r, outT));
    return success();
  }
};

struct ArgReduceLowering : OpRewritePattern<ArgReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ArgReduceOp op,
                                PatternRewriter &rw) const override {
    auto inT = cast<RankedTensorType>(op.getInput().getType());
    auto outT = cast<RankedTensorType>(op.getType());
    if (!inT.hasStaticShape())
      return rw.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    Type elt = inT.getElementType();
    int64_t axis = op.getAxis();
    bool isMax = op.getKind() == "max", last = op.getSelectLastIndex();
    SmallVector<int64_t> shape;
    SmallVector<AffineExpr> outExprs;
    SmallVector<IteratorType> iters;
    for (int64_t d = 0; d < inT.getRank(); ++d) {
      iters.push_back(d == axis ? IteratorType::reduction : IteratorType::parallel);
      if (d != axis) {
        shape.push_back(inT.getDimSize(d));
        outExprs.push_back(getAffineDimExpr(d, ctx));
      }
    }
    auto valT = RankedTensorType::get(shape, elt);
    auto idxT = RankedTensorType::get(shape, rw.getI64Type());
    AffineMap outMap = AffineMap::get(inT.getRank(), 0, outExprs, ctx);
    Value vInit = emptyTensor(rw, loc, valT,
                              isMax ? lowestValue(rw, loc, elt)
                                    : highestValue(rw, loc, elt));
    Value iInit = emptyTensor(rw, loc, idxT, scalarConst(rw, loc, rw.getI64Type(), 0));
    auto g = linalg::GenericOp::create(
        rw, loc, TypeRange{valT, idxT}, ValueRange{op.getInput()},
        ValueRange{vInit, iInit},
        SmallVector<AffineMap>{rw.getMultiDimIdentityMap(inT.getRank()), outMap,
                               outMap},
        iters, [&](OpBuilder &b, Location l, ValueRange a) {
          Value x = a[0], best = a[1], bestIdx = a[2];
          Value idx = arith::IndexCastOp::create(
              b, l, b.getI64Type(), linalg::IndexOp::create(b, l, axis));
          Value better;
          bool f = isa<FloatType>(elt);
          if (f)
            better = arith::CmpFOp::create(
                b, l,
                isMax ? (last ? arith::CmpFPredicate::OGE : arith::CmpFPredicate::OGT)
                      : (last ? arith::CmpFPredicate::OLE : arith::CmpFPredicate::OLT),
                x, best);
          else
            better = arith::CmpIOp::create(
                b, l,
                isMax ? (last ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sgt)
                      : (last ? arith::CmpIPredicate::sle : arith::CmpIPredicate::slt),
                x, best);
          // The first element always wins, so the init value never leaks.
          Value first = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, idx,
                                              scalarConst(b, l, b.getI64Type(), 0));
          better = arith::OrIOp::create(b, l, better, first);
          linalg::YieldOp::create(
              b, l,
              ValueRange{arith::SelectOp::create(b, l, better, x, best),
                         arith::SelectOp::create(b, l, better, idx, bestIdx)});
        });
    rw.replaceOp(op, reshapeTo(rw, loc, g.getResult(1), outT));
    return success();
  }
};

struct SoftmaxLowering : OpRewritePattern<SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxOp op, PatternRewriter &rw) const override {
    auto t = cast<RankedTensorType>(op.getType());
    if (!t.hasStaticShape())
      return rw.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    Type elt = t.getElementType();
    SmallVector<bool> reduced(t.getRank(), false);
    reduced[op.getAxis()] = true;
    Value x = op.getInput();
    Value m = reduceKeepDims(rw, loc, x, reduced, lowestValue(rw, loc, elt), maxS);
    Value shifted = elementwise(rw, loc, t, ValueRange{x, m},
                                [](OpBuilder &b, Location l, ValueRange a) {
                                  return (Value)arith::SubFOp::create(b, l, a[0], a[1]);
                                });
    Value e = elementwise(rw, loc, t, ValueRange{shifted},
                          [](OpBuilder &b, Location l, ValueRange a) {
                            return (Value)math::ExpOp::create(b, l, a[0]);
                          });
    Value s = reduceKeepDims(rw, loc, e, reduced, scalarConst(rw, loc, elt, 0), addS);
    Value r;
    if (op.getLog())
      r = elementwise(rw, loc, t, ValueRange{shifted, s},
                      [](OpBuilder &b, Location l, ValueRange a) {
                        return (Value)arith::SubFOp::create(
                            b, l, a[0], math::LogOp::create(b, l, a[1]));
                      });
    else {
      // One division per row, then a multiply per element (a division per
      // element cost more than the exponentials at MiniLM's batch 8).
      Value inv = elementwise(rw, loc, cast<RankedTensorType>(s.getType()), ValueRange{s},
                              [&](OpBuilder &b, Location l, ValueRange a) {
                                return (Value)arith::DivFOp::create(
                                    b, l, scalarConst(b, l, elt, 1.0), a[0]);
                              });
      r = elementwise(rw, loc, t, ValueRange{e, inv},
                      [](OpBuilder &b, Location l, ValueRange a) {
                        return (Value)arith::MulFOp::create(b, l, a[0], a[1]);
                      });
    }
    rw.replaceOp(op, r);
    return success();
  }
};

/// mean, variance (two-pass, numerically stable), normalize, scale, shift.
struct LayerNormLowering : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rw) const override {
    auto t = cast<RankedTensorType>(op.getType());
    if (!t.hasStaticShape())
      return rw.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    Type elt = t.getElementType();
    SmallVector<bool> reduced(t.getRank(), false);
    int64_t n = 1;
    for (int64_t d = op.getAxis(); d < t.getRank(); ++d) {
      reduced[d] = true;
      n *= t.getDimSize(d);
    }
    Value x = op.getInput();
    Value zero = scalarConst(rw, loc, elt, 0);
    Value invN = scalarConst(rw, loc, elt, 1.0 / (double)n);
    Value eps = scalarConst(rw, loc, elt, op.getEpsilon().convertToDouble());
    Value sum = reduceKeepDims(rw, loc, x, reduced, zero, addS);
    auto statT = cast<RankedTensorType>(sum.getType());
    Value mean = elementwise(rw, loc, statT, ValueRange{sum},
                             [&](OpBuilder &b, Location l, ValueRange a) {
                               return (Value)arith::MulFOp::create(b, l, a[0], invN);
                             });
    Value centered = elementwise(rw, loc, t, ValueRange{x, mean},
                                 [](OpBuilder &b, Location l, ValueRange a) {
                                   return (Value)arith::SubFOp::create(b, l, a[0], a[1]);
                                 });
    Value sq = reduceKeepDims(rw, loc, centered, reduced, zero,
                              [](OpBuilder &b, Location l, Value acc, Value c) {
                                return (Value)arith::AddFOp::create(
                                    b, l, acc, arith::MulFOp::create(b, l, c, c));
                              });
    Value rstd = elementwise(rw, loc, statT, ValueRange{sq},
                             [&](OpBuilder &b, Location l, ValueRange a) {
                               Value var = arith::MulFOp::create(b, l, a[0], invN);
                               return (Value)math::RsqrtOp::create(
                                   b, l, arith::AddFOp::create(b, l, var, eps));
                             });
    SmallVector<Value> ins = {centered, rstd, op.getScale()};
    if (op.getBias())
      ins.push_back(op.getBias());
    Value y = elementwise(rw, loc, t, ins, [](OpBuilder &b, Location l, ValueRange a) {
      Value v = arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, a[0], a[1]),
                                      a[2]);
      if (a.size() > 3)
        v = arith::AddFOp::create(b, l, v, a[3]);
      return v;
    });
    rw.replaceOp(op, y);
    return success();
  }
};

} // namespace

void populateReductionLowering(RewritePatternSet &patterns) {
  patterns.add<ReduceLowering, ArgReduceLowering, SoftmaxLowering,
               LayerNormLowering>(patterns.getContext());
}

} // namespace qf::lowering

//===- FuseRequant.cpp - the qf-fuse-requant pass -------------------------===//
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Dialect/Qf/Passes.h"
#include "qf/Quant/Numerics.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFFUSEREQUANT
#include "qf/Passes.h.inc"

namespace {

/// The values of a constant f32 vector with one entry or `n` (a scalar or
/// rank-1 tensor), repeated to `n`; empty otherwise.
SmallVector<double> perChannel(Value v, int64_t n) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.getElementType().isF32())
    return {};
  auto t = cast<RankedTensorType>(attr.getType());
  if (t.getRank() > 1 || (t.getNumElements() != 1 && t.getNumElements() != n))
    return {};
  SmallVector<double> out;
  for (float x : attr.getValues<float>())
    out.push_back(x);
  if (out.size() == 1)
    out.assign(n, out[0]);
  return out;
}

struct FuseRequant : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeOp op, PatternRewriter &rw) const override {
    auto outT = cast<RankedTensorType>(op.getType());
    auto qo = dyn_cast<mlir::quant::UniformQuantizedType>(outT.getElementType());
    if (!qo || qo.getStorageTypeIntegralWidth() != 8 || outT.getRank() == 0)
      return rw.notifyMatchFailure(op, "result is not 8-bit per tensor");
    int64_t N = outT.getDimSize(outT.getRank() - 1);
    Value in = op.getInput();
    SmallVector<double> bias;
    if (auto add = in.getDefiningOp<AddOp>()) {
      bias = perChannel(add.getRhs(), N);
      if (bias.empty() || !add->hasOneUse() || add.getType() != in.getType())
        return rw.notifyMatchFailure(op, "the addend is not a constant bias");
      in = add.getLhs();
    }
    auto mul = in.getDefiningOp<MulOp>();
    auto toF32 = mul ? mul.getLhs().getDefiningOp<CastOp>() : CastOp();
    if (!mul || !mul->hasOneUse() || mul.getType() != op.getInput().getType() || !toF32 ||
        !toF32->hasOneUse() || !toF32.getInput().getDefiningOp<QuantizedMatMulOp>())
      return rw.notifyMatchFailure(op, "input is not f32(acc) * s");
    SmallVector<double> scale = perChannel(mul.getRhs(), N);
    if (scale.empty())
      return rw.notifyMatchFailure(op, "scales are not per tensor or per output channel");
    SmallVector<int32_t> mult, shift, biasInt;
    for (int64_t n = 0; n < N; ++n) {
      double real = scale[n] / qo.getScale();
      if (!(real > std::ldexp(1.0, -62) && real < 1.0))
        return rw.notifyMatchFailure(op, "a multiplier falls outside (2^-62, 1)");
      quant::FixedPointMultiplier m = quant::quantizeMultiplier(real);
      mult.push_back(m.multiplier);
      shift.push_back(m.shift);
      if (!bias.empty()) {
        double b = std::nearbyint(bias[n] / scale[n]);
        if (std::fabs(b) > 1e9)
          return rw.notifyMatchFailure(op, "the bias does not fit the accumulator");
        biasInt.push_back((int32_t)b);
      }
    }
    Value acc = toF32.getInput();
    Location loc = op.getLoc();
    if (!biasInt.empty()) {
      auto bT = RankedTensorType::get({N}, rw.getI32Type());
      Value b = arith::ConstantOp::create(rw, loc,
                                          DenseElementsAttr::get(bT, ArrayRef<int32_t>(biasInt)));
      acc = AddOp::create(rw, loc, acc.getType(), acc, b, false);
    }
    rw.replaceOpWithNewOp<RequantizeOp>(op, outT, acc, rw.getDenseI32ArrayAttr(mult),
                                        rw.getDenseI32ArrayAttr(shift));
    return success();
  }
};

struct QfFuseRequantPass : impl::QfFuseRequantBase<QfFuseRequantPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseRequant>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace qf

//===- FoldQdq.cpp - the qf-fold-qdq pass ---------------------------------===//
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFFOLDQDQ
#include "qf/Passes.h.inc"

namespace {

namespace mq = mlir::quant;

bool isEightBit(Type t) {
  auto q = dyn_cast<mq::QuantizedType>(t);
  return q && q.getStorageTypeIntegralWidth() == 8;
}

/// qf.matmul(dequantize(a), dequantize(w)) -> f32(quantized_matmul(a, w)) *
/// (s_a * s_w).
struct FoldDequantizedMatMul : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatMulOp op, PatternRewriter &rw) const override {
    auto da = op.getLhs().getDefiningOp<DequantizeOp>();
    auto dw = op.getRhs().getDefiningOp<DequantizeOp>();
    if (!da || !dw)
      return rw.notifyMatchFailure(op, "operands are not both dequantized");
    auto aT = cast<RankedTensorType>(da.getInput().getType());
    auto wT = cast<RankedTensorType>(dw.getInput().getType());
    auto yT = cast<RankedTensorType>(op.getType());
    auto qa = dyn_cast<mq::UniformQuantizedType>(aT.getElementType());
    if (!qa || !isEightBit(qa) || aT.getRank() < 2 || wT.getRank() != 2 ||
        !isEightBit(wT.getElementType()) || !yT.getElementType().isF32())
      return rw.notifyMatchFailure(op, "needs 8-bit per-tensor a [..., M, K] and 8-bit w [K, N]");
    int64_t N = wT.getDimSize(1);
    SmallVector<float> scales;
    if (auto pa = dyn_cast<mq::UniformQuantizedPerAxisType>(wT.getElementType())) {
      if (pa.getQuantizedDimension() != 1)
        return rw.notifyMatchFailure(op, "weights quantized along K");
      for (double s : pa.getScales())
        scales.push_back((float)(qa.getScale() * s));
    } else if (auto pw = dyn_cast<mq::UniformQuantizedType>(wT.getElementType())) {
      scales.assign(N, (float)(qa.getScale() * pw.getScale()));
    } else {
      return rw.notifyMatchFailure(op, "unsupported weight quantization");
    }
    Location loc = op.getLoc();
    Value acc = QuantizedMatMulOp::create(rw, loc, yT.clone(rw.getI32Type()), da.getInput(),
                                          dw.getInput());
    Value y = CastOp::create(rw, loc, yT, acc, false, false);
    auto sT = RankedTensorType::get({N}, rw.getF32Type());
    Value s = arith::ConstantOp::create(rw, loc, DenseElementsAttr::get(sT, ArrayRef<float>(scales)));
    rw.replaceOpWithNewOp<MulOp>(op, yT, y, s, false);
    return success();
  }
};

/// The integers behind an 8-bit quantized tensor, widened to i32 with the
/// zero point(s) subtracted (per axis `axis` of the result when per axis).
Value centredInt32(PatternRewriter &rw, Location loc, Value q) {
  auto t = cast<RankedTensorType>(q.getType());
  auto qt = cast<mq::QuantizedType>(t.getElementType());
  Value storage = mq::StorageCastOp::create(rw, loc, t.clone(qt.getStorageType()), q);
  auto i32T = t.clone(rw.getI32Type());
  Value wide = CastOp::create(rw, loc, i32T, storage, !qt.isSigned(), false);
  SmallVector<int32_t> zeros;
  SmallVector<int64_t> zShape;
  if (auto pa = dyn_cast<mq::UniformQuantizedPerAxisType>(qt)) {
    for (int64_t z : pa.getZeroPoints())
      zeros.push_back((int32_t)z);
    zShape.assign(t.getRank(), 1);
    zShape[pa.getQuantizedDimension()] = zeros.size();
  } else {
    zeros.push_back((int32_t)cast<mq::UniformQuantizedType>(qt).getZeroPoint());
  }
  if (llvm::all_of(zeros, [](int32_t z) { return z == 0; }))
    return wide;
  auto zT = RankedTensorType::get(zShape, rw.getI32Type());
  Value z = arith::ConstantOp::create(rw, loc, DenseElementsAttr::get(zT, ArrayRef<int32_t>(zeros)));
  return SubOp::create(rw, loc, i32T, wide, z, false);
}

/// qf.conv(dequantize(x), dequantize(w)[, bias]) -> f32(conv over centred
/// i32) * (s_x * s_w[f]) [+ bias]: an exact integer convolution.
struct FoldDequantizedConv : OpRewritePattern<ConvOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvOp op, PatternRewriter &rw) const override {
    auto dx = op.getInput().getDefiningOp<DequantizeOp>();
    auto dw = op.getFilter().getDefiningOp<DequantizeOp>();
    if (!dx || !dw)
      return rw.notifyMatchFailure(op, "operands are not both dequantized");
    auto xT = cast<RankedTensorType>(dx.getInput().getType());
    auto wT = cast<RankedTensorType>(dw.getInput().getType());
    auto yT = cast<RankedTensorType>(op.getType());
    auto qx = dyn_cast<mq::UniformQuantizedType>(xT.getElementType());
    if (!qx || !isEightBit(qx) || !isEightBit(wT.getElementType()) || !yT.getElementType().isF32())
      return rw.notifyMatchFailure(op, "needs 8-bit per-tensor x and 8-bit w");
    int64_t F = wT.getDimSize(0);
    SmallVector<float> scales;
    if (auto pa = dyn_cast<mq::UniformQuantizedPerAxisType>(wT.getElementType())) {
      if (pa.getQuantizedDimension() != 0)
        return rw.notifyMatchFailure(op, "filters quantized along another axis than F");
      for (double s : pa.getScales())
        scales.push_back((float)(qx.getScale() * s));
    } else {
      scales.assign(F, (float)(qx.getScale() * cast<mq::UniformQuantizedType>(
                                                      wT.getElementType()).getScale()));
    }
    Location loc = op.getLoc();
    Value x = centredInt32(rw, loc, dx.getInput()), w = centredInt32(rw, loc, dw.getInput());
    Value acc = ConvOp::create(rw, loc, yT.clone(rw.getI32Type()), x, w, Value(),
                               op.getStridesAttr(), op.getPadsAttr(), op.getDilationsAttr(),
                               op.getGroupAttr());
    // Per output channel: shaped [F, 1, ..., 1] against [N, F, spatial...].
    SmallVector<int64_t> sShape(yT.getRank() - 1, 1);
    sShape[0] = F;
    auto sT = RankedTensorType::get(sShape, rw.getF32Type());
    Value s = arith::ConstantOp::create(rw, loc, DenseElementsAttr::get(sT, ArrayRef<float>(scales)));
    Value y = MulOp::create(rw, loc, yT, CastOp::create(rw, loc, yT, acc, false, false), s, false);
    if (Value bias = op.getBias()) {
      auto bT = RankedTensorType::get(sShape, rw.getF32Type());
      Value b = ReshapeOp::create(rw, loc, bT, bias);
      y = AddOp::create(rw, loc, yT, y, b, false);
    }
    rw.replaceOp(op, y);
    return success();
  }
};

struct QfFoldQdqPass : impl::QfFoldQdqBase<QfFoldQdqPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldDequantizedMatMul, FoldDequantizedConv>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace qf

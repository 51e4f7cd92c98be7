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

struct QfFoldQdqPass : impl::QfFoldQdqBase<QfFoldQdqPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldDequantizedMatMul>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace qf
